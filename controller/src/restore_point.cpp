#include "rp/restore_point.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "rp/posix_io.h"
#include "rp/progress_line.h"
#include "rp/sandbox.h"
#include "rp/subprocess.h"

namespace rp {
namespace {

struct Dump {
  std::vector<std::string> argv;
  RepoAccess access;
};

// Starts the dump command writing into `fifo` (opened by the child: it blocks until the worker
// opens the other end). stderr goes to `err_path`.
pid_t StartDump(const Dump& d, const std::string& fifo, const std::string& err_path, std::string* error) {
  ChildSpec spec;
  spec.argv = d.argv;
  spec.env = CommandEnvironment(d.access.env);
  spec.search_path = true;
  spec.stdout_path = fifo;
  spec.stderr_path = err_path;
  spec.inherit_fd = d.access.secret.get();
  spec.close_other_fds = true;  // only the secret (borg) is handed down
  return StartChild(spec, error);
}

}  // namespace

VerifyReport VerifyRecoveryPoint(const CopyConfig& copy, const RecoveryPoint& point, VerifyOptions options) {
  if (copy.kind == CopyKind::kArchiveDir || copy.kind == CopyKind::kDirSnapshots) {
    options.source = point.path;
    if (!point.manifest.empty() && !options.manifest) options.manifest = point.manifest;
    return RunVerifyIsolated(options);
  }
  // A private directory for the FIFO and the dump's error output.
  std::string tmpl = TempDirectory() + "/rp-stream-XXXXXX";
  VerifyReport failed;
  failed.source = copy.path + "::" + point.id;
  if (!mkdtemp(tmpl.data())) {
    failed.status = RunStatus::kAborted;
    failed.abort_status = Status::Environment("cannot create a directory for the stream: " + std::string(std::strerror(errno)));
    return failed;
  }
  Dump dump;
  std::string access_error;
  if (!PrepareRepoAccess(copy, &dump.access, &access_error, tmpl + "/borg")) {
    failed.status = RunStatus::kAborted;
    failed.abort_status = Status::Environment(access_error);
    RemoveTree(tmpl);
    return failed;
  }
  if (copy.kind == CopyKind::kRestic)
    dump.argv = {"restic", "--no-cache", "--no-lock", "-r", copy.path, "dump", "--archive", "tar", point.id, "/"};
  else
    dump.argv = {"borg", "export-tar", copy.path + "::" + point.id, "-"};
  const std::string fifo = tmpl + "/stream.tar", err_path = tmpl + "/dump.err";
  if (mkfifo(fifo.c_str(), 0600) != 0) {
    failed.status = RunStatus::kAborted;
    failed.abort_status = Status::Environment("mkfifo: " + std::string(std::strerror(errno)));
    RemoveTree(tmpl);
    return failed;
  }
  std::string start_error;
  const pid_t pid = StartDump(dump, fifo, err_path, &start_error);
  if (pid < 0) {
    failed.status = RunStatus::kAborted;
    failed.abort_status = Status::Environment("cannot start " + dump.argv[0] + ": " + start_error);
    RemoveTree(tmpl);
    return failed;
  }
  options.source = fifo;
  // The dump's exit status decides before any manifest or inventory of this run is published:
  // a stream that stopped at an entry boundary looks complete to libarchive.
  int status = 0;
  bool waited = false;
  auto finish_dump = [&](VerifyReport* report) {
    if (waited) return;
    waited = true;
    // If the worker stopped early the dump may still wait for a reader: unblock and end it.
    const UniqueFd unblock(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i) usleep(50000);
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string err;
    if (FILE* f = std::fopen(err_path.c_str(), "r")) {
      char buf[512];
      size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      err.assign(buf, n);
      std::fclose(f);
    }
    while (!err.empty() && err.back() == '\n') err.pop_back();
    report->Add(Finding{FindingKind::kIoError, "",
                        dump.argv[0] + " could not stream recovery point " + point.id + ": " +
                            (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status)) : "killed") +
                            (err.empty() ? "" : ": " + err),
                        -1});
    if (report->status == RunStatus::kPassed) report->status = RunStatus::kFailed;
  };
  auto caller_hook = options.before_publish;
  options.before_publish = [&](VerifyReport* report) {
    finish_dump(report);
    if (caller_hook) caller_hook(report);
  };
  VerifyReport report = RunVerifyIsolated(options);
  finish_dump(&report);  // when the run ended before the hook (nothing to publish)
  report.source = copy.path + "::" + point.id;
  RemoveTree(tmpl);
  return report;
}

namespace {

// The size of an archive file when it is an uncompressed tar (ustar/pax/GNU magic) or cpio
// (newc, crc, odc): what it restores to is at most that. Only the first block is read, by
// this process, and only for its magic number.
std::optional<uint64_t> UncompressedArchiveSize(const std::string& path) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  char head[512] = {};
  const ssize_t n = pread(fd.get(), head, sizeof head, 0);
  struct stat st {};
  const bool sized = fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode);
  if (!sized || n < 6) return std::nullopt;
  const bool tar = n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0;
  const bool cpio = std::memcmp(head, "070701", 6) == 0 || std::memcmp(head, "070702", 6) == 0 ||
                    std::memcmp(head, "070707", 6) == 0;
  if (!tar && !cpio) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

std::optional<uint64_t> RecoveryPointSize(const CopyConfig& copy, const RecoveryPoint& point) {
  if (copy.kind != CopyKind::kArchiveDir && copy.kind != CopyKind::kDirSnapshots) return std::nullopt;
  return SourceSize(point.path);
}

void ApplySandboxSettings(const Config& config, const TargetConfig& target, const CopyConfig& copy,
                          const RecoveryPoint& point, VerifyOptions* options) {
  options->sandbox_parent = config.appliance.sandbox_dir;
  options->tmpfs_budget_bytes = config.appliance.tmpfs_budget;
  options->sandbox_kind = target.sandbox;
  if (copy.kind == CopyKind::kArchiveDir && !options->expected_bytes)
    options->expected_bytes = UncompressedArchiveSize(point.path);
  if (target.stall_timeout_s) options->limits.max_stall_seconds = *target.stall_timeout_s;
  if (target.spin_timeout_s) options->limits.max_spin_seconds = *target.spin_timeout_s;
  if (target.memory_limit_bytes) options->limits.max_memory_bytes = *target.memory_limit_bytes;
}

}  // namespace rp
