// The engine's subcommands as the command line runs them, arguments already parsed: `verify`,
// `manifest create` and the internal `worker`. Each returns the process's exit status (DESIGN.md:
// 0 verified, 1 a finding, 2 usage, 3 environment), prints its result on `out` (a summary, or
// one JSON document) and what went wrong on `err`. SIGINT and SIGTERM stop a restore cleanly:
// the worker is stopped and the sandbox wiped. Call from the main thread; one at a time.
#pragma once

#include <unistd.h>

#include <atomic>

#include <ostream>
#include <string>

#include "rp/hash.h"
#include "rp/sample.h"
#include "rp/verify.h"

namespace rp {

struct VerifyCommandOptions {
  VerifyOptions verify;     // everything but `cancel` and `on_progress`, which the command sets
  std::string checks_file;  // --checks: content checks to run in the sandbox (JSON)
  bool json = false;
  // --sample PERCENT / --sample-bytes SIZE, --seed N, --slice K (docs/sampling.md): restore one
  // slice of the point. The slice count is SlicesFor(size, the source's size); without --seed
  // a random seed is drawn (and shown, so the run can be repeated); --slice defaults to 0.
  // --seed or --slice without a size is a usage error.
  std::optional<SampleSize> sample_size;
  std::optional<uint64_t> seed;
  std::optional<uint32_t> slice;
  // Where the progress line is drawn while the run lasts, when it is a terminal and `json` is
  // off (rp/progress_line.h); -1: nowhere.
  int progress_fd = STDERR_FILENO;
};
int VerifyCommand(VerifyCommandOptions options, std::ostream& out, std::ostream& err);

// SIGINT/SIGTERM during a run: the restore is stopped (its worker too) and its sandbox wiped
// before the command returns. Installs the handlers; the flag they set.
const std::atomic<bool>* CancelOnSignals();

struct ManifestCreateCommandOptions {
  std::string source;          // a directory (hashed in place) or an archive (restored first)
  std::string output;          // empty: standard output
  HashAlgo algo = HashAlgo::kXxh128;
  std::string sandbox_parent;  // where an archive is restored, and where sorted runs spill
};
// Without an output file the manifest is written to out_fd (standard output for the CLI): a
// large tree's manifest streams there rather than through memory.
int ManifestCreateCommand(const ManifestCreateCommandOptions& options, int out_fd, std::ostream& err);

// A report as the `verify` summary prints it.
void PrintVerifyReport(const VerifyReport& report, std::ostream& out);

}  // namespace rp
