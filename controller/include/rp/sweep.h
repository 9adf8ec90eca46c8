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

class NotificationPolicy;
// What a process does when it has recorded a run's end (ExecuteRun's on_finished): the run's
// notifications go to the store's outbox, and a drill whose last run it was is finished (only
// the first process to finish it does: Store::FinishDrill) and its notification queued.
void AfterRunFinished(const Config& config, Store* store, const RunRecord& run, NotificationPolicy* notifications,
                      EventLog* log);

}  // namespace rp
