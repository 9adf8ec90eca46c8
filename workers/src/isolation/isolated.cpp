// The parent side of an isolated restore: starts `restoreproof worker` with the job on its
// stdin and the sandbox (locked) as descriptor 3, follows its JSON lines, enforces the wall
// time and cancellation (SIGTERM, then SIGKILL), records a worker that died as such, and
// wipes the sandbox whatever happened.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include "pipeline/entry_stream.h"
#include "pipeline/restore_job.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/sandbox.h"
#include "rp/verify.h"
#include "isolation/cgroups.h"
#include "isolation/worker_protocol.h"

namespace rp {
namespace {

constexpr double kGraceSeconds = 3.0;     // beyond max_seconds before the worker is stopped
constexpr double kTermToKillSeconds = 2.0;  // between SIGTERM and SIGKILL

// A limit in seconds as a person writes it: 600, 1.5.
std::string Seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, s == std::floor(s) ? "%.0f" : "%.2f", s);
  return buf;
}

std::string DescribeExit(int wstatus) {
  if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    std::string s = "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    if (sig == SIGKILL) s += "; the kernel's OOM killer or an operator may have sent it";
    if (sig == SIGXCPU) s += ": its CPU-time limit";
    if (sig == SIGBUS) s += ": a file it had mapped (the source?) shrank or became unreadable under it";
    return s;
  }
  if (WIFEXITED(wstatus)) return "exited with status " + std::to_string(WEXITSTATUS(wstatus)) + " without a result";
  return "ended without a result";
}

uint64_t DefaultTmpfsBudget() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return std::min<uint64_t>(kib * 1024 / 2, 16ull << 30);
  return 1ull << 30;
}

// The space a sandbox directory on a memory file system (tmpfs, ramfs) may still take; 0 on disk.
uint64_t MemoryBackedBytes(int dir_fd) {
  struct statfs fs {};
  if (fstatfs(dir_fd, &fs) != 0) return 0;
  if (fs.f_type != TMPFS_MAGIC && fs.f_type != RAMFS_MAGIC) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_bsize);
}

// What the memory cgroup allows on top of the memory limit for the sandbox's pages, which the
// kernel charges to the worker that writes them.
struct SandboxPages {
  uint64_t bytes = 0;
  std::string what;
};

// A tmpfs sandbox: its size. A sandbox directory on a memory file system: its free space,
// which cannot be reclaimed either. A disk sandbox: as much again as the memory limit for the
// page cache of what the worker writes. That cache is reclaimable, but only once written back:
// a worker held to the memory limit alone would wait for the disk after its first gigabyte of
// restored data, where bsdtar leaves the same data dirty in the cache.
SandboxPages SandboxPagesOf(const VerifyOptions& o, const detail::WorkerJob& job, int sandbox_fd) {
  if (job.tmpfs) return {job.tmpfs_bytes, "for the sandbox's tmpfs"};
  if (const uint64_t in_memory = MemoryBackedBytes(sandbox_fd))
    return {in_memory, "for the sandbox directory's memory file system"};
  return {o.limits.max_memory_bytes, "for the page cache of what it restores to its disk sandbox"};
}

// Decides disk or tmpfs, and the tmpfs size; `why` says why for the report.
bool ChooseTmpfs(const VerifyOptions& o, uint64_t* bytes, std::string* why) {
  const uint64_t budget = o.tmpfs_budget_bytes ? o.tmpfs_budget_bytes : DefaultTmpfsBudget();
  if (o.sandbox_kind == SandboxKind::kDisk) {
    *why = "a disk sandbox was asked for";
    return false;
  }
  if (o.keep) {
    *why = "--keep needs a sandbox that outlives the worker, so it is on disk";
    return false;
  }
  // The restored size, an eighth for file system overhead, and 64 MiB.
  const std::optional<uint64_t> need =
      o.expected_bytes ? std::optional(*o.expected_bytes + *o.expected_bytes / 8 + (64u << 20)) : std::nullopt;
  if (o.sandbox_kind == SandboxKind::kTmpfs) {
    *bytes = need ? std::min(budget, *need) : budget;
    return true;
  }
  if (!need) {
    *why = "the recovery point's restored size is not known in advance";
    return false;
  }
  if (*need > budget) {
    *why = "the recovery point (" + std::to_string(*o.expected_bytes) + " bytes) does not fit the memory budget of " +
           std::to_string(budget) + " bytes";
    return false;
  }
  *bytes = *need;
  return true;
}

// Moves descriptors to the numbers given, in a child before exec (no allocation: the parent
// may have other threads). First out of the way, then into place.
void PlaceFds(const int (&from)[6], const int (&to)[6]) {
  int high[6];
  for (int i = 0; i < 6; ++i) high[i] = from[i] >= 0 ? fcntl(from[i], F_DUPFD_CLOEXEC, 20) : -1;
  for (int i = 0; i < 6; ++i)
    if (high[i] >= 0) dup2(high[i], to[i]);  // dup2 clears close-on-exec on `to`
}

// The last few lines of `text`, trimmed, for a message.
std::string LastLines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t start = text.size();
  for (int lines = 0; start > 0 && lines < 3; --start)
    if (text[start - 1] == '\n') ++lines;
  return text.substr(start == 0 ? 0 : start + 1);
}

// What a worker wrote on its stderr last: libraries' own complaints (libarchive prints a fatal
// error there and exits), kept for the finding when the worker dies without a result.
constexpr size_t kStderrTailBytes = 4096;

// libarchive ends the process with "Out of memory" when an allocation inside it fails, which
// under the address-space rlimit is the memory limit reached; the C library says "Cannot
// allocate memory". No structured channel exists for either.
bool SaysOutOfMemory(std::string_view err) {
  return err.find("Out of memory") != std::string_view::npos ||
         err.find("Cannot allocate memory") != std::string_view::npos;
}

constexpr size_t kMaxLineBytes = 256u << 20;  // a result with 100,000 findings is ~20 MiB

// Paths that name one of this process's own descriptors mean something else in the worker,
// whose standard input is its job: `verify /dev/stdin < backup.tar` would read the job. A file
// or directory behind such a path is handed on by its real path; a pipe or socket cannot be
// (the worker's Landlock ruleset has no rule for one), so it is refused by name.
bool NamesOwnDescriptor(const std::string& p) {
  if (p == "/dev/stdin") return true;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"})
    if (p.rfind(prefix, 0) == 0) return true;
  return false;
}

Status ResolveOwnDescriptor(const char* what, std::string* path) {
  if (!NamesOwnDescriptor(*path)) return Status::Ok();
  if (char* real = realpath(path->c_str(), nullptr)) {
    *path = real;
    free(real);
    return Status::Ok();
  }
  struct stat st {};
  if (stat(path->c_str(), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    return Status::Usage(std::string(what) + " " + *path + " is an unnamed " + (S_ISFIFO(st.st_mode) ? "pipe" : "socket") +
                         ", which the isolated worker cannot be given: write the stream to a file, or through a named "
                         "pipe (mkfifo) given by its path");
  return Status::Environment(std::string("cannot read ") + what + " " + *path + ": " + std::strerror(errno));
}

VerifyReport RunVerifyIsolatedAsGiven(const VerifyOptions& options);

}  // namespace

VerifyReport RunVerifyIsolated(const VerifyOptions& options) {
  VerifyOptions resolved = options;
  Status s = ResolveOwnDescriptor("source", &resolved.source);
  if (s.ok() && resolved.manifest) s = ResolveOwnDescriptor("manifest", &*resolved.manifest);
  if (!s.ok()) {
    VerifyReport report;
    report.source = options.source;
    report.limits = options.limits;
    report.status = RunStatus::kAborted;
    report.abort_status = s;
    return report;
  }
  return RunVerifyIsolatedAsGiven(resolved);
}

namespace {

// Follows one worker's lines: its progress for the watchdogs, its findings as they come
// (capped like any report's), and its result.
class LineFollower {
 public:
  explicit LineFollower(const VerifyOptions& options) : options_(options) {}

  void Handle(std::string_view text) {
    auto line = detail::DecodeLine(text);
    if (!line) return;
    switch (line->type) {
      case detail::WorkerLine::Type::kIsolation: isolation_ = std::move(line->isolation); break;
      case detail::WorkerLine::Type::kProgress: OnProgress(line->progress); break;
      case detail::WorkerLine::Type::kFinding: streamed_.Add(std::move(line->finding)); break;
      case detail::WorkerLine::Type::kResult: result_ = std::move(line->result); break;
    }
  }

  // The stall watchdog: no progress for max_stall_seconds. The final pass and content checks
  // read only the sandbox and bound themselves; nor does the time after the result count.
  // The clock starts with the first line (sent as soon as the worker is locked down), so the
  // worker's start-up is not counted; until then only the wall time applies.
  bool Stalled(double now) const {
    return Watched() && options_.limits.max_stall_seconds > 0 &&
           now - changed_at_ >= options_.limits.max_stall_seconds;
  }
  // The spin watchdog: no progress for max_spin_seconds while using at least half a core.
  bool Spinning(double now) const {
    const double idle = now - changed_at_;
    return Watched() && options_.limits.max_spin_seconds > 0 && idle >= options_.limits.max_spin_seconds &&
           last_.cpu_s - cpu_at_change_ >= 0.5 * idle;
  }

  const std::optional<VerifyReport>& result() const { return result_; }
  // The layers the worker reported once locked down (empty if it died before).
  const IsolationRecords& isolation() const { return isolation_; }
  VerifyReport& streamed() { return streamed_; }
  uint64_t worker_dropped() const { return last_.findings_dropped; }
  const detail::WorkerProgress& last() const { return last_; }
  double cpu_since_change() const { return last_.cpu_s - cpu_at_change_; }

 private:
  bool Watched() const { return changed_at_ >= 0 && !result_ && last_.phase != detail::RunPhase::kFinal; }

  void OnProgress(const detail::WorkerProgress& p) {
    // The worker reports twice a second from a thread of its own, so lines keep coming while
    // its reader is stuck: what must move is what they say.
    const auto counters = [](const detail::WorkerProgress& w) {
      return std::tuple(w.phase, w.progress.entries, w.progress.bytes, w.source_bytes, w.manifest_rows);
    };
    if (changed_at_ < 0 || counters(p) != counters(last_)) {
      changed_at_ = detail::MonotonicSeconds();
      cpu_at_change_ = p.cpu_s;
    }
    last_ = p;
    if (options_.on_progress) {
      Progress shown = p.progress;
      shown.source_bytes = p.source_bytes;
      options_.on_progress(shown);
    }
  }

  const VerifyOptions& options_;
  VerifyReport streamed_;
  std::optional<VerifyReport> result_;
  IsolationRecords isolation_;
  detail::WorkerProgress last_;
  double changed_at_ = -1;
  double cpu_at_change_ = 0;
};

// Why the parent stopped the worker, if it did.
enum class Stop { kNone, kCancelled, kWallTime, kStalled, kSpinning, kOversized };

std::string StopMessage(Stop stop, const VerifyOptions& o, const LineFollower& lines) {
  const detail::WorkerProgress& last = lines.last();
  const std::string while_ = last.phase == detail::RunPhase::kManifest ? "reading the manifest" : "reading the source";
  const std::string counters = std::to_string(last.progress.entries) + " entries and " +
                               std::to_string(last.progress.bytes) + " bytes restored, " +
                               std::to_string(last.source_bytes) + " bytes of the source read";
  switch (stop) {
    case Stop::kWallTime:
      return "limit exceeded: wall time of " + Seconds(o.limits.max_seconds) + " s; the worker was stopped";
    case Stop::kStalled:
      return "limit exceeded: no progress for " + Seconds(o.limits.max_stall_seconds) + " s while " + while_ +
             " (stall limit; " + counters + "); the worker was stopped";
    case Stop::kSpinning:
      return "limit exceeded: no progress for " + Seconds(o.limits.max_spin_seconds) + " s while " + while_ +
             ", with " + Seconds(std::round(lines.cpu_since_change())) + " s of CPU time spent (spin limit; " +
             counters + "): the decoder is looping; the worker was stopped";
    case Stop::kOversized: return "the worker sent a line of more than 256 MiB and was killed";
    case Stop::kNone:
    case Stop::kCancelled: break;
  }
  return "";
}

// The worker's result, taken as what it is: the word of a process that has parsed hostile
// bytes. The source and the limits in force are the parent's; a finding the worker streamed
// but left out of its result is put back; the status follows the findings.
void TakeWorkerResult(const VerifyReport& result, const VerifyOptions& options, VerifyReport* streamed,
                      VerifyReport* report) {
  *report = result;
  report->source = options.source;
  report->limits = options.limits;
  // The worker streams each finding as it stores it: its result holds them in the same order.
  const auto& said = streamed->findings;
  const bool all_there = said.size() <= report->findings.size() &&
                         std::equal(said.begin(), said.end(), report->findings.begin());
  if (!all_there) {
    std::set<std::tuple<FindingKind, std::string, std::string, int64_t>> kept;
    for (const auto& f : report->findings) kept.emplace(f.kind, f.path, f.message, f.offset);
    for (auto& f : streamed->findings)
      if (FindingFailsRun(f.kind) && !kept.count({f.kind, f.path, f.message, f.offset})) report->Add(std::move(f));
  }
  if (report->status != RunStatus::kAborted)
    report->status = report->HasFailingFinding() || report->findings_dropped > 0 || streamed->findings_dropped > 0
                         ? RunStatus::kFailed
                         : RunStatus::kPassed;
}

// Why a worker that left no result ended, as the parent's finding. The memory limit: the memory
// cgroup's OOM kill; or an allocation that failed under the address-space limit, ours (exit 86)
// or a library's (libarchive prints "Out of memory" and exits), which without a memory cgroup
// is the memory limit itself.
Finding StopFinding(Stop stop, int wstatus, const VerifyOptions& options, const LineFollower& lines,
                    const detail::WorkerCgroups& cgroups, const SandboxPages& pages, const std::string& err_tail) {
  const std::string& at = lines.last().progress.current;
  const auto offset = static_cast<int64_t>(lines.last().source_bytes);
  switch (stop) {
    case Stop::kStalled:
    case Stop::kSpinning:
      return {FindingKind::kLimitExceeded, at, StopMessage(stop, options, lines), offset,
              stop == Stop::kSpinning ? LimitKind::kSpin : LimitKind::kStall};
    case Stop::kWallTime:
      return {FindingKind::kLimitExceeded, "", StopMessage(stop, options, lines), -1, LimitKind::kWallTime};
    case Stop::kOversized:
      return {FindingKind::kWorkerDied, "", StopMessage(stop, options, lines), -1};
    default:
      break;
  }
  const bool cgroup_memory = cgroups.memory().state == LayerState::kEnforced;
  const bool failed_exit = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0;
  if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL && cgroups.MemoryLimitKilled())
    return {FindingKind::kLimitExceeded, at,
            "limit exceeded: memory limit of " + std::to_string(options.limits.max_memory_bytes) +
                " bytes reached; the kernel stopped the worker at its memory cgroup's limit, which has " +
                std::to_string(pages.bytes) + " bytes more " + pages.what,
            offset, LimitKind::kMemory};
  if (failed_exit && (WEXITSTATUS(wstatus) == detail::kWorkerExitOutOfMemory || SaysOutOfMemory(err_tail))) {
    const uint64_t address_space =
        cgroup_memory ? options.worker_address_space_bytes : options.limits.max_memory_bytes;
    return {FindingKind::kLimitExceeded, at,
            std::string("limit exceeded: ") + (cgroup_memory ? "address-space limit of " : "memory limit of ") +
                std::to_string(address_space) + " bytes reached; an allocation failed and the worker stopped",
            offset, LimitKind::kMemory};
  }
  return {FindingKind::kWorkerDied, "",
          "the worker process " + DescribeExit(wstatus) + (err_tail.empty() ? "" : "; it said: " + LastLines(err_tail)),
          -1};
}

// The worker executable PinWorkerBinary chose, open for the life of the process.
struct PinnedWorker {
  int fd = -1;
  std::string path;
  bool lean = false;  // restoreproof-worker, not this executable
};

const PinnedWorker& Pinned() {
  static const PinnedWorker pinned = [] {
    PinnedWorker p;
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    const std::string exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    // An executable replaced since it started (" (deleted)") would find its successor's worker.
    constexpr std::string_view kDeleted = " (deleted)";
    const bool replaced = exe.size() >= kDeleted.size() && exe.compare(exe.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
    if (!exe.empty() && !replaced) {
      const std::string sibling = exe.substr(0, exe.rfind('/') + 1) + "restoreproof-worker";
      const int fd = open(sibling.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
        p.fd = fd;
        p.path = sibling;
        p.lean = true;
        return p;
      }
      if (fd >= 0) close(fd);
    }
    p.fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    p.path = exe.empty() ? "/proc/self/exe" : exe;
    return p;
  }();
  return pinned;
}

// The worker_process layer's detail: which executable the worker ran.
std::string WorkerProcessDetail(const std::string& binary) {
  if (!binary.empty()) return "a separate restoreproof worker process (" + EscapePath(binary) + " worker)";
  return Pinned().lean ? "a separate restoreproof worker process (restoreproof-worker)"
                       : "a separate restoreproof worker process (restoreproof worker)";
}

// Creates the worker with its descriptors in place; -1 with *error set. An empty binary: the
// pinned one, executed through its descriptor.
pid_t StartWorker(const std::string& binary, const int (&fds)[6], std::string* error) {
  const int pinned = binary.empty() ? Pinned().fd : -1;
  if (binary.empty() && pinned < 0) {
    *error = std::string("cannot open the worker executable: ") + std::strerror(errno);
    return -1;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Out of the way of the slots PlaceFds fills (0-5, and its own temporaries from 20).
    const int exe = pinned >= 0 ? fcntl(pinned, F_DUPFD_CLOEXEC, 64) : -1;
    PlaceFds(fds, {0, 1, 2, detail::kSandboxFd, detail::kManifestFd, detail::kInventoryFd});
    // Nothing else of the parent's reaches the worker (Landlock does not confine a descriptor
    // already open): the unused output slots and everything above them are closed. The
    // executable's descriptor (slot 6, close-on-exec) goes with the exec.
    for (int slot = 4; slot <= 5; ++slot)
      if (fds[slot] < 0) close(slot);
    int first_closed = 6;
    if (pinned >= 0) {
      if (exe < 0 || dup3(exe, 6, O_CLOEXEC) != 6) _exit(127);
      first_closed = 7;
    }
    if (close_range(static_cast<unsigned>(first_closed), ~0U, 0) != 0)
      for (int fd = first_closed; fd < 4096; ++fd) close(fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent killed mid-restore takes its worker along
    if (getppid() != parent) _exit(127);
    char arg0[] = "restoreproof";
    char arg1[] = "worker";
    char* argv[] = {arg0, arg1, nullptr};
    if (pinned >= 0) fexecve(6, argv, environ);
    else execv(binary.c_str(), argv);
    _exit(127);
  }
  if (pid < 0) *error = std::string("fork: ") + std::strerror(errno);
  return pid;
}

// A worker that dies before reading its job must not take the caller with it (SIGPIPE): the
// signal is blocked for this write and a pending one dropped; the death shows in its status.
void WriteJob(int fd, const std::string& job) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  int err = 0;
  WriteAll(fd, job, &err);
  const timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Reads the worker's lines until it closes its end, stopping it when a watchdog says so, and
// keeps the tail of what it says on stderr.
Stop FollowWorker(pid_t pid, int out_fd, int err_fd, const VerifyOptions& options, double deadline,
                  LineFollower* lines, std::string* err_tail) {
  Stop stop = Stop::kNone;
  double term_sent_at = -1;
  std::string buf;
  size_t scanned = 0;  // bytes of buf known to hold no line end
  char chunk[65536];
  for (;;) {
    const double now = detail::MonotonicSeconds();
    if (term_sent_at < 0) {
      if (options.cancel && options.cancel->load()) stop = Stop::kCancelled;
      else if (now >= deadline) stop = Stop::kWallTime;
      else if (lines->Spinning(now)) stop = Stop::kSpinning;
      else if (lines->Stalled(now)) stop = Stop::kStalled;
      if (stop != Stop::kNone) {
        kill(pid, SIGTERM);
        term_sent_at = now;
      }
    }
    if (term_sent_at >= 0 && now - term_sent_at >= kTermToKillSeconds) {
      kill(pid, SIGKILL);
      break;
    }
    pollfd p[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    const int pr = poll(p, err_fd >= 0 ? 2 : 1, 200);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    if (err_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
      const ssize_t e = ReadSome(err_fd, chunk, sizeof chunk);
      if (e > 0) {
        err_tail->append(chunk, static_cast<size_t>(e));
        if (err_tail->size() > kStderrTailBytes) err_tail->erase(0, err_tail->size() - kStderrTailBytes);
      } else {
        err_fd = -1;  // the worker closed it
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
    const ssize_t n = ReadSome(out_fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    if (buf.size() > kMaxLineBytes) {  // a worker that never ends its line
      kill(pid, SIGKILL);
      return Stop::kOversized;
    }
    // Only the bytes just read can hold a new line end: a long line is scanned once.
    size_t pos = 0, nl;
    while ((nl = buf.find('\n', std::max(pos, scanned))) != std::string::npos) {
      lines->Handle(std::string_view(buf).substr(pos, nl - pos));
      pos = nl + 1;
    }
    buf.erase(0, pos);
    scanned = buf.size();
  }
  return stop;
}

VerifyReport RunVerifyIsolatedAsGiven(const VerifyOptions& options) {
  VerifyReport report;
  report.source = options.source;
  report.limits = options.limits;
  const double start = detail::MonotonicSeconds();
  detail::RunResources run;
  if (!detail::BeginRun(options, &report, &run)) {
    detail::EndRun(options, &report, &run);
    return report;
  }
  detail::WorkerJob job;
  job.options = options;
  job.sandbox_path = run.sandbox.path;
  std::string tmpfs_note;
  job.tmpfs = ChooseTmpfs(options, &job.tmpfs_bytes, &tmpfs_note);
  job.manifest_out = run.manifest.fd() >= 0;
  job.inventory_out = run.inventory.fd() >= 0;
  // Files in a tmpfs are charged to the memory cgroup of whoever writes them, and cannot be
  // reclaimed: a tmpfs sandbox's size, or the free space of a sandbox directory that is itself
  // on a tmpfs (/dev/shm, a /tmp in memory), comes on top of the memory limit.
  const SandboxPages pages = SandboxPagesOf(options, job, run.sandbox.fd);
  detail::WorkerCgroups cgroups(options.use_cgroups, options.worker_processes, options.limits.max_memory_bytes,
                                pages.bytes, pages.what);
  job.pids_cgroup = cgroups.pids();
  job.memory_cgroup = cgroups.memory();
  const std::string& binary = options.worker_binary;  // empty: the pinned one

  UniqueFd job_r, job_w, lines_r, lines_w, err_r, err_w;  // the worker's stdin, stdout and stderr
  pid_t pid = -1;
  std::string error;
  if (!MakePipe(&job_r, &job_w) || !MakePipe(&lines_r, &lines_w) || !MakePipe(&err_r, &err_w))
    error = std::string("pipe: ") + std::strerror(errno);
  else
    pid = StartWorker(binary,
                      {job_r.get(), lines_w.get(), err_w.get(), run.sandbox.fd, run.manifest.fd(), run.inventory.fd()},
                      &error);
  job_r.Reset();
  lines_w.Reset();
  err_w.Reset();
  // The worker joins its cgroups before it reads its job, so before any of its code that could
  // fork runs. Moved from here, the migration (about 20 ms on a cgroup v1 hierarchy: the
  // kernel waits for an RCU grace period) overlaps the worker's exec and loading.
  if (pid > 0) {
    if (Status joined = cgroups.Join(pid); !joined.ok()) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      pid = -1;
      error = joined.message();
    }
  }
  if (pid < 0) {
    report.status = RunStatus::kAborted;
    report.abort_status = Status::Environment(error);
  } else {
    WriteJob(job_w.get(), detail::EncodeJob(job));
    job_w.Reset();
    LineFollower lines(options);
    std::string err_tail;
    const Stop stop = FollowWorker(pid, lines_r.get(), err_r.get(), options,
                                   start + options.limits.max_seconds + kGraceSeconds, &lines, &err_tail);
    lines_r.Reset();
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    VerifyReport& streamed = lines.streamed();
    const bool finished = lines.result() && stop == Stop::kNone && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    if (finished) {
      TakeWorkerResult(*lines.result(), options, &streamed, &report);
      report.sandbox = run.sandbox.path;
    } else {
      // No result: what the worker streamed, and the parent's own verdict, stored even when
      // the worker's findings filled the cap. The sandbox's kind is what the worker's
      // isolation line said it mounted.
      report.findings = std::move(streamed.findings);
      report.findings_dropped = streamed.findings_dropped + lines.worker_dropped();
      report.isolation = lines.isolation();
      const IsolationRecord* tmpfs = report.isolation.Find(IsolationLayer::kTmpfsSandbox);
      report.sandbox_kind = tmpfs && tmpfs->state == LayerState::kEnforced ? SandboxKind::kTmpfs : SandboxKind::kDisk;
      if (stop == Stop::kCancelled) {
        report.status = RunStatus::kAborted;
        report.abort_status = Status::Environment("cancelled: the restore was stopped before it finished");
      } else {
        report.findings.push_back(StopFinding(stop, wstatus, options, lines, cgroups, pages, err_tail));
        report.status = RunStatus::kFailed;
      }
    }
    // What only the parent knows is the parent's to record, whatever the worker said.
    report.isolation.Set(IsolationLayer::kWorkerProcess, LayerState::kEnforced, WorkerProcessDetail(binary));
    report.isolation.Set(IsolationLayer::kPidsCgroup, cgroups.pids().state, cgroups.pids().detail);
    report.isolation.Set(IsolationLayer::kMemoryCgroup, cgroups.memory().state, cgroups.memory().detail);
  }
  if (!tmpfs_note.empty() && !report.isolation.Find(IsolationLayer::kTmpfsSandbox))
    report.isolation.Set(IsolationLayer::kTmpfsSandbox, LayerState::kNotRequested, tmpfs_note);
  if (options.before_publish) options.before_publish(&report);
  detail::EndRun(options, &report, &run);
  report.duration_s = detail::MonotonicSeconds() - start;
  return report;
}

}  // namespace

std::string PinWorkerBinary() {
  const PinnedWorker& p = Pinned();
  if (p.fd < 0) return "no worker executable could be opened (" + p.path + ")";
  return p.lean ? p.path + " (restoreproof-worker: the restore libraries only)"
                : p.path + " (this executable, as `restoreproof worker`: no restoreproof-worker beside it)";
}

}  // namespace rp
