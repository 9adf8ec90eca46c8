#include "sources/mapped_source.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>

#include "rp/posix_io.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and pages fault in lazily
#endif

namespace rp::detail {

namespace {

// The windows mapped now, for the SIGBUS handler: a fixed table it can read without locks.
// Each slot is a sequence lock: `seq` is odd while the slot changes, and the handler trusts
// what it read only if `seq` was even and the same before and after. The window a faulting
// thread touches is published before it is handed out and withdrawn only after its last
// owner is gone, so its slot is always stable while the handler looks.
struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<uint32_t> seq{0};
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
      const uint32_t before = s.seq.load(std::memory_order_acquire);
      if (before & 1) continue;
      const uintptr_t b = s.begin.load(std::memory_order_relaxed);
      const uintptr_t e = s.end.load(std::memory_order_relaxed);
      std::atomic<bool>* flag = s.flag.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (s.seq.load(std::memory_order_relaxed) != before) continue;
      if (b == 0 || at < b || at >= e) continue;
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
  } else if (g_previous.sa_handler == SIG_IGN) {
    if (info->si_code <= 0) return;  // a sent SIGBUS stays ignored; a fault cannot be
  } else if (g_previous.sa_handler != SIG_DFL) {
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

// One writer per slot at a time (the thread that took it, or the last owner's deleter).
void Set(Slot* s, uintptr_t begin, uintptr_t end, std::atomic<bool>* flag) {
  const uint32_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);  // odd: changing
  std::atomic_thread_fence(std::memory_order_release);  // ordered before the stores below
  s->begin.store(begin, std::memory_order_relaxed);
  s->end.store(end, std::memory_order_relaxed);
  s->flag.store(flag, std::memory_order_relaxed);
  s->seq.store(seq + 2, std::memory_order_release);  // even again, after them
}

void Publish(Slot* s, uintptr_t begin, size_t len, std::atomic<bool>* flag) { Set(s, begin, begin + len, flag); }

void Withdraw(Slot* s) {
  Set(s, 0, 0, nullptr);
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
  void* p = MAP_FAILED;
  if (slot) {
    p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(position_));
    if (p == MAP_FAILED) {  // a file system without mmap, the address-space limit: read instead
      Withdraw(slot);
      slot = nullptr;
    }
  }
  if (!slot) {
    // No guard, too many windows in this process, or no mapping: the window is read into
    // memory instead.
    std::unique_ptr<uint8_t[]> held(new (std::nothrow) uint8_t[len]);
    if (!held)  // the address-space limit that refused the mapping may refuse this too
      return fail(ENOMEM, "cannot map or read the source at byte " + std::to_string(position_) + ": out of memory");
    uint8_t* buf = held.get();
    size_t got = 0;
    while (got < len) {
      const ssize_t r = ReadSomeAt(fd_, buf + got, len - got, static_cast<off_t>(position_ + got));
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

SourceStamp StampOf(const struct stat& st) {
  return SourceStamp{static_cast<uint64_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string DescribeSourceChange(int fd, const SourceStamp& start, bool page_vanished) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return page_vanished ? "a page of it could not be read any more" : "";
  const SourceStamp now = StampOf(st);
  const std::string sizes =
      std::to_string(start.size) + " bytes when the run began, " + std::to_string(now.size) + " now";
  if (now.size < start.size) return "it shrank (" + sizes + ")";
  if (now.size > start.size) return "it grew (" + sizes + ")";
  if (now.mtime_ns != start.mtime_ns) return "it was written to (the same size, a new modification time)";
  if (page_vanished)
    return "a page of it could not be read any more (a storage error, or it was cut and grew back to " +
           std::to_string(now.size) + " bytes)";
  return "";
}

}  // namespace rp::detail
