// Drills (docs/controller.md "Drills"): a named campaign that restores each of its targets'
// selected recovery points through the queue, measures the time to restore and verify, and
// compares it with the target's recovery time objective. The report is a typed value with one
// JSON codec; the store keeps it. Thread-safe over a thread-safe Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rp/config.h"
#include "rp/report.h"
#include "rp/store.h"

namespace rp {

struct DrillTargetResult {
  std::string target;
  int64_t run_id = 0;  // the run that decided (the last of its retries)
  RunState state = RunState::kQueued;
  std::string point_id, location;
  int64_t point_time = 0;
  double measured_s = 0;   // restore and verification, as the engine measured it
  double objective_s = 0;  // the target's RTO
  bool met = false;        // passed, and within the objective
  std::string message;     // why it did not pass, when known
  std::vector<Finding> findings;  // every finding that fails a run
  bool operator==(const DrillTargetResult&) const = default;
};

struct DrillReport {
  int64_t id = 0;
  std::string name;
  Trigger trigger = Trigger::kSchedule;
  std::string responsible;
  int64_t started_at = 0, finished_at = 0;
  bool passed = false;  // every target passed within its objective
  std::vector<DrillTargetResult> targets;
  bool operator==(const DrillReport&) const = default;
};

void to_json(nlohmann::json& j, const DrillTargetResult& v);
void from_json(const nlohmann::json& j, DrillTargetResult& v);
void to_json(nlohmann::json& j, const DrillReport& v);
void from_json(const nlohmann::json& j, DrillReport& v);

// The drill and its runs, one per target (all targets when `targets` is empty), not yet
// stored. Unknown target names are a usage error.
Status PlanDrill(const Config& config, const std::string& name, const std::vector<std::string>& targets, Trigger trigger,
                 const std::string& responsible, int64_t now, DrillRecord* drill, std::vector<RunRequest>* runs);

// Creates the drill and queues its runs, in one transaction.
Status StartDrill(const Config& config, Store* store, const std::string& name, const std::vector<std::string>& targets,
                  Trigger trigger, const std::string& responsible, int64_t now, int64_t* drill_id);

// When none of the drill's runs is queued or running any more, builds its report and finishes
// the drill. Returns the report when this call finished it; nullopt otherwise.
std::optional<DrillReport> CompleteDrillIfDone(const Config& config, Store* store, int64_t drill_id, int64_t now);

// The report of a drill as stored (finished), or as it stands (running).
DrillReport DrillReportOf(const Config& config, Store* store, const DrillRecord& drill);

}  // namespace rp
