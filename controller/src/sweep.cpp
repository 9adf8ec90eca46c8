#include "rp/sweep.h"

#include <filesystem>
#include <string>

#include "rp/drill.h"
#include "rp/notify_policy.h"
#include "rp/runner.h"
#include "rp/sandbox.h"

namespace rp {

namespace {

// A run's scratch files (its inventory, its baseline: lists of the restored files) are removed
// by the run; those of a process that died are removed here once the run is not running.
void RemoveScratchOfEndedRuns(Store* store, const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string stem = entry.path().stem().string();
    if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos || stem.size() > 18) continue;
    const auto run = store->GetRun(std::stoll(stem));
    if (!run || run->state != RunState::kRunning) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

std::vector<RunRecord> SweepStaleRuns(const Config& config, Store* store, EventLog* log) {
  std::vector<RunRecord> interrupted = store->InterruptStale(NowS(), &OwnerIsDeadLocally);
  for (const auto& run : interrupted) log->Warn("run-interrupted", run.request.target, run.id, {{"detail", run.message}});
  RemoveScratchOfEndedRuns(store, config.appliance.data_dir + "/runs");
  std::vector<std::string> wiped;
  const Status s = WipeOrphanSandboxes(config.appliance.sandbox_dir, &wiped);
  for (const auto& w : wiped) log->Info("sandbox-wiped", "", 0, {{"sandbox", w}});
  if (!s.ok()) log->Warn("sandbox-wipe-failed", "", 0, {{"error", s.message()}});
  return interrupted;
}

void AfterRunFinished(const Config& config, Store* store, const RunRecord& run, NotificationPolicy* notifications,
                      EventLog* log) {
  notifications->OnRunFinished(config, store, run, NowS());
  if (!run.request.drill_id) return;
  if (auto report = CompleteDrillIfDone(config, store, run.request.drill_id, NowS())) {
    log->Info("drill-finished", "", 0, {{"drill", report->id}, {"passed", report->passed}});
    notifications->OnDrillFinished(config, store, *report, NowS());
  }
}

}  // namespace rp
