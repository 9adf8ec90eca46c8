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

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pipeline/entry_stream.h"
#include "json_num.h"
#include "pipeline/restore_job.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/report_json.h"
#include "rp/sandbox.h"
#include "rp/verify.h"
#include "isolation/worker_protocol.h"

namespace rp {
namespace {

using nlohmann::json;

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

// Decides disk or tmpfs, and the tmpfs size; `why` says why for the report.
bool ChooseTmpfs(const VerifyOptions& o, uint64_t* bytes, std::string* why) {
  const uint64_t budget = o.tmpfs_budget_bytes ? o.tmpfs_budget_bytes : DefaultTmpfsBudget();
  if (o.sandbox_kind == SandboxKind::kDisk) return false;
  if (o.keep) {
    *why = "not used: --keep needs a sandbox that outlives the worker, so it is on disk";
    return false;
  }
  if (o.sandbox_kind == SandboxKind::kTmpfs) {
    *bytes = o.expected_bytes ? std::min(budget, *o.expected_bytes + *o.expected_bytes / 8 + (64u << 20)) : budget;
    return true;
  }
  if (!o.expected_bytes) {
    *why = "not used: the recovery point's restored size is not known in advance";
    return false;
  }
  const uint64_t need = *o.expected_bytes + *o.expected_bytes / 8 + (64u << 20);
  if (need > budget) {
    *why = "not used: the recovery point (" + std::to_string(*o.expected_bytes) + " bytes) does not fit the memory budget of " +
           std::to_string(budget) + " bytes";
    return false;
  }
  *bytes = need;
  return true;
}

// A pids cgroup for one worker: the kernel's bound on its processes. RLIMIT_NPROC does not
// hold for a worker whose user is root outside its namespace, so this is what stops a fork
// bomb there. cgroup v1's pids hierarchy or cgroup v2 with the pids controller.
struct PidsCgroup {
  std::string dir;     // empty when unavailable
  std::string status;  // for the report
};

bool WriteText(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int err = 0;
  const bool ok = WriteAll(fd, text, &err);
  close(fd);
  return ok;
}

PidsCgroup CreatePidsCgroup(uint64_t max_processes) {
  static std::atomic<unsigned> counter{0};
  PidsCgroup cg;
  std::string root;
  std::ifstream v2("/sys/fs/cgroup/cgroup.controllers");
  std::string controllers;
  std::getline(v2, controllers);
  if (access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0) {
    root = "/sys/fs/cgroup/pids";
  } else if (controllers.find("pids") != std::string::npos && access("/sys/fs/cgroup/cgroup.procs", W_OK) == 0) {
    root = "/sys/fs/cgroup";
    WriteText(root + "/cgroup.subtree_control", "+pids");
  } else {
    cg.status = "unavailable: no writable pids cgroup (cgroup v1 pids hierarchy or v2 pids controller)";
    return cg;
  }
  // Cgroups left by a parent that was killed (its pid is gone) are removed; rmdir fails on one
  // that still holds processes, which is then left alone.
  if (DIR* d = opendir(root.c_str())) {
    while (dirent* de = readdir(d)) {
      long owner = 0;
      if (std::sscanf(de->d_name, "restoreproof-%ld-", &owner) == 1 && owner > 0 && owner != getpid() &&
          kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH)
        rmdir((root + "/" + de->d_name).c_str());
    }
    closedir(d);
  }
  cg.dir = root + "/restoreproof-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  if (mkdir(cg.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    cg.status = "unavailable: cannot create " + cg.dir + ": " + std::strerror(errno);
    cg.dir.clear();
    return cg;
  }
  if (!WriteText(cg.dir + "/pids.max", std::to_string(max_processes))) {
    cg.status = "unavailable: cannot set " + cg.dir + "/pids.max: " + std::strerror(errno);
    rmdir(cg.dir.c_str());
    cg.dir.clear();
    return cg;
  }
  cg.status = "enforced: pids cgroup " + cg.dir + " allows " + std::to_string(max_processes) +
              " processes and threads for the worker and everything it starts";
  return cg;
}

void RemovePidsCgroup(const PidsCgroup& cg) {
  if (cg.dir.empty()) return;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (rmdir(cg.dir.c_str()) == 0 || errno == ENOENT) return;
    std::ifstream procs(cg.dir + "/cgroup.procs");
    pid_t p;
    while (procs >> p) kill(p, SIGKILL);
    usleep(20000);
  }
}

// Moves descriptors to the numbers given, in a child before exec (no allocation: the parent
// may have other threads). First out of the way, then into place.
void PlaceFds(const int (&from)[5], const int (&to)[5]) {
  int high[5];
  for (int i = 0; i < 5; ++i) high[i] = from[i] >= 0 ? fcntl(from[i], F_DUPFD_CLOEXEC, 20) : -1;
  for (int i = 0; i < 5; ++i)
    if (high[i] >= 0) dup2(high[i], to[i]);  // dup2 clears close-on-exec on `to`
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
  job.manifest_out = run.manifest.fd >= 0;
  job.inventory_out = run.inventory.fd >= 0;
  const PidsCgroup cgroup = CreatePidsCgroup(options.worker_processes);
  job.process_limit = cgroup.dir.empty() && geteuid() != 0
                          ? "enforced: RLIMIT_NPROC of " + std::to_string(options.worker_processes) + " for the worker's own user"
                          : cgroup.status;
  const std::string cgroup_procs = cgroup.dir.empty() ? std::string() : cgroup.dir + "/cgroup.procs";
  const std::string job_text = detail::JobToJson(job);
  const std::string binary = options.worker_binary.empty() ? "/proc/self/exe" : options.worker_binary;

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
  pid_t pid = -1;
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    report.status = RunStatus::kAborted;
    report.abort_status = Status::Environment(std::string("pipe: ") + std::strerror(errno));
  } else {
    const pid_t parent = getpid();
    pid = fork();
    if (pid == 0) {
      PlaceFds({in_pipe[0], out_pipe[1], run.sandbox.fd, run.manifest.fd, run.inventory.fd},
               {0, 1, detail::kSandboxFd, detail::kManifestFd, detail::kInventoryFd});
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent killed mid-restore takes its worker along
      if (getppid() != parent) _exit(127);
      char arg0[] = "restoreproof";
      char arg1[] = "worker";
      char* argv[] = {arg0, arg1, nullptr};
      execv(binary.c_str(), argv);
      _exit(127);
    }
    if (pid < 0) {
      report.status = RunStatus::kAborted;
      report.abort_status = Status::Environment(std::string("fork: ") + std::strerror(errno));
    }
  }
  if (in_pipe[0] >= 0) close(in_pipe[0]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);

  // The worker joins the pids cgroup before it reads its job, so before any of its code that
  // could fork runs. Moved from here, the migration (about 20 ms on a cgroup v1 hierarchy: the
  // kernel waits for an RCU grace period) overlaps the worker's exec and loading.
  if (pid > 0 && !cgroup_procs.empty()) {
    const std::string pid_text = std::to_string(pid);
    const int cfd = open(cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
    const ssize_t wrote = cfd >= 0 ? write(cfd, pid_text.data(), pid_text.size()) : -1;
    const bool joined = wrote == static_cast<ssize_t>(pid_text.size());
    const int err = wrote >= 0 && !joined ? EIO : errno;  // a short write sets no errno
    if (cfd >= 0) close(cfd);
    if (!joined) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      pid = -1;
      report.status = RunStatus::kAborted;
      report.abort_status =
          Status::Environment("cannot move the worker into the pids cgroup " + cgroup.dir + ": " + std::strerror(err));
    }
  }

  if (pid > 0) {
    {
      // A worker that dies before reading its job must not take the caller with it (SIGPIPE):
      // block the signal for this write and drop a pending one; the death shows in its status.
      sigset_t pipe_set, old;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
      int err = 0;
      WriteAll(in_pipe[1], job_text, &err);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    close(in_pipe[1]);
    in_pipe[1] = -1;
    VerifyReport streamed;  // findings as they arrive, capped like any report's
    uint64_t worker_dropped = 0;  // findings the worker counted beyond its cap (progress lines)
    std::optional<VerifyReport> result;
    size_t protocol_errors = 0;
    std::string buf;
    size_t scanned = 0;  // bytes of buf known to hold no line end
    bool timed_out = false, cancelled = false, stalled = false;
    double term_sent_at = -1;
    // Stall watchdog: the worker reports progress twice a second from a thread of its own, so
    // lines keep coming while its reader is stuck; what must move is what they say.
    // The clock starts with the first line (sent as soon as the worker is locked down), so
    // the worker's start-up is not counted; until then only the wall time applies.
    struct Counters {
      std::string phase;
      uint64_t entries = 0, bytes = 0, source_bytes = 0, manifest_rows = 0;
      bool operator==(const Counters&) const = default;
    };
    Counters last;
    std::string last_current;
    double last_changed_at = -1;
    const double deadline = start + options.limits.max_seconds + kGraceSeconds;
    char chunk[65536];
    // The worker has parsed hostile bytes: anything it says is untrusted. A line that is not
    // what the protocol says is ignored, never a crash of the parent.
    auto handle_line = [&](const std::string& line) {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return;
      try {
      const std::string type = j.value("type", "");
      if (type == "progress") {
        Progress p;
        p.entries = detail::NumOr<uint64_t>(j, "entries", 0);
        p.files = detail::NumOr<uint64_t>(j, "files", 0);
        p.bytes = detail::NumOr<uint64_t>(j, "bytes", 0);
        const std::string cur = j.value("current", "");
        p.current = UnescapePath(cur).value_or(cur);
        p.elapsed_s = j.value("elapsed_s", 0.0);
        const Counters seen{j.value("phase", ""), p.entries, p.bytes, detail::NumOr<uint64_t>(j, "source_bytes", 0),
                           detail::NumOr<uint64_t>(j, "manifest_rows", 0)};
        if (last_changed_at < 0 || seen != last) {
          last = seen;
          last_changed_at = detail::MonotonicSeconds();
        }
        last_current = p.current;
        worker_dropped = std::max(worker_dropped, detail::NumOr<uint64_t>(j, "findings_dropped", 0));
        if (options.on_progress) options.on_progress(p);
      } else if (type == "finding" && j.contains("finding")) {
        const json& f = j["finding"];
        auto kind = ParseFindingKind(f.value("kind", ""));
        if (kind) {
          const std::string path = f.value("path", ""), msg = f.value("message", "");
          streamed.Add(Finding{*kind, UnescapePath(path).value_or(path), UnescapePath(msg).value_or(msg),
                                     detail::NumOr<int64_t>(f, "offset", -1)});
        }
      } else if (type == "result" && j.contains("report")) {
        result = ReportFromJson(j["report"].dump());
      }
      } catch (const json::exception&) {
        protocol_errors++;
      }
    };
    bool oversized = false;
    for (;;) {
      const double now = detail::MonotonicSeconds();
      if (term_sent_at < 0 && ((options.cancel && options.cancel->load()) || now >= deadline)) {
        cancelled = options.cancel && options.cancel->load();
        timed_out = !cancelled;
        kill(pid, SIGTERM);
        term_sent_at = now;
      }
      // The final pass and content checks read only the sandbox and bound themselves.
      // Nor is the time between the result and the worker's exit.
      if (term_sent_at < 0 && !result && options.limits.max_stall_seconds > 0 && last_changed_at >= 0 &&
          last.phase != "final" && now - last_changed_at >= options.limits.max_stall_seconds) {
        stalled = true;
        kill(pid, SIGTERM);
        term_sent_at = now;
      }
      if (term_sent_at >= 0 && now - term_sent_at >= kTermToKillSeconds) {
        kill(pid, SIGKILL);
        break;
      }
      pollfd p{out_pipe[0], POLLIN, 0};
      const int pr = poll(&p, 1, 200);
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) continue;
      const ssize_t n = read(out_pipe[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      if (buf.size() > kMaxLineBytes) {  // a worker that never ends its line
        oversized = true;
        kill(pid, SIGKILL);
        break;
      }
      // Only the bytes just read can hold a new line end: a long line is scanned once.
      size_t pos = 0, nl;
      while ((nl = buf.find('\n', std::max(pos, scanned))) != std::string::npos) {
        handle_line(buf.substr(pos, nl - pos));
        pos = nl + 1;
      }
      buf.erase(0, pos);
      scanned = buf.size();
    }
    close(out_pipe[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (cancelled) {
      report.status = RunStatus::kAborted;
      report.abort_status = Status::Environment("cancelled: the restore was stopped before it finished");
      report.findings = std::move(streamed.findings);
      report.findings_dropped = streamed.findings_dropped + worker_dropped;
    } else if (result && !timed_out && !stalled && !oversized && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
      report = std::move(*result);
      report.sandbox = run.sandbox.path;
    } else {
      report.findings = std::move(streamed.findings);
      report.findings_dropped = streamed.findings_dropped + worker_dropped;
      // The parent's own verdict is stored even when the worker's findings filled the cap.
      if (timed_out)
        report.findings.push_back(Finding{FindingKind::kLimitExceeded, "",
                                          "limit exceeded: wall time of " + Seconds(options.limits.max_seconds) +
                                              " s; the worker was stopped",
                                          -1});
      else if (stalled)
        report.findings.push_back(Finding{
            FindingKind::kLimitExceeded, last_current,
            "limit exceeded: no progress for " + Seconds(options.limits.max_stall_seconds) + " s while " +
                (last.phase == "manifest" ? "reading the manifest" : "reading the source") + " (stall limit; " +
                std::to_string(last.entries) + " entries and " + std::to_string(last.bytes) + " bytes restored, " +
                std::to_string(last.source_bytes) + " bytes of the source read); the worker was stopped",
            static_cast<int64_t>(last.source_bytes)});
      else if (oversized)
        report.findings.push_back(
            Finding{FindingKind::kWorkerDied, "", "the worker sent a line of more than 256 MiB and was killed", -1});
      else
        report.findings.push_back(Finding{FindingKind::kWorkerDied, "", "the worker process " + DescribeExit(wstatus), -1});
      report.status = RunStatus::kFailed;
      report.isolation["worker_process"] = "enforced: a separate restoreproof worker process";
    }
  } else {
    if (in_pipe[1] >= 0) close(in_pipe[1]);
    if (out_pipe[0] >= 0) close(out_pipe[0]);
  }
  if (!tmpfs_note.empty() && !report.isolation.count("tmpfs_sandbox")) report.isolation["tmpfs_sandbox"] = tmpfs_note;
  RemovePidsCgroup(cgroup);
  if (options.before_publish) options.before_publish(&report);
  detail::EndRun(options, &report, &run);
  report.duration_s = detail::MonotonicSeconds() - start;
  return report;
}

}  // namespace

}  // namespace rp
