#include "rp/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <map>

#include "rp/codec.h"
#include "rp/manifest_create.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/progress_line.h"
#include "rp/sandbox.h"

namespace rp {
namespace {

// A signal handler can only reach a flag with static storage: this one, set by the handler
// and read by the runs.
std::atomic<bool> g_cancel{false};
void OnSignal(int) { g_cancel.store(true); }

}  // namespace

const std::atomic<bool>* CancelOnSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a waiting poll() returns and sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return &g_cancel;
}

namespace {

// Start-up: sandboxes of runs that died (even by SIGKILL) are wiped, and said so.
void WipeOrphans(const std::string& parent, std::ostream& err) {
  std::vector<std::string> orphans;
  const Status s = WipeOrphanSandboxes(parent, &orphans);
  for (const auto& o : orphans) err << "restoreproof: wiped orphan sandbox " << EscapePath(o) << " left by a run that died\n";
  if (!s.ok()) err << "restoreproof: " << s.message() << "\n";
}

void PrintFinding(const char* prefix, const Finding& f, std::ostream& err) {
  err << prefix << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapeMessage(f.message) << "\n";
}

// An archive is untrusted input for libarchive: it is restored in the isolated worker, exactly
// as `verify --write-manifest` does, and the manifest is written only when it restores
// cleanly (an unsafe, encrypted or damaged entry makes no baseline).
int ManifestOfArchive(const ManifestCreateCommandOptions& o, int out_fd, std::ostream& err) {
  WipeOrphans(o.sandbox_parent, err);
  VerifyOptions v;
  v.source = o.source;
  v.algo = o.algo;
  v.sandbox_parent = o.sandbox_parent;
  // Without -o: written in a private directory of its own, printed when the run passes.
  std::string private_dir, to_stdout;
  if (o.output.empty()) {
    private_dir = TempDirectory() + "/rp-manifest-XXXXXX";
    if (!mkdtemp(private_dir.data())) {
      err << "manifest create: cannot create a directory under " << TempDirectory() << ": " << std::strerror(errno)
          << "\n";
      return 3;
    }
    to_stdout = private_dir + "/manifest";
  }
  v.write_manifest = o.output.empty() ? to_stdout : o.output;
  v.cancel = CancelOnSignals();
  const VerifyReport r = RunVerifyIsolated(v);
  for (const auto& f : r.findings) PrintFinding("manifest create: ", f, err);
  if (r.status == RunStatus::kAborted) err << "manifest create: " << r.abort_status.message() << "\n";
  if (!private_dir.empty()) {
    int copy_errno = 0;
    if (r.status == RunStatus::kPassed && !CopyFileTo(to_stdout, out_fd, &copy_errno)) {
      RemoveTree(private_dir);
      err << "manifest create: cannot write the manifest to standard output: " << std::strerror(copy_errno) << "\n";
      return 3;
    }
    RemoveTree(private_dir);
  }
  if (r.status == RunStatus::kPassed)
    err << "manifest create: " << r.files << " files hashed with " << HashAlgoName(o.algo)
        << " (restored in an isolated worker)\n";
  else if (r.status == RunStatus::kFailed)
    err << "manifest create: no manifest written: the archive did not restore cleanly\n";
  return ExitCodeFor(r);
}

// A directory is hashed in place. Rows beyond the in-memory budget spill to an unnamed file
// in the sandbox directory (or the temporary directory when that cannot be used); the manifest
// file is created beside its final name once the walk is over, and renamed into place whole.
int ManifestOfDirectory(const ManifestCreateCommandOptions& o, int out_fd, std::ostream& err) {
  mkdir(o.sandbox_parent.c_str(), 0700);
  UniqueFd spill(open(o.sandbox_parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!spill) spill.Reset(open(TempDirectory().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!spill) {
    err << "manifest create: cannot open " << o.sandbox_parent << " or " << TempDirectory() << ": "
        << std::strerror(errno) << "\n";
    return 3;
  }
  ManifestCreateOptions co;
  co.dir = o.source;
  co.algo = o.algo;
  co.spill_dir_fd = spill.get();
  co.out_fd = out_fd;
  AtomicFile file;
  if (!o.output.empty()) {
    co.open_output = [&](int* fd) {
      if (Status s = AtomicFile::Create(o.output, &file); !s.ok()) return s;
      *fd = file.fd();
      return Status::Ok();
    };
  }
  ManifestCreateResult result = CreateManifest(co);
  if (result.status.ok() && file.fd() >= 0) result.status = file.Commit();
  if (!result.status.ok()) {
    err << "manifest create: " << result.status.message() << "\n";
    return result.status.exit_code();
  }
  bool failing = false;
  for (const auto& f : result.findings) {
    PrintFinding("manifest create: ", f, err);
    failing = failing || FindingFailsRun(f.kind);
  }
  err << "manifest create: " << result.files << " files hashed with " << HashAlgoName(o.algo) << "\n";
  return failing ? 1 : 0;
}

// --sample/--sample-bytes, --seed and --slice into the run's SampleSpec.
Status SampleFromCommand(VerifyCommandOptions* o, std::ostream& err) {
  if (!o->sample_size) {
    if (o->seed || o->slice) return Status::Usage("--seed and --slice need --sample or --sample-bytes");
    return Status::Ok();
  }
  uint64_t point_bytes = 0;
  if (o->sample_size->bytes > 0) {
    const std::optional<uint64_t> size = SourceSize(o->verify.source);
    if (!size) return Status::Usage("--sample-bytes needs the source's size, and " + o->verify.source + " has none (a pipe?): use --sample");
    point_bytes = *size;
  }
  SampleSpec spec;
  spec.slices = SlicesFor(*o->sample_size, point_bytes);
  spec.slice = o->slice.value_or(0);
  if (o->seed) {
    spec.seed = *o->seed;
  } else {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) seed = static_cast<uint64_t>(time(nullptr));
    spec.seed = seed;
  }
  std::string why;
  if (!ValidSampleSpec(spec, &why)) return Status::Usage(why + " (--slice)");
  if (!o->json) err << "verify: sample: " << DescribeSample(spec) << " (repeat with --seed " << spec.seed << " --slice " << spec.slice << ")\n";
  o->verify.sample = spec;
  return Status::Ok();
}

}  // namespace

void PrintVerifyReport(const VerifyReport& r, std::ostream& o) {
  o << EscapePath(r.source) << ": "
    << (r.status == RunStatus::kPassed ? "PASSED" : r.status == RunStatus::kFailed ? "FAILED" : "ERROR") << "\n";
  o << "  format: " << r.format << "\n  " << r.files << " files, " << r.directories << " directories, " << r.symlinks
    << " symlinks, " << r.bytes << " bytes restored in " << std::fixed << std::setprecision(2) << r.duration_s << " s\n";
  o << "  algorithm: " << HashAlgoName(r.algo) << ", "
    << (r.manifest_used ? "compared with the manifest" : "no manifest (archive integrity only)")
    << (r.readback ? ", read back from disk" : "") << "\n";
  // A person reads the first findings of each kind; --json lists every one of them.
  constexpr size_t kShownPerKind = 20;
  std::map<FindingKind, size_t> seen;
  for (const auto& f : r.findings) {
    if (++seen[f.kind] > kShownPerKind) continue;
    o << "  " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << (f.path.empty() ? "" : ": ")
      << EscapeMessage(f.message) << "\n";
  }
  for (const auto& [kind, count] : seen)
    if (count > kShownPerKind)
      o << "  ... and " << count - kShownPerKind << " more " << FindingKindName(kind) << " findings (--json lists all)\n";
  if (r.findings_dropped) o << "  ... and " << r.findings_dropped << " more findings\n";
  if (r.sample)
    o << "  sample: " << DescribeSample(r.sample->spec) << ": " << r.sample->sample_files << " of "
      << r.sample->point_files << " files, " << r.sample->sample_bytes << " of " << r.sample->point_bytes
      << " bytes verified\n";
  if (r.sandbox.empty())
    o << "  sandbox: none (stopped before one was made)\n";
  else
    o << "  sandbox: " << EscapePath(r.sandbox) << ", " << SandboxKindName(r.sandbox_kind) << " ("
      << (r.sandbox_removed ? "removed" : "kept") << ")\n";
  // Which protections were in force: every run says so (--json has each layer's details).
  std::string enforced, missing;
  for (const auto& l : r.isolation.records()) {
    const std::string name(IsolationLayerName(l.layer));
    if (l.state == LayerState::kEnforced) enforced += (enforced.empty() ? "" : ", ") + name;
    else if (l.state == LayerState::kUnavailable) missing += "\n    " + name + ": " + l.detail;
  }
  if (!enforced.empty()) o << "  isolation enforced: " << enforced << "\n";
  if (!missing.empty()) o << "  isolation NOT in force:" << missing << "\n";
}

int VerifyCommand(VerifyCommandOptions o, std::ostream& out, std::ostream& err) {
  if (!o.checks_file.empty()) {
    if (Status s = LoadChecksFile(o.checks_file, &o.verify.checks); !s.ok()) {
      err << "verify: " << s.message() << "\n";
      return s.exit_code();
    }
  }
  if (Status s = SampleFromCommand(&o, err); !s.ok()) {
    err << "verify: " << s.message() << "\n";
    return s.exit_code();
  }
  WipeOrphans(o.verify.sandbox_parent, err);
  o.verify.cancel = CancelOnSignals();
  ProgressLine progress(o.progress_fd, o.json);
  const std::optional<uint64_t> size = progress.enabled() ? SourceSize(o.verify.source) : std::nullopt;
  o.verify.on_progress = [&](const Progress& p) { progress.Show(FiguresOf(p, size)); };
  const VerifyReport report = RunVerifyIsolated(o.verify);
  progress.Finish(FiguresOf(FinalProgress(report), size));
  if (o.json) out << EncodeJson(report, 2) << "\n";
  else PrintVerifyReport(report, out);
  if (report.status == RunStatus::kAborted) err << "error: " << report.abort_status.message() << "\n";
  return ExitCodeFor(report);
}

int ManifestCreateCommand(const ManifestCreateCommandOptions& o, int out_fd, std::ostream& err) {
  struct stat st {};
  if (stat(o.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) return ManifestOfArchive(o, out_fd, err);
  return ManifestOfDirectory(o, out_fd, err);
}

}  // namespace rp
