// The restore-and-verify engine: restores one recovery point (an archive file of any format
// libarchive reads, or a directory tree) into a fresh sandbox directory, hashing every byte as
// it is written, refusing unsafe entries, enforcing limits, and comparing with a manifest.
// RunVerify runs in the calling process; RunVerifyIsolated runs the restore in a child
// process and enforces the wall-time limit from outside. Both are thread-compatible: one call
// owns its sandbox; calls on different sandboxes may run concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/checks.h"
#include "rp/hash.h"
#include "rp/report.h"
#include "rp/sample.h"

namespace rp {

// What happens when an isolation layer is unavailable on this machine: `require` refuses the
// run (exit 3); `best-effort` runs and the report's `isolation` says what was missing.
enum class IsolationPolicy { kRequire, kBestEffort };
std::string_view IsolationPolicyName(IsolationPolicy policy);  // "require", "best-effort"
std::optional<IsolationPolicy> ParseIsolationPolicy(std::string_view name);

struct Progress {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string current;  // the entry being restored (raw path)
  double elapsed_s = 0;
  uint64_t source_bytes = 0;  // of the source read or skipped so far (compressed, for an archive)
};

struct VerifyOptions {
  std::string source;                         // archive file or directory
  std::optional<std::string> manifest;        // manifest file to compare with
  std::optional<HashAlgo> algo;               // forced algorithm; default: manifest's or xxh128
  std::string sandbox_parent;                 // the sandbox is created under this directory
  bool keep = false;                          // keep the sandbox after the run
  bool readback = false;                      // re-read every file from disk and hash again
  std::optional<std::string> write_manifest;  // write computed hashes here when the run passes
  // Write the inventory (hash, size, mtime per file) here when the run passes: the baseline
  // an `unchanged-since-baseline` check of a later run compares with.
  std::optional<std::string> write_inventory;
  Limits limits;
  // Restore one slice of the point instead of all of it (docs/sampling.md): regular files
  // whose path is outside the slice are neither written nor hashed, the manifest comparison
  // is limited to the slice, and the report's `sample` holds the point's figures per slice.
  // Unset (the default): the whole point, at no cost per entry.
  std::optional<SampleSpec> sample;
  // Memory for what the run remembers per entry (and for the manifest's lines, as much
  // again); beyond it, sorted runs spill to an unnamed file in the sandbox. Tests set it
  // small to exercise the spill.
  size_t row_budget = 8u << 20;
  // Set by the caller (e.g. from a signal handler) to stop a RunVerifyIsolated run: the
  // worker gets SIGTERM, then SIGKILL, the sandbox is wiped, and the run aborts as an
  // environment error.
  const std::atomic<bool>* cancel = nullptr;

  // Content checks run on the restored tree inside the sandbox (RunVerifyIsolated only).
  std::vector<ContentCheck> checks;

  // The worker process (RunVerifyIsolated): the executable to run as `BINARY worker` (empty:
  // the one PinWorkerBinary chose), how it is isolated, and where it restores.
  std::string worker_binary;
  IsolationPolicy isolation = IsolationPolicy::kRequire;
  SandboxKind sandbox_kind = SandboxKind::kAuto;
  std::optional<uint64_t> expected_bytes;  // the restored size, when the caller knows it
  uint64_t tmpfs_budget_bytes = 0;         // 0: half of MemAvailable, at most 16 GiB
  uint64_t worker_address_space_bytes = 8ull << 30;
  // Whether the worker is put into pids and memory cgroups (where the machine has them). Off:
  // the fallbacks alone bound it (RLIMIT_NPROC, and the address space at the memory limit).
  bool use_cgroups = true;
  uint64_t worker_processes = 64;  // tasks (threads included) the worker's user may have
  // Progress from the worker, at least once a second, on the calling thread.
  std::function<void(const Progress&)> on_progress;
  // Called after the worker has ended and before --write-manifest / --write-inventory are
  // published (only if the report still passes): lets a caller that fed the source, such as
  // a restic dump, fail the run first.
  std::function<void(VerifyReport*)> before_publish;
};

// In the calling process, without isolation (fuzzing, and inside the worker).
VerifyReport RunVerify(const VerifyOptions& options);
// In a `restoreproof worker` process that locks itself down first (docs/isolation.md).
VerifyReport RunVerifyIsolated(const VerifyOptions& options);

// Content checks from a JSON file: an array of objects as in the worker job's "checks"
// (docs/worker-protocol.md). kUsage with the reason when malformed.
Status LoadChecksFile(const std::string& path, std::vector<ContentCheck>* checks);

// The `restoreproof worker` subcommand: one job (JSON) on in_fd, JSON lines on out_fd
// (docs/worker-protocol.md). Returns the process exit status.
int WorkerMain(int in_fd, int out_fd);

// Chooses the worker executable that runs without VerifyOptions::worker_binary, and opens it
// for the life of this process: `restoreproof-worker` beside this process's executable (it
// loads only the restore libraries: it starts in a third of the time, and the process that
// reads untrusted archives maps no web, database or TLS code), else this executable itself
// (`restoreproof worker`). Held open, it stays the same file when a package upgrade replaces
// the one on disk, as this process's own executable does. Called once at start-up by main();
// otherwise on the first restore. Returns a description for logs: the path and which kind.
std::string PinWorkerBinary();

}  // namespace rp
