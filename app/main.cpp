// restoreproof: the command line. Parses arguments and wires the modules together; the work
// itself lives in the libraries.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <map>
#include <iostream>
#include <optional>
#include <string>

#include "rp/demo.h"
#include "rp/manifest.h"
#include "rp/manifest_create.h"
#include "rp/path_text.h"
#include "rp/codec.h"
#include "rp/units.h"
#include "rp/sandbox.h"
#include "rp/targets.h"
#include "rp/catalog.h"
#include "rp/verify.h"

namespace {

constexpr int kExitUsage = 2;

// SIGINT/SIGTERM during a run: stop the restore child and wipe its sandbox before exiting.
std::atomic<bool> g_cancel{false};
void OnSignal(int) { g_cancel.store(true); }
void InstallCancelHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a waiting poll() returns and sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}
constexpr int kExitEnvironment = 3;

// The configured sandbox_dir when the configuration file exists and is valid, else a
// directory under TMPDIR.
std::string DefaultSandboxParent(const std::string& config_path) {
  if (access(config_path.c_str(), R_OK) == 0) {
    const rp::ConfigResult cr = rp::LoadConfigFile(config_path);
    if (cr.errors.empty()) return cr.config.appliance.sandbox_dir;
  }
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/restoreproof-sandboxes";
}

// CLI11 validators for our units.
const auto kByteSize = CLI::Validator(
    [](std::string& s) { return rp::ParseByteSize(s) ? std::string() : "not a size like 512M, 10G: " + s; },
    "SIZE");
const auto kDuration = CLI::Validator(
    [](std::string& s) { return rp::ParseDurationSeconds(s) ? std::string() : "not a duration like 90s, 10m, 2h: " + s; },
    "DURATION");

struct LimitArgs {
  std::string max_bytes, max_entries, max_file_size, max_depth, max_ratio, timeout, stall_timeout, spin_timeout,
      max_memory;
};

void AddLimitOptions(CLI::App* cmd, LimitArgs* l) {
  cmd->add_option("--max-bytes", l->max_bytes, "stop after restoring this many bytes (default 64G)")->check(kByteSize);
  cmd->add_option("--max-entries", l->max_entries, "stop after this many archive entries (default 2000000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-file-size", l->max_file_size, "largest single file (default 32G)")->check(kByteSize);
  cmd->add_option("--max-depth", l->max_depth, "deepest path, in components (default 128)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-ratio", l->max_ratio, "largest compression ratio past the first 64 MiB (default 1000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--timeout", l->timeout, "wall-time limit of the run (default 4h)")->check(kDuration);
  cmd->add_option("--stall-timeout", l->stall_timeout,
                  "stop the run when reading the source makes no progress for this long (default 10m; 0: never)")
      ->check(kDuration);
  cmd->add_option("--spin-timeout", l->spin_timeout,
                  "stop the run sooner when the worker burns CPU without progress for this long (default 30s; 0: never)")
      ->check(kDuration);
  cmd->add_option("--max-memory", l->max_memory,
                  "memory the worker may use, enforced by the kernel (default 1G; a tmpfs sandbox comes on top)")
      ->check(kByteSize);
}

rp::Limits ToLimits(const LimitArgs& a) {
  rp::Limits l;
  if (!a.max_bytes.empty()) l.max_total_bytes = *rp::ParseByteSize(a.max_bytes);
  if (!a.max_entries.empty()) l.max_entries = std::stoull(a.max_entries);
  if (!a.max_file_size.empty()) l.max_file_bytes = *rp::ParseByteSize(a.max_file_size);
  if (!a.max_depth.empty()) l.max_depth = static_cast<uint32_t>(std::stoul(a.max_depth));
  if (!a.max_ratio.empty()) l.max_ratio = std::stod(a.max_ratio);
  if (!a.timeout.empty()) l.max_seconds = *rp::ParseDurationSeconds(a.timeout);
  if (!a.stall_timeout.empty()) l.max_stall_seconds = *rp::ParseDurationSeconds(a.stall_timeout);
  if (!a.spin_timeout.empty()) l.max_spin_seconds = *rp::ParseDurationSeconds(a.spin_timeout);
  if (!a.max_memory.empty()) l.max_memory_bytes = *rp::ParseByteSize(a.max_memory);
  return l;
}

void PrintHuman(const rp::VerifyReport& r) {
  std::FILE* o = stdout;
  std::fprintf(o, "%s: %s\n", rp::EscapePath(r.source).c_str(),
               r.status == rp::RunStatus::kPassed ? "PASSED" : r.status == rp::RunStatus::kFailed ? "FAILED" : "ERROR");
  if (r.status == rp::RunStatus::kAborted) {
    std::fprintf(stderr, "error: %s\n", r.abort_status.message().c_str());
  }
  std::fprintf(o, "  format: %s\n  %llu files, %llu directories, %llu symlinks, %llu bytes restored in %.2f s\n",
               r.format.c_str(), static_cast<unsigned long long>(r.files),
               static_cast<unsigned long long>(r.directories), static_cast<unsigned long long>(r.symlinks),
               static_cast<unsigned long long>(r.bytes), r.duration_s);
  std::fprintf(o, "  algorithm: %s, %s%s\n", std::string(rp::HashAlgoName(r.algo)).c_str(),
               r.manifest_used ? "compared with the manifest" : "no manifest (archive integrity only)",
               r.readback ? ", read back from disk" : "");
  // A person reads the first findings of each kind; --json lists every one of them.
  constexpr size_t kShownPerKind = 20;
  std::map<rp::FindingKind, size_t> seen;
  for (const auto& f : r.findings) {
    if (++seen[f.kind] > kShownPerKind) continue;
    std::fprintf(o, "  %s: %s%s%s\n", std::string(rp::FindingKindName(f.kind)).c_str(), rp::EscapePath(f.path).c_str(),
                 f.path.empty() ? "" : ": ", rp::EscapeMessage(f.message).c_str());
  }
  for (const auto& [kind, count] : seen)
    if (count > kShownPerKind)
      std::fprintf(o, "  ... and %zu more %s findings (--json lists all)\n", count - kShownPerKind,
                   std::string(rp::FindingKindName(kind)).c_str());
  if (r.findings_dropped)
    std::fprintf(o, "  ... and %llu more findings\n", static_cast<unsigned long long>(r.findings_dropped));
  if (r.sandbox.empty())
    std::fprintf(o, "  sandbox: none (stopped before one was made)\n");
  else
    std::fprintf(o, "  sandbox: %s, %s (%s)\n", rp::EscapePath(r.sandbox).c_str(),
                 std::string(rp::SandboxKindName(r.sandbox_kind)).c_str(),
                 r.sandbox_removed ? "removed" : "kept");
  // Which protections were in force: every run says so (--json has each layer's details).
  std::string enforced, missing;
  for (const auto& l : r.isolation.records()) {
    const std::string name(rp::IsolationLayerName(l.layer));
    if (l.state == rp::LayerState::kEnforced) enforced += (enforced.empty() ? "" : ", ") + name;
    else if (l.state == rp::LayerState::kUnavailable) missing += "\n    " + name + ": " + l.detail;
  }
  if (!enforced.empty()) std::fprintf(o, "  isolation enforced: %s\n", enforced.c_str());
  if (!missing.empty()) std::fprintf(o, "  isolation NOT in force:%s\n", missing.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"restoreproof: proves that backups can really be restored"};
  app.set_version_flag("--version", std::string("restoreproof ") + RP_VERSION);
  app.require_subcommand(1);
  std::string config_path = "/etc/restoreproof/restoreproof.toml";
  bool json = false;
  app.add_option("--config", config_path, "configuration file (default /etc/restoreproof/restoreproof.toml)");
  app.add_flag("--json", json, "print one JSON document on stdout");

  // verify
  auto* verify = app.add_subcommand("verify", "restore one archive or directory into a sandbox and verify it");
  rp::VerifyOptions vo;
  std::string manifest, sandbox, write_manifest, algo;
  LimitArgs limits;
  verify->add_option("SOURCE", vo.source, "archive file (any libarchive format) or directory")->required();
  verify->add_option("--manifest", manifest, "xxhsum/sha256sum manifest to compare with");
  verify->add_option("--sandbox", sandbox, "create the sandbox under this directory");
  verify->add_flag("--keep", vo.keep, "keep the sandbox after the run");
  verify->add_flag("--readback", vo.readback, "read every restored file back from disk and hash it again");
  verify->add_option("--write-manifest", write_manifest, "write the computed hashes here when the run passes");
  verify->add_option("--algo", algo, "hash algorithm without a manifest: xxh128 (default), sha256, ...");
  verify->add_flag("--json", json, "print one JSON document on stdout");
  std::string isolation = "require", sandbox_kind = "auto", expected_size, tmpfs_budget, write_inventory, checks_file;
  verify->add_option("--isolation", isolation,
                     "require (default): refuse to run when an isolation layer is unavailable; best-effort: run "
                     "and record what was missing")
      ->check(CLI::IsMember({"require", "best-effort"}));
  verify->add_option("--sandbox-kind", sandbox_kind,
                     "auto (default: tmpfs when --expected-size fits the memory budget), disk or tmpfs")
      ->check(CLI::IsMember({"auto", "disk", "tmpfs"}));
  verify->add_option("--expected-size", expected_size, "restored size of the recovery point, when known")->check(kByteSize);
  verify->add_option("--tmpfs-budget", tmpfs_budget, "memory a tmpfs sandbox may use (default: half of MemAvailable)")
      ->check(kByteSize);
  verify->add_option("--write-inventory", write_inventory,
                     "write hash, size and mtime of every file here when the run passes (the baseline of an "
                     "unchanged-since-baseline check)");
  verify->add_option("--checks", checks_file, "JSON file with content checks to run in the sandbox (docs/worker-protocol.md)");
  AddLimitOptions(verify, &limits);

  // worker (internal): one isolated restore, driven by its parent over stdin/stdout
  auto* worker = app.add_subcommand("worker", "internal: run one restore job (JSON on stdin, JSON lines on stdout)");
  worker->group("");

  // manifest create
  auto* manifest_cmd = app.add_subcommand("manifest", "checksum manifests");
  manifest_cmd->require_subcommand(1);
  auto* create = manifest_cmd->add_subcommand("create", "write a manifest that xxhsum -c / sha256sum -c verify");
  std::string create_source, create_out, create_algo = "xxh128";
  create->add_option("SOURCE", create_source, "directory or archive")->required();
  create->add_option("-o,--output", create_out, "output file (default: standard output)");
  create->add_option("--algo", create_algo, "xxh128 (default) or sha256, sha512, blake2b, xxh64, xxh32");

  // config check, targets list, targets check
  auto* config_cmd = app.add_subcommand("config", "the configuration file");
  config_cmd->require_subcommand(1);
  auto* config_check = config_cmd->add_subcommand("check", "check the configuration: every error with file:line:col");
  config_check->add_flag("--json", json, "print one JSON document on stdout");
  auto* targets_cmd = app.add_subcommand("targets", "backup targets from the configuration");
  targets_cmd->require_subcommand(1);
  auto* targets_list = targets_cmd->add_subcommand("list", "list the configured targets");
  targets_list->add_flag("--json", json, "print one JSON document on stdout");
  auto* targets_check =
      targets_cmd->add_subcommand("check", "judge each target's copies against its policy (exit 1 when one fails)");
  rp::TargetsCheckOptions tco;
  std::string now_text;
  bool no_content = false;
  targets_check->add_option("NAME", tco.name, "one target (default: all)");
  targets_check->add_flag("--json", json, "print one JSON document on stdout");
  targets_check->add_option("--now", now_text, "judge as of this time, e.g. 2026-11-22T08:00:00+01:00 (default: now)");
  targets_check->add_flag("--no-content", no_content, "do not hash archives to compare copies' content");

  // demo
  auto* demo = app.add_subcommand("demo", "create a sample estate and verify it");
  std::string demo_dir = "demo-estate";
  int demo_port = 0;
  demo->add_option("--dir", demo_dir, "where to create the estate (default ./demo-estate)");
  demo->add_option("--port", demo_port, "dashboard port (the dashboard arrives with the web issue)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  try {
    if (verify->parsed()) {
      if (!manifest.empty()) vo.manifest = manifest;
      if (!write_manifest.empty()) vo.write_manifest = write_manifest;
      if (!algo.empty()) {
        vo.algo = rp::ParseHashAlgo(algo);
        if (!vo.algo) {
          std::cerr << "verify: unknown --algo '" << algo << "' (xxh128, sha256, sha512, blake2b, xxh64, xxh32)\n";
          return kExitUsage;
        }
      }
      vo.sandbox_parent = sandbox.empty() ? DefaultSandboxParent(config_path) : sandbox;
      vo.limits = ToLimits(limits);
      vo.isolation = isolation == "require" ? rp::IsolationPolicy::kRequire : rp::IsolationPolicy::kBestEffort;
      vo.sandbox_kind = sandbox_kind == "disk" ? rp::SandboxKind::kDisk
                        : sandbox_kind == "tmpfs" ? rp::SandboxKind::kTmpfs
                                                  : rp::SandboxKind::kAuto;
      if (!expected_size.empty()) vo.expected_bytes = *rp::ParseByteSize(expected_size);
      if (!tmpfs_budget.empty()) vo.tmpfs_budget_bytes = *rp::ParseByteSize(tmpfs_budget);
      if (!write_inventory.empty()) vo.write_inventory = write_inventory;
      if (!checks_file.empty()) {
        if (const rp::Status s = rp::LoadChecksFile(checks_file, &vo.checks); !s.ok()) {
          std::cerr << "verify: " << s.message() << "\n";
          return s.code() == rp::Status::Code::kUsage ? kExitUsage : kExitEnvironment;
        }
      }
      // Start-up: sandboxes of runs that died (even by SIGKILL) are wiped, and said so.
      std::vector<std::string> orphans;
      const rp::Status ws = rp::WipeOrphanSandboxes(vo.sandbox_parent, &orphans);
      for (const auto& o : orphans)
        std::cerr << "restoreproof: wiped orphan sandbox " << rp::EscapePath(o) << " left by a run that died\n";
      if (!ws.ok()) std::cerr << "restoreproof: " << ws.message() << "\n";
      vo.cancel = &g_cancel;
      InstallCancelHandlers();
      const rp::VerifyReport report = rp::RunVerifyIsolated(vo);
      if (json) std::cout << rp::EncodeJson(report, 2) << "\n";
      else PrintHuman(report);
      if (report.status == rp::RunStatus::kAborted && json)
        std::cerr << "error: " << report.abort_status.message() << "\n";
      return rp::ExitCodeFor(report);
    }
    if (worker->parsed()) return rp::WorkerMain(0, 1);
    if (config_check->parsed()) return rp::ConfigCheckCommand(config_path, json, std::cout, std::cerr);
    if (targets_list->parsed() || targets_check->parsed()) {
      const rp::ConfigResult cr = rp::LoadConfigFile(config_path);
      if (!cr.errors.empty()) {
        for (const auto& e : cr.errors) std::cerr << e.Format() << "\n";
        std::cerr << "restoreproof: the configuration has " << cr.errors.size() << " error(s); see `config check`\n";
        return kExitUsage;
      }
      if (targets_list->parsed()) return rp::TargetsListCommand(cr.config, json, std::cout);
      if (!now_text.empty()) {
        auto now = rp::ParseTimestamp(now_text, cr.config.appliance.zone);
        if (!now) {
          std::cerr << "targets check: --now must look like 2026-11-22T08:00:00+01:00, not '" << now_text << "'\n";
          return kExitUsage;
        }
        tco.now = *now;
      }
      tco.json = json;
      tco.compare_content = !no_content;
      return rp::TargetsCheckCommand(cr.config, tco, std::cout, std::cerr);
    }
    if (create->parsed()) {
      const auto a = rp::ParseHashAlgo(create_algo);
      if (!a) {
        std::cerr << "manifest create: unknown --algo '" << create_algo << "'\n";
        return kExitUsage;
      }
      struct stat src_st {};
      if (stat(create_source.c_str(), &src_st) == 0 && !S_ISDIR(src_st.st_mode)) {
        // An archive is untrusted input for libarchive: it is restored in the isolated worker,
        // exactly as `verify --write-manifest` does, and the manifest is written only when the
        // archive restores cleanly (an unsafe, encrypted or damaged entry makes no baseline).
        rp::VerifyOptions mo;
        mo.source = create_source;
        mo.algo = *a;
        mo.sandbox_parent = DefaultSandboxParent(config_path);
        std::string tmp_out;
        if (create_out.empty()) {
          std::string tmpl = mo.sandbox_parent + "/manifest-XXXXXX";
          mkdir(mo.sandbox_parent.c_str(), 0700);
          const int fd = mkstemp(tmpl.data());
          if (fd < 0) {
            std::cerr << "manifest create: cannot create a temporary file in " << mo.sandbox_parent << "\n";
            return kExitEnvironment;
          }
          close(fd);
          tmp_out = tmpl;
        }
        mo.write_manifest = create_out.empty() ? tmp_out : create_out;
        mo.cancel = &g_cancel;
        InstallCancelHandlers();
        const rp::VerifyReport r = rp::RunVerifyIsolated(mo);
        for (const auto& f : r.findings)
          std::cerr << "manifest create: " << rp::FindingKindName(f.kind) << ": " << rp::EscapePath(f.path) << ": "
                    << rp::EscapeMessage(f.message) << "\n";
        if (r.status == rp::RunStatus::kAborted) std::cerr << "manifest create: " << r.abort_status.message() << "\n";
        if (!tmp_out.empty()) {
          if (r.status == rp::RunStatus::kPassed) {
            std::ifstream in(tmp_out, std::ios::binary);
            std::cout << in.rdbuf();
          }
          unlink(tmp_out.c_str());
        }
        if (r.status == rp::RunStatus::kPassed)
          std::cerr << "manifest create: " << r.files << " files hashed with " << rp::HashAlgoName(*a)
                    << " (restored in an isolated worker)\n";
        else if (r.status == rp::RunStatus::kFailed)
          std::cerr << "manifest create: no manifest written: the archive did not restore cleanly\n";
        return rp::ExitCodeFor(r);
      }
      // A directory is hashed in place. Rows beyond the in-memory budget spill to an unnamed
      // file in the sandbox directory (or TMPDIR when that cannot be used); a manifest file
      // is created beside its final name once the walk is over, and renamed into place when
      // complete.
      std::string spill_parent = DefaultSandboxParent(config_path);
      mkdir(spill_parent.c_str(), 0700);
      int spill_fd = open(spill_parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (spill_fd < 0) {
        const char* tmp = std::getenv("TMPDIR");
        spill_parent = tmp && *tmp ? tmp : "/tmp";
        spill_fd = open(spill_parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      }
      if (spill_fd < 0) {
        std::cerr << "manifest create: cannot open " << spill_parent << ": " << std::strerror(errno) << "\n";
        return kExitEnvironment;
      }
      rp::ManifestCreateOptions co;
      co.dir = create_source;
      co.algo = *a;
      co.spill_dir_fd = spill_fd;
      std::string tmp_path;
      int tmp_fd = -1;
      if (!create_out.empty()) {
        co.open_output = [&](int* fd) {
          tmp_path = create_out + ".tmp-XXXXXX";
          tmp_fd = mkostemp(tmp_path.data(), O_CLOEXEC);
          if (tmp_fd < 0) {
            tmp_path.clear();
            return rp::Status::Environment("cannot create " + create_out + ": " + std::strerror(errno));
          }
          *fd = tmp_fd;
          return rp::Status::Ok();
        };
      }
      rp::ManifestCreateResult result = rp::CreateManifest(co);
      close(spill_fd);
      if (tmp_fd >= 0) {
        if (result.status.ok() && (fchmod(tmp_fd, 0644) != 0 || fsync(tmp_fd) != 0 ||
                                   rename(tmp_path.c_str(), create_out.c_str()) != 0))
          result.status = rp::Status::Environment("cannot write " + create_out + ": " + std::strerror(errno));
        close(tmp_fd);
        if (!result.status.ok()) unlink(tmp_path.c_str());
      }
      if (!result.status.ok()) {
        std::cerr << "manifest create: " << result.status.message() << "\n";
        return result.status.code() == rp::Status::Code::kUsage ? kExitUsage : kExitEnvironment;
      }
      bool failing = false;
      for (const auto& f : result.findings) {
        std::cerr << "manifest create: " << rp::FindingKindName(f.kind) << ": " << rp::EscapePath(f.path) << ": "
                  << rp::EscapeMessage(f.message) << "\n";
        failing = failing || rp::FindingFailsRun(f.kind);
      }
      std::cerr << "manifest create: " << result.files << " files hashed with " << rp::HashAlgoName(*a) << "\n";
      return failing ? 1 : 0;
    }
    if (demo->parsed()) {
      if (demo_port != 0)
        std::cerr << "demo: --port " << demo_port << " noted; the web dashboard is not part of this build yet\n";
      rp::DemoOptions d;
      d.dir = demo_dir;
      const int failed = rp::RunDemo(d, std::cout);
      if (failed < 0) return kExitEnvironment;
      return failed == 1 ? 0 : 1;  // the demo estate holds exactly one damaged backup
    }
  } catch (const std::exception& e) {
    std::cerr << "restoreproof: internal error: " << e.what() << "\n";
    return 70;
  }
  return kExitUsage;
}
