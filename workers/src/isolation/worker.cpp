// The worker side of an isolated restore: `restoreproof worker`. Reads one job on stdin,
// locks itself down (lockdown.h), restores and verifies through the same engine as
// RunVerify, runs the content checks, and reports on stdout as JSON lines: progress twice a
// second, each finding as it is found, and one final result (docs/worker-protocol.md).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>

#include "pipeline/entry_stream.h"
#include "isolation/lockdown.h"
#include "sources/name_locale.h"
#include "pipeline/restore_job.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "isolation/worker_protocol.h"

namespace rp {
namespace {

class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  void Write(const std::string& line) {
    std::lock_guard lock(mu_);
    int err = 0;
    WriteAll(fd_, line + "\n", &err);  // a parent that is gone ends the worker through PDEATHSIG
  }

 private:
  int fd_;
  std::mutex mu_;
};

// Streams each finding to the parent as it is stored; counts those beyond the cap.
class StreamFindings final : public FindingObserver {
 public:
  explicit StreamFindings(LineWriter* out) : out_(out) {}
  void OnFinding(const Finding& f) override { out_->Write(detail::EncodeFindingLine(f)); }
  void OnDropped(uint64_t n) override { dropped_.store(n, std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  LineWriter* out_;
  std::atomic<uint64_t> dropped_{0};
};

std::string ReadAll(int fd, size_t max) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ReadSome(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max) break;
  }
  return text;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// An allocation that fails under the memory limit (the address-space rlimit when there is no
// memory cgroup) ends the worker with a status the parent reports as the limit reached, rather
// than as a crash.
[[noreturn]] void OutOfMemory() { _exit(detail::kWorkerExitOutOfMemory); }

detail::LockdownPlan PlanFor(const detail::WorkerJob& job) {
  const VerifyOptions& opt = job.options;
  detail::LockdownPlan plan;
  plan.read_paths.push_back(opt.source);
  if (opt.manifest) plan.read_paths.push_back(*opt.manifest);
  for (const auto& c : opt.checks) {
    if (c.kind == CheckKind::kUnchangedSinceBaseline && !c.baseline.empty()) plan.read_paths.push_back(c.baseline);
    if (c.kind == CheckKind::kCommand && !c.argv.empty()) plan.check_commands.push_back(c.argv);
  }
  plan.sandbox_path = job.sandbox_path;
  plan.tmpfs = job.tmpfs;
  plan.tmpfs_bytes = job.tmpfs_bytes;
  // A backstop behind the engine's own file-size limit; the row sorter's spill file and the
  // manifest and inventory being written must fit under it too.
  plan.file_bytes = std::max<uint64_t>(opt.limits.max_file_bytes, 4ull << 30);
  plan.address_space_bytes = opt.worker_address_space_bytes;
  plan.memory_bytes = opt.limits.max_memory_bytes;
  // CPU time of all threads together (three work at once, plus checks): a backstop far
  // beyond the wall-time limit, which the parent enforces.
  plan.cpu_seconds = static_cast<uint64_t>(opt.limits.max_seconds) * 4 + 60;
  plan.processes = opt.worker_processes;
  plan.require = opt.isolation == IsolationPolicy::kRequire;
  plan.pids_cgroup = job.pids_cgroup;
  plan.memory_cgroup = job.memory_cgroup;
  return plan;
}

}  // namespace

int WorkerMain(int in_fd, int out_fd) {
  // Started through a descriptor (fexecve), the process would be named after it ("6").
  prctl(PR_SET_NAME, "rp-worker");
  signal(SIGXFSZ, SIG_IGN);  // the file-size rlimit shows as EFBIG, a limit finding
  signal(SIGPIPE, SIG_IGN);
  std::set_new_handler(&OutOfMemory);
  LineWriter out(out_fd);
  const double start = detail::MonotonicSeconds();
  detail::WorkerJob job;
  VerifyReport report;
  if (Status s = detail::DecodeJob(ReadAll(in_fd, 16u << 20), &job); !s.ok()) {
    report.status = RunStatus::kAborted;
    report.abort_status = Status::Usage("worker: " + s.message());
    out.Write(detail::EncodeResultLine(report));
    return 0;
  }
  const VerifyOptions& opt = job.options;
  report.source = opt.source;
  report.limits = opt.limits;
  report.readback = opt.readback;
  report.sandbox = job.sandbox_path;

  // The readers' UTF-8 locale is loaded now: Landlock hides /usr/lib/locale from here on.
  detail::Utf8NameLocale();
  // Past this point this process may be a child in a new PID namespace (lockdown.h).
  const detail::LockdownResult locked = detail::Lockdown(PlanFor(job), detail::kSandboxFd);
  report.isolation = locked.layers;
  report.isolation.Set(IsolationLayer::kWorkerProcess, LayerState::kEnforced, "a separate restoreproof worker process");
  report.sandbox_kind = locked.tmpfs_mounted ? SandboxKind::kTmpfs : SandboxKind::kDisk;
  out.Write(detail::EncodeIsolationLine(report.isolation));
  if (!locked.status.ok()) {
    report.status = RunStatus::kAborted;
    report.abort_status = locked.status;
    report.duration_s = detail::MonotonicSeconds() - start;
    out.Write(detail::EncodeResultLine(report));
    return 0;
  }

  StreamFindings stream(&out);
  report.observer = &stream;
  detail::LiveProgress progress;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread ticker([&] {
    std::unique_lock lock(mu);
    // The first line at once: the parent's watchdogs start counting from it.
    bool first = true;
    while (first || !cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return done; })) {
      first = false;
      detail::WorkerProgress p;
      p.progress.entries = progress.entries.load();
      p.progress.files = progress.files.load();
      p.progress.bytes = progress.bytes.load();
      {
        std::lock_guard pl(progress.mu);
        p.progress.current = progress.current;
      }
      p.progress.elapsed_s = detail::MonotonicSeconds() - start;
      p.source_bytes = progress.source_bytes.load();
      p.manifest_rows = progress.manifest_rows.load();
      p.phase = static_cast<detail::RunPhase>(progress.phase.load());
      p.findings_dropped = stream.dropped();
      p.cpu_s = CpuSeconds();
      out.Write(detail::EncodeProgressLine(p));
    }
  });
  detail::RestoreJob rj{&opt,
                        locked.sandbox_fd,
                        job.manifest_out ? detail::kManifestFd : -1,
                        job.inventory_out ? detail::kInventoryFd : -1,
                        &progress,
                        true,
                        report.sandbox_kind == SandboxKind::kTmpfs ? job.tmpfs_bytes : 0};
  detail::RestoreInto(rj, &report);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  ticker.join();
  report.observer = nullptr;
  report.duration_s = detail::MonotonicSeconds() - start;
  out.Write(detail::EncodeResultLine(report));
  return 0;
}

}  // namespace rp
