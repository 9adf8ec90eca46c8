#include "rp/drill.h"

#include <algorithm>
#include <map>

#include "rp/codec.h"
#include "rp/path_text.h"

namespace rp {

void to_json(nlohmann::json& j, const DrillTargetResult& v) {
  j = nlohmann::json{{"target", v.target},
                     {"run", v.run_id},
                     {"status", RunStateName(v.state)},
                     {"point", EscapePath(v.point_id)},
                     {"point_time", v.point_time},
                     {"location", v.location},
                     {"measured_s", v.measured_s},
                     {"objective_s", v.objective_s},
                     {"met", v.met},
                     {"message", EscapePath(v.message)},
                     {"findings", v.findings}};
}

void from_json(const nlohmann::json& j, DrillTargetResult& v) {
  v.target = j.at("target").get<std::string>();
  v.run_id = codec::Num<int64_t>(j.at("run"));
  const auto state = ParseRunState(j.at("status").get<std::string>());
  if (!state) throw nlohmann::json::other_error::create(501, "status: not a run state", &j);
  v.state = *state;
  v.point_id = codec::Raw(j.at("point"));
  v.point_time = codec::Num<int64_t>(j.at("point_time"));
  v.location = j.at("location").get<std::string>();
  v.measured_s = codec::Num<double>(j.at("measured_s"));
  v.objective_s = codec::Num<double>(j.at("objective_s"));
  v.met = j.at("met").get<bool>();
  v.message = codec::Raw(j.at("message"));
  v.findings = j.at("findings").get<std::vector<Finding>>();
}

void to_json(nlohmann::json& j, const DrillReport& v) {
  j = nlohmann::json{{"id", v.id},
                     {"name", v.name},
                     {"trigger", TriggerName(v.trigger)},
                     {"responsible", v.responsible},
                     {"started_at", v.started_at},
                     {"finished_at", v.finished_at},
                     {"passed", v.passed},
                     {"targets", v.targets}};
}

void from_json(const nlohmann::json& j, DrillReport& v) {
  v.id = codec::Num<int64_t>(j.at("id"));
  v.name = j.at("name").get<std::string>();
  const auto trigger = ParseTrigger(j.at("trigger").get<std::string>());
  if (!trigger) throw nlohmann::json::other_error::create(501, "trigger: not a trigger", &j);
  v.trigger = *trigger;
  v.responsible = j.at("responsible").get<std::string>();
  v.started_at = codec::Num<int64_t>(j.at("started_at"));
  v.finished_at = codec::Num<int64_t>(j.at("finished_at"));
  v.passed = j.at("passed").get<bool>();
  v.targets = j.at("targets").get<std::vector<DrillTargetResult>>();
}

Status PlanDrill(const Config& config, const std::string& name, const std::vector<std::string>& targets, Trigger trigger,
                 const std::string& responsible, int64_t now, DrillRecord* drill, std::vector<RunRequest>* runs) {
  std::vector<std::string> chosen;
  for (const auto& t : targets) {
    if (!config.FindTarget(t)) return Status::Usage("drill: no target named " + t + " in " + config.file);
    if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) chosen.push_back(t);
  }
  if (targets.empty())
    for (const auto& t : config.targets) chosen.push_back(t.name);
  if (chosen.empty()) return Status::Usage("drill: the configuration has no targets");
  drill->name = name;
  drill->trigger = trigger;
  drill->responsible = responsible;
  drill->targets = chosen;
  drill->started_at = now;
  runs->clear();
  for (const auto& t : chosen) {
    RunRequest q;
    q.target = t;
    q.test_index = config.FindTarget(t)->tests.empty() ? -1 : 0;  // the first test's select and checks
    q.trigger = Trigger::kDrill;
    q.requested_by = responsible.empty() ? "scheduler" : responsible;
    runs->push_back(std::move(q));
  }
  return Status::Ok();
}

Status StartDrill(const Config& config, Store* store, const std::string& name, const std::vector<std::string>& targets,
                  Trigger trigger, const std::string& responsible, int64_t now, int64_t* drill_id) {
  DrillRecord d;
  std::vector<RunRequest> runs;
  if (Status s = PlanDrill(config, name, targets, trigger, responsible, now, &d, &runs); !s.ok()) return s;
  *drill_id = store->CreateDrill(d, runs);
  return Status::Ok();
}

DrillReport DrillReportOf(const Config& config, Store* store, const DrillRecord& drill) {
  DrillReport r;
  if (drill.state == DrillState::kFinished && DecodeJson(drill.report_json, "drill report", &r).ok()) return r;
  r.id = drill.id;
  r.name = drill.name;
  r.trigger = drill.trigger;
  r.responsible = drill.responsible;
  r.started_at = drill.started_at;
  r.finished_at = drill.finished_at;
  RunFilter f;
  f.drill_id = drill.id;
  f.limit = 1'000'000;
  // Newest first: the first run seen of a target is the one that decides (its retries come later).
  std::map<std::string, RunRecord> last;
  for (auto& run : store->ListRuns(f)) last.try_emplace(run.request.target, std::move(run));
  r.passed = true;
  for (const auto& name : drill.targets) {
    DrillTargetResult t;
    t.target = name;
    const TargetConfig* tc = config.FindTarget(name);
    t.objective_s = tc ? config.PolicyFor(*tc).rto_s : 0;
    if (auto it = last.find(name); it != last.end()) {
      const RunRecord& run = it->second;
      t.run_id = run.id;
      t.state = run.state;
      t.point_id = run.point_id;
      t.point_time = run.point_time;
      t.location = run.location;
      t.measured_s = run.duration_s;
      t.message = run.message;
      if (run.report) {
        for (const auto& f2 : run.report->findings)
          if (FindingFailsRun(f2.kind)) t.findings.push_back(f2);
        if (t.message.empty() && !run.report->abort_status.ok()) t.message = run.report->abort_status.message();
      }
      t.met = run.state == RunState::kPassed && tc && t.measured_s <= t.objective_s;
      if (run.state == RunState::kPassed && !t.met && tc)
        t.message = "restored and verified in " + std::to_string(static_cast<int64_t>(t.measured_s)) +
                    " s, beyond the recovery time objective of " + std::to_string(static_cast<int64_t>(t.objective_s)) +
                    " s";
    } else {
      t.message = "no run was recorded";
    }
    r.passed = r.passed && t.met;
    r.targets.push_back(std::move(t));
  }
  return r;
}

std::optional<DrillReport> CompleteDrillIfDone(const Config& config, Store* store, int64_t drill_id, int64_t now) {
  auto drill = store->GetDrill(drill_id);
  if (!drill || drill->state == DrillState::kFinished) return std::nullopt;
  RunFilter f;
  f.drill_id = drill_id;
  f.limit = 1'000'000;
  for (const auto& run : store->ListRuns(f))
    if (!RunStateFinal(run.state)) return std::nullopt;
  drill->finished_at = now;
  DrillReport report = DrillReportOf(config, store, *drill);
  report.finished_at = now;
  if (!store->FinishDrill(drill_id, now, report.passed, EncodeJson(report))) return std::nullopt;
  return report;
}

}  // namespace rp
