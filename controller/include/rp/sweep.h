// The sweep every process that runs restores does at start-up and every lease/3 (`serve` and
// `agent`; docs/controller.md "Crash safety", docs/multi-host.md): running runs whose lease
// expired, or whose owner is a process of this host that ended, become interrupted and are
// queued again; the scratch files of runs no longer running are removed; sandboxes under
// sandbox_dir that no live run holds are wiped. Thread-safe as the Store is.
#pragma once

#include <vector>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/store.h"

namespace rp {

// Logs `run-interrupted`, `sandbox-wiped` and `sandbox-wipe-failed`; returns the runs it
// interrupted (or cancelled: an operator had asked to stop them).
std::vector<RunRecord> SweepStaleRuns(const Config& config, Store* store, EventLog* log);

}  // namespace rp
