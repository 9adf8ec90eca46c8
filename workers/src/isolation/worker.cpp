// The worker side of an isolated restore: `restoreproof worker`. Reads one job on stdin,
// locks itself down (lockdown.h), restores and verifies through the same engine as
// RunVerify, runs the content checks, and reports on stdout as JSON lines: progress at least
// once a second, each finding as it is found, and one final result (docs/worker-protocol.md).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "pipeline/entry_stream.h"
#include "isolation/lockdown.h"
#include "sources/name_locale.h"
#include "pipeline/restore_job.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/report_json.h"
#include "isolation/worker_protocol.h"

namespace rp {
namespace {

using nlohmann::json;

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

std::string FindingLine(const Finding& f) {
  json jf{{"kind", FindingKindName(f.kind)}, {"path", EscapePath(f.path)}, {"message", EscapePath(f.message)}};
  if (f.offset >= 0) jf["offset"] = f.offset;
  return json{{"type", "finding"}, {"finding", jf}}.dump();
}

std::string ResultLine(const VerifyReport& r) { return R"({"type":"result","report":)" + ReportToJson(r, -1) + "}"; }

std::string ReadAll(int fd, size_t max) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max) break;
  }
  return text;
}

const char* PhaseName(int phase) {
  switch (static_cast<detail::RunPhase>(phase)) {
    case detail::RunPhase::kManifest: return "manifest";
    case detail::RunPhase::kRestore: return "restore";
    case detail::RunPhase::kFinal: return "final";
  }
  return "final";
}

}  // namespace

int WorkerMain(int in_fd, int out_fd) {
  signal(SIGXFSZ, SIG_IGN);  // the file-size rlimit shows as EFBIG, a limit finding
  signal(SIGPIPE, SIG_IGN);
  LineWriter out(out_fd);
  const double start = detail::MonotonicSeconds();
  std::string error;
  auto job = detail::JobFromJson(ReadAll(in_fd, 16u << 20), &error);
  VerifyReport report;
  if (!job) {
    report.status = RunStatus::kAborted;
    report.abort_status = Status::Usage("worker: " + error);
    out.Write(ResultLine(report));
    return 0;
  }
  const VerifyOptions& opt = job->options;
  report.source = opt.source;
  report.limits = opt.limits;
  report.readback = opt.readback;
  report.sandbox = job->sandbox_path;

  detail::LockdownPlan plan;
  plan.read_paths.push_back(opt.source);
  if (opt.manifest) plan.read_paths.push_back(*opt.manifest);
  for (const auto& c : opt.checks) {
    if (c.kind == CheckKind::kUnchangedSinceBaseline && !c.baseline.empty()) plan.read_paths.push_back(c.baseline);
    if (c.kind == CheckKind::kCommand && !c.argv.empty()) plan.check_commands.push_back(c.argv);
  }
  plan.sandbox_path = job->sandbox_path;
  plan.tmpfs = job->tmpfs;
  plan.tmpfs_bytes = job->tmpfs_bytes;
  // A backstop behind the engine's own file-size limit; the row sorter's spill file and the
  // manifest and inventory being written must fit under it too.
  plan.file_bytes = std::max<uint64_t>(opt.limits.max_file_bytes, 4ull << 30);
  plan.address_space_bytes = opt.worker_address_space_bytes;
  // CPU time of all threads together (three work at once, plus checks): a backstop far
  // beyond the wall-time limit, which the parent enforces.
  plan.cpu_seconds = static_cast<uint64_t>(opt.limits.max_seconds) * 4 + 60;
  plan.processes = opt.worker_processes;
  plan.require = opt.isolation == IsolationPolicy::kRequire;
  plan.process_limit = job->process_limit;
  // The readers' UTF-8 locale is loaded now: Landlock hides /usr/lib/locale from here on.
  detail::Utf8NameLocale();
  // Past this point this process may be a child in a new PID namespace (lockdown.h).
  const detail::LockdownResult locked = detail::Lockdown(plan, detail::kSandboxFd);
  report.isolation = locked.layers;
  report.isolation["worker_process"] = "enforced: a separate restoreproof worker process";
  report.isolation["no_follow_extraction"] = "enforced";
  report.sandbox_kind = locked.tmpfs_mounted ? "tmpfs" : "disk";
  if (!locked.status.ok()) {
    report.status = RunStatus::kAborted;
    report.abort_status = locked.status;
    report.duration_s = detail::MonotonicSeconds() - start;
    out.Write(ResultLine(report));
    return 0;
  }

  report.on_finding = [&out](const Finding& f) { out.Write(FindingLine(f)); };
  std::atomic<uint64_t> dropped{0};  // beyond the cap: not streamed, counted in progress lines
  report.on_dropped = [&dropped](uint64_t n) { dropped.store(n, std::memory_order_relaxed); };
  detail::LiveProgress progress;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread ticker([&] {
    std::unique_lock lock(mu);
    // The first line at once: the parent's stall watchdog starts counting from it.
    bool first = true;
    while (first || !cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return done; })) {
      first = false;
      std::string current;
      {
        std::lock_guard pl(progress.mu);
        current = progress.current;
      }
      out.Write(json{{"type", "progress"},
                     {"entries", progress.entries.load()},
                     {"files", progress.files.load()},
                     {"bytes", progress.bytes.load()},
                     {"source_bytes", progress.source_bytes.load()},
                     {"manifest_rows", progress.manifest_rows.load()},
                     {"phase", PhaseName(progress.phase.load())},
                     {"current", EscapePath(current)},
                     {"findings_dropped", dropped.load(std::memory_order_relaxed)},
                     {"elapsed_s", detail::MonotonicSeconds() - start}}
                    .dump());
    }
  });
  detail::RestoreJob rj{&opt,
                        locked.sandbox_fd,
                        job->manifest_out ? detail::kManifestFd : -1,
                        job->inventory_out ? detail::kInventoryFd : -1,
                        &progress,
                        true,
                        report.sandbox_kind == "tmpfs" ? job->tmpfs_bytes : 0};
  detail::RestoreInto(rj, &report);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  ticker.join();
  report.on_finding = nullptr;
  report.on_dropped = nullptr;
  report.duration_s = detail::MonotonicSeconds() - start;
  out.Write(ResultLine(report));
  return 0;
}

}  // namespace rp
