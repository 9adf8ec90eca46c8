#include "mapped_source.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and pages fault in lazily
#endif

namespace rp::detail {

namespace {

// The windows mapped now, for the SIGBUS handler: a fixed table it can read without locks.
// A slot is published by storing `begin` last and withdrawn by clearing it first, so a
// handler that sees a non-zero begin also sees that window's end and flag.
struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<std::atomic<bool>*> flag{nullptr};
};
constexpr size_t kSlots = 256;
Slot g_slots[kSlots];
std::atomic<size_t> g_windows{0};
struct sigaction g_previous {};
bool g_guarded = false;
uintptr_t g_page = 4096;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto at = reinterpret_cast<uintptr_t>(info->si_addr);
  if (info->si_code > 0) {  // a fault, not a signal someone sent
    for (Slot& s : g_slots) {
      const uintptr_t b = s.begin.load(std::memory_order_acquire);
      if (b == 0 || at < b || at >= s.end.load(std::memory_order_relaxed)) continue;
      std::atomic<bool>* flag = s.flag.load(std::memory_order_relaxed);
      // Zeros where the page was: the touching thread goes on, and the run is marked.
      void* page = reinterpret_cast<void*>(at & ~(g_page - 1));
      if (mmap(page, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) break;
      if (flag) flag->store(true, std::memory_order_relaxed);
      return;
    }
  }
  // Not a window of ours: what would have happened without us.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  signal(SIGBUS, SIG_DFL);  // a fault repeats on return and now kills; a sent signal is raised again
  if (info->si_code <= 0) raise(SIGBUS);
}

bool InstallGuard() {
  static std::once_flag once;
  std::call_once(once, [] {
    const long page = sysconf(_SC_PAGESIZE);
    if (page > 0) g_page = static_cast<uintptr_t>(page);
    struct sigaction sa {};
    sa.sa_sigaction = &OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    g_guarded = sigaction(SIGBUS, &sa, &g_previous) == 0;
  });
  return g_guarded;
}

Slot* TakeSlot() {
  for (Slot& s : g_slots) {
    bool expected = false;
    if (s.taken.compare_exchange_strong(expected, true, std::memory_order_acquire)) return &s;
  }
  return nullptr;
}

void Publish(Slot* s, uintptr_t begin, size_t len, std::atomic<bool>* flag) {
  s->end.store(begin + len, std::memory_order_relaxed);
  s->flag.store(flag, std::memory_order_relaxed);
  s->begin.store(begin, std::memory_order_release);
}

void Withdraw(Slot* s) {
  s->begin.store(0, std::memory_order_release);
  s->flag.store(nullptr, std::memory_order_relaxed);
  s->end.store(0, std::memory_order_relaxed);
  s->taken.store(false, std::memory_order_release);
}

}  // namespace

MappedSource::MappedSource(int fd, uint64_t size)
    : fd_(fd),
      size_(size),
      shrank_(std::make_shared<std::atomic<bool>>(false)),
      alive_(std::make_shared<std::atomic<size_t>>(0)) {
  InstallGuard();
}

size_t MappedSource::windows_mapped() { return g_windows.load(); }

DecodeOutcome MappedSource::Next(const void** data, size_t* n, std::shared_ptr<const void>* owner, bool* lend) {
  *n = 0;
  *lend = false;
  if (final_) return error_.empty() ? DecodeOutcome::kEnd : DecodeOutcome::kReadError;
  if (position_ >= size_) {
    final_ = true;
    return DecodeOutcome::kEnd;
  }
  const size_t len = static_cast<size_t>(std::min<uint64_t>(kWindowBytes, size_ - position_));
  const auto fail = [&](int err, const std::string& what) {
    final_ = true;
    read_errno_ = err;
    error_ = what;
    return DecodeOutcome::kReadError;
  };
  const auto gone = [&] {
    struct stat st {};
    if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) >= position_ + len) return false;
    shrank_->store(true);
    return true;
  };
  Slot* slot = InstallGuard() ? TakeSlot() : nullptr;
  if (!slot) {
    // No guard (or too many windows in this process): the window is read into memory instead.
    std::unique_ptr<uint8_t[]> held(new uint8_t[len]);
    uint8_t* buf = held.get();
    size_t got = 0;
    while (got < len) {
      const ssize_t r = pread(fd_, buf + got, len - got, static_cast<off_t>(position_ + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail(errno, "read error at byte " + std::to_string(position_ + got) + ": " + std::strerror(errno));
      if (r == 0) {
        shrank_->store(true);
        return fail(ESTALE, "the source ends at byte " + std::to_string(position_ + got) + " now; it had " +
                                std::to_string(size_) + " bytes when the run began");
      }
      got += static_cast<size_t>(r);
    }
    *data = buf;
    *lend = alive_->fetch_add(1) < kMaxLent;
    *owner = std::shared_ptr<const void>(held.release(), [alive = alive_](const void* q) {
      delete[] static_cast<const uint8_t*>(q);
      alive->fetch_sub(1);
    });
  } else {
    void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(position_));
    if (p == MAP_FAILED) {
      const int err = errno;
      Withdraw(slot);
      return fail(err, "cannot map the source at byte " + std::to_string(position_) + ": " + std::strerror(err));
    }
    // Pages are read in here, ahead of the reader, with the kernel's read-ahead for a
    // sequential reader; a failure means the bytes are gone (or unreadable).
    madvise(p, len, MADV_SEQUENTIAL);
    if (madvise(p, len, MADV_POPULATE_READ) != 0 && errno == EFAULT) {
      munmap(p, len);
      Withdraw(slot);
      if (gone())
        return fail(ESTALE, "the source has no byte " + std::to_string(position_) + " any more; it had " +
                                std::to_string(size_) + " bytes when the run began");
      return fail(EIO, "read error in bytes " + std::to_string(position_) + " to " + std::to_string(position_ + len) +
                           ": the storage could not deliver them");
    }
    Publish(slot, reinterpret_cast<uintptr_t>(p), len, shrank_.get());
    g_windows.fetch_add(1);
    *data = p;
    *lend = alive_->fetch_add(1) < kMaxLent;
    *owner = std::shared_ptr<const void>(p, [slot, len, flag = shrank_, alive = alive_](const void* q) {
      Withdraw(slot);  // before the address range can be reused
      munmap(const_cast<void*>(q), len);
      g_windows.fetch_sub(1);
      alive->fetch_sub(1);
    });
  }
  position_ += len;
  *n = len;
  return DecodeOutcome::kData;
}

std::string SourceShrankMessage(const std::string& path, uint64_t size_at_start) {
  std::string now;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) now = ", " + std::to_string(st.st_size) + " now";
  return "the source " + path + " changed while it was read: it shrank (" + std::to_string(size_at_start) +
         " bytes when the run began" + now +
         "); a backup still being written or rotated? Nothing restored from it counts: verify it again";
}

}  // namespace rp::detail
