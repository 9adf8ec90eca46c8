// Runs a restore in a forked child so that a hang or crash inside libarchive cannot take the
// caller with it, and the wall-time limit is enforced from outside with SIGKILL.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "entry_stream.h"
#include "restore_job.h"
#include "rp/posix_io.h"
#include "rp/report_json.h"
#include "rp/sandbox.h"
#include "rp/verify.h"

namespace rp {
namespace {

constexpr double kGraceSeconds = 3.0;

void ChildMain(const VerifyOptions& options, int sandbox_fd, int out_fd, int pipe_fd) {
  VerifyReport report;
  report.source = options.source;
  report.limits = options.limits;
  detail::RestoreJob job{&options, sandbox_fd, out_fd};
  detail::RestoreInto(job, &report);
  const std::string text = ReportToJson(report, -1);
  int err = 0;
  _exit(WriteAll(pipe_fd, text, &err) ? 0 : 4);
}

std::string DescribeExit(int wstatus) {
  if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    std::string s = "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    if (sig == SIGKILL) s += "; the kernel's OOM killer or an operator may have sent it";
    return s;
  }
  if (WIFEXITED(wstatus)) return "exited with status " + std::to_string(WEXITSTATUS(wstatus)) + " without a result";
  return "ended without a result";
}

}  // namespace

VerifyReport RunVerifyIsolated(const VerifyOptions& options) {
  VerifyReport report;
  report.source = options.source;
  report.limits = options.limits;
  const double start = detail::MonotonicSeconds();
  detail::RunResources run;
  if (!detail::BeginRun(options, &report, &run)) {
    detail::EndRun(options, &report, &run);
    return report;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    report.status = RunStatus::kAborted;
    report.abort_status = Status::Environment(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = -1;
  if (report.status != RunStatus::kAborted) {
    pid = fork();
    if (pid == 0) {
      close(fds[0]);
      ChildMain(options, run.sandbox.fd, run.manifest_out_fd, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
      report.status = RunStatus::kAborted;
      report.abort_status = Status::Environment(std::string("fork: ") + std::strerror(errno));
      close(fds[0]);
    }
  }
  if (pid > 0) {
    std::string text;
    bool timed_out = false;
    bool cancelled = false;
    const double deadline = start + options.limits.max_seconds + kGraceSeconds;
    char buf[65536];
    for (;;) {
      if (options.cancel && options.cancel->load()) {
        cancelled = true;
        break;
      }
      const double left = deadline - detail::MonotonicSeconds();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{fds[0], POLLIN, 0};
      const int pr = poll(&p, 1, static_cast<int>(std::ceil(std::min(left, 0.2) * 1000)));
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) continue;
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    if (timed_out || cancelled) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    std::optional<VerifyReport> child = timed_out || cancelled ? std::nullopt : ReportFromJson(text);
    if (cancelled) {
      report.status = RunStatus::kAborted;
      report.abort_status = Status::Environment("cancelled: the restore was stopped before it finished");
    } else if (child && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
      report = std::move(*child);
      report.sandbox = run.sandbox.path;
    } else if (timed_out) {
      report.Add(Finding{FindingKind::kLimitExceeded, "",
                         "limit exceeded: wall time of " + std::to_string(options.limits.max_seconds) +
                             " s; the restore process was killed", -1});
      report.status = RunStatus::kFailed;
    } else {
      report.Add(Finding{FindingKind::kWorkerDied, "", "the restore process " + DescribeExit(wstatus), -1});
      report.status = RunStatus::kFailed;
    }
  }
  report.isolation["child_process"] = "enforced";
  report.isolation["landlock"] = "not implemented yet";
  report.isolation["namespaces"] = "not implemented yet";
  report.isolation["seccomp"] = "not implemented yet";
  report.isolation["rlimits"] = "not implemented yet";
  detail::EndRun(options, &report, &run);
  report.duration_s = detail::MonotonicSeconds() - start;
  return report;
}

}  // namespace rp
