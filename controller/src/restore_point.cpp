#include "rp/restore_point.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/progress_line.h"
#include "rp/sample_listing.h"
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

// A sampled borg run (docs/sampling.md): the archive's listing (`borg list --json-lines`,
// ReadBorgListing) gives the whole point's figures per slice and the regular files outside the
// slice, which `borg export-tar --exclude-from` then leaves out of the stream. False with
// *why (the listing failed, or ReadBorgListing refused it): the whole stream is then read; the
// engine restores only the slice either way.
struct BorgSample {
  std::string exclude_file;
  SampleFigures figures;
  uint64_t excluded = 0;
};

bool PlanBorgSample(const CopyConfig& copy, const RecoveryPoint& point, const SampleSpec& spec,
                    const std::string& dir, BorgSample* out, std::string* why) {
  RepoAccess access;
  if (!PrepareRepoAccess(copy, &access, why, dir + "/borg")) return false;
  const auto listing = RunCapture({"borg", "list", "--json-lines", copy.path + "::" + point.id}, access.env, 3600,
                                  why, access.secret.get());
  if (!listing) {
    *why = "borg list: " + *why;
    return false;
  }
  BorgListing read;
  if (!ReadBorgListing(*listing, spec, &read, why)) return false;
  out->exclude_file = dir + "/exclude";
  int err = 0;
  const UniqueFd fd(open(out->exclude_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd || !WriteAll(fd.get(), read.exclude_lines, &err)) {
    *why = "cannot write " + out->exclude_file + ": " + std::strerror(fd ? err : errno);
    return false;
  }
  out->excluded = read.excluded;
  out->figures = std::move(read.figures);
  return true;
}

// A sampled restic run (docs/sampling.md): the snapshot's listing (`restic ls --json ID`,
// ReadResticListing) gives the whole point's figures per slice, and the slice's regular files
// and the point's symlinks, which `restic restore --include` then restores into a directory of
// this run's: only the packs that hold the slice's content are read and decrypted. The worker
// verifies that directory as the point, with the same sample. False with *why, and the whole
// snapshot is streamed instead (the engine restores only the slice either way), when the
// listing fails or is refused, or the slice holds no file, more than kMaxResticIncludes files
// and symlinks or more bytes than the run may restore: restic 0.14 takes its patterns on the
// command line and matches every path against each.
constexpr size_t kMaxResticIncludes = 4096;

bool PlanResticSample(const CopyConfig& copy, const RecoveryPoint& point, const VerifyOptions& options,
                      const RepoAccess& access, ResticListing* out, std::string* why) {
  const auto listing = RunCapture({"restic", "--no-cache", "--no-lock", "-r", copy.path, "ls", "--json", point.id},
                                  access.env, 3600, why);
  if (!listing) {
    *why = "restic ls: " + *why;
    return false;
  }
  if (!ReadResticListing(*listing, *options.sample, out, why)) return false;
  if (out->figures.sample_files == 0) {  // (and without an --include restic would restore everything)
    *why = "no file in the slice";
    return false;
  }
  if (out->includes.size() > kMaxResticIncludes) {
    *why = std::to_string(out->includes.size()) + " files and links in the slice, more than " +
           std::to_string(kMaxResticIncludes) + " include patterns";
    return false;
  }
  if (out->figures.sample_bytes > options.limits.max_total_bytes) {
    *why = "the slice's " + std::to_string(out->figures.sample_bytes) + " bytes are more than the run may restore";
    return false;
  }
  return true;
}

// Restores the slice with `restic restore --include` into `dir`/slice and verifies that
// directory in the worker; the report's figures are the listing's, its source the point's.
// restic's time counts against the run's wall-time limit: the worker gets what is left.
VerifyReport VerifyResticSlice(const CopyConfig& copy, const RecoveryPoint& point, const ResticListing& plan,
                               const std::string& dir, const RepoAccess& access, VerifyOptions options) {
  const std::string staging = dir + "/slice";
  std::vector<std::string> argv = {"restic", "--no-cache", "--no-lock", "-q", "-r", copy.path, "restore", point.id,
                                   "--target", staging};
  argv.insert(argv.end(), plan.includes.begin(), plan.includes.end());
  std::string why;
  const auto start = std::chrono::steady_clock::now();
  bool restored = RunCapture(argv, access.env, options.limits.max_seconds, &why).has_value();
  const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  options.limits.max_seconds = std::max(1.0, options.limits.max_seconds - spent);
  if (mkdir(staging.c_str(), 0700) != 0 && errno != EEXIST) {  // restic made it, or the verdict says why
    if (restored) why = "cannot make " + staging + ": " + std::strerror(errno);
    restored = false;
  }
  options.source = staging;
  // restic's failure decides before anything of the run is published, as a stream's does.
  auto caller_hook = options.before_publish;
  bool noted = false;
  auto note = [&](VerifyReport* report) {
    if (restored || noted) return;
    noted = true;
    report->Add(Finding{FindingKind::kIoError, "",
                        "restic could not restore the slice of recovery point " + point.id + ": " + why, -1});
    if (report->status == RunStatus::kPassed) report->status = RunStatus::kFailed;
  };
  options.before_publish = [&](VerifyReport* report) {
    note(report);
    if (caller_hook) caller_hook(report);
  };
  VerifyReport report = RunVerifyIsolated(options);
  note(&report);  // when the run ended before the hook
  report.source = copy.path + "::" + point.id;
  if (report.sample) report.sample = plan.figures;
  return report;
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
  // A sampled run restores only its slice (the engine's filter): restic restores the slice's
  // files into a directory (PlanResticSample), borg leaves the others out of its stream
  // (PlanBorgSample); failing that, the whole point is streamed.
  if (copy.kind == CopyKind::kRestic && options.sample && options.sample->slices > 1) {
    ResticListing plan;
    std::string why;
    if (PlanResticSample(copy, point, options, dump.access, &plan, &why)) {
      VerifyReport report = VerifyResticSlice(copy, point, plan, tmpl, dump.access, options);
      RemoveTree(tmpl);
      return report;
    }
  }
  std::optional<BorgSample> borg_sample;
  if (copy.kind == CopyKind::kRestic) {
    dump.argv = {"restic", "--no-cache", "--no-lock", "-r", copy.path, "dump", "--archive", "tar", point.id, "/"};
  } else {
    dump.argv = {"borg", "export-tar", copy.path + "::" + point.id, "-"};
    if (options.sample && options.sample->slices > 1) {
      BorgSample plan;
      std::string why;
      if (PlanBorgSample(copy, point, *options.sample, tmpl, &plan, &why)) {
        dump.argv = {"borg", "export-tar", "--exclude-from", plan.exclude_file, copy.path + "::" + point.id, "-"};
        borg_sample = std::move(plan);
      }
    }
  }
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
  // The files left out of borg's stream count for the point: its figures are the listing's.
  if (borg_sample && report.sample) report.sample = borg_sample->figures;
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
