// Internal: one restore as the engine runs it, in whichever process that is.
#pragma once

#include "rp/report.h"
#include "rp/verify.h"

namespace rp {

bool LimitWasHit(const VerifyReport& report);

namespace detail {

struct RestoreJob {
  const VerifyOptions* options;
  int sandbox_fd;           // the sandbox root, already created
  int manifest_out_fd = -1;  // where to write computed hashes, or -1
};

// Restores and verifies into job.sandbox_fd, filling *report. Does not remove the sandbox.
void RestoreInto(const RestoreJob& job, VerifyReport* report);
// Removes the sandbox unless it is to be kept (a limit hit or an abort always removes it).
void FinishSandbox(const VerifyOptions& options, VerifyReport* report);

}  // namespace detail
}  // namespace rp
