// Internal: one restore as the engine runs it, in whichever process that is.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "rp/posix_io.h"
#include "rp/report.h"
#include "rp/sandbox.h"
#include "rp/verify.h"

namespace rp {

bool LimitWasHit(const VerifyReport& report);

namespace detail {

// What the run is doing, for the stall watchdog: reading the manifest and restoring depend on
// the source; the final pass and content checks do not.
enum class RunPhase : int { kManifest = 0, kRestore = 1, kFinal = 2 };

// Progress a restore publishes while it runs; read from another thread.
struct LiveProgress {
  std::atomic<uint64_t> entries{0}, files{0}, bytes{0};
  std::atomic<uint64_t> source_bytes{0};  // bytes of the source read so far (compressed)
  std::atomic<uint64_t> manifest_rows{0};  // manifest lines read so far
  std::atomic<int> phase{static_cast<int>(RunPhase::kManifest)};
  std::mutex mu;
  std::string current;  // guarded by mu
};

struct RestoreJob {
  const VerifyOptions* options;
  int sandbox_fd;           // the sandbox root, already created
  int manifest_out_fd = -1;  // where to write computed hashes, or -1
  int inventory_out_fd = -1;  // where to write the inventory, or -1
  LiveProgress* progress = nullptr;
  bool run_checks = false;  // options->checks run here (only inside a worker)
  uint64_t sandbox_cap_bytes = 0;  // the sandbox is a tmpfs of this size (0: a directory on disk)
};

// A sampled run's options: a valid spec, and no manifest or inventory to write. Usage error.
Status CheckSampleOptions(const VerifyOptions& options);

// Restores and verifies into job.sandbox_fd, filling *report. Does not remove the sandbox.
void RestoreInto(const RestoreJob& job, VerifyReport* report);

// What one run holds from start to end: its sandbox, and the files that become the
// --write-manifest and --write-inventory outputs only if the run passes (an earlier baseline
// is never clobbered by a failed run).
struct RunResources {
  Sandbox sandbox;
  AtomicFile manifest, inventory;  // fd() < 0 when not asked for
};
// Creates the sandbox and the temporary manifest file. On failure the report is aborted and
// false returned; call EndRun either way.
bool BeginRun(const VerifyOptions& options, VerifyReport* report, RunResources* run);
// Publishes or drops the manifest, removes the sandbox unless it is to be kept (a limit hit
// or an abort always removes it) and checks it is gone.
void EndRun(const VerifyOptions& options, VerifyReport* report, RunResources* run);

}  // namespace detail
}  // namespace rp
