#include "rp/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <optional>
#include <set>

#include "rp/codec.h"
#include "rp/policy.h"

namespace rp {

namespace {

// 0 ok, 1 warning, 2 failing: the order of Verdict.
double VerdictValue(Verdict v) { return static_cast<double>(static_cast<int>(v)); }

// A family ("retention", "redundancy") is kept when no finding of it fails; a warning does not
// break it.
bool Compliant(const TargetEvaluation& e, std::string_view family) {
  return std::none_of(e.findings.begin(), e.findings.end(), [&](const PolicyFinding& f) {
    return PolicyRuleFamily(f.rule) == family && f.severity == Verdict::kFailing;
  });
}

// The copies that hold points: the target's distinct locations, less those the evaluation found
// offline or empty.
int Copies(const TargetConfig& t, const TargetEvaluation& e) {
  std::set<std::string> held;
  for (const auto& c : t.copies) held.insert(c.location);
  for (const auto& f : e.findings)
    if (f.rule == PolicyRule::kLocationOffline || f.rule == PolicyRule::kLocationEmpty) {
      held.erase(f.location);
      for (const auto& l : f.locations) held.erase(l);
    }
  return static_cast<int>(held.size());
}

}  // namespace

std::string TargetLabel(const TargetConfig& target, const Pseudonymiser& names) {
  return target.personal_data.none ? target.name : names.Target(target.name);
}

std::string RenderMetrics(const Config& config, Store& store, const Pseudonymiser* names, int64_t now,
                          std::string_view version, const std::map<std::string, TargetCoverage>* coverage) {
  prometheus::Registry registry;
  auto& last_success = prometheus::BuildGauge()
                           .Name("restoreproof_target_last_success_timestamp_seconds")
                           .Help("When the target's newest passed restore test ended (Unix time)")
                           .Register(registry);
  auto& last_duration = prometheus::BuildGauge()
                            .Name("restoreproof_target_last_test_duration_seconds")
                            .Help("How long the target's newest ended restore test took to restore and verify")
                            .Register(registry);
  auto& backup_age = prometheus::BuildGauge()
                         .Name("restoreproof_target_newest_backup_age_seconds")
                         .Help("Age of the target's newest recovery point at the latest catalog check")
                         .Register(registry);
  auto& copies = prometheus::BuildGauge()
                     .Name("restoreproof_target_copies")
                     .Help("Copies (locations) of the target that could be read and held points at the latest catalog check")
                     .Register(registry);
  auto& compliant = prometheus::BuildGauge()
                        .Name("restoreproof_target_compliant")
                        .Help("1 when no finding of the rule family fails at the latest catalog check, else 0")
                        .Register(registry);
  auto& status = prometheus::BuildGauge()
                     .Name("restoreproof_target_status")
                     .Help("The target's verdict at the latest catalog check: 0 ok, 1 warning, 2 failing")
                     .Register(registry);
  auto& catalog_at = prometheus::BuildGauge()
                         .Name("restoreproof_target_catalog_check_timestamp_seconds")
                         .Help("When the target's catalog was last checked (Unix time)")
                         .Register(registry);
  auto& runs = prometheus::BuildCounter()
                   .Name("restoreproof_runs_total")
                   .Help("Restore-test runs that ended, by result")
                   .Register(registry);
  auto& coverage_files = prometheus::BuildGauge()
                             .Name("restoreproof_coverage_files_ratio")
                             .Help("Share (0..1) of the files of the target's newest tested point that passed sampled "
                                   "restore tests verified within its coverage window")
                             .Register(registry);
  auto& coverage_bytes = prometheus::BuildGauge()
                             .Name("restoreproof_coverage_bytes_ratio")
                             .Help("Share (0..1) of the bytes of the target's newest tested point that passed sampled "
                                   "restore tests verified within its coverage window")
                             .Register(registry);
  auto& coverage_complete = prometheus::BuildGauge()
                                .Name("restoreproof_coverage_window_complete")
                                .Help("1 when the sampling target has been tested for a whole coverage window, so that "
                                      "coverage below 1 is a finding, else 0")
                                .Register(registry);
  auto& predicted = prometheus::BuildGauge()
                        .Name("restoreproof_predicted_restore_seconds")
                        .Help("The time the whole point would take to restore, predicted from the target's newest "
                              "passed restore test when that test restored a sample")
                        .Register(registry);
  auto& build = prometheus::BuildGauge()
                    .Name("restoreproof_build_info")
                    .Help("Always 1; the version of restoreproof serving")
                    .Register(registry);
  build.Add({{"version", std::string(version)}}).Set(1);

  for (const TargetConfig& t : config.targets) {
    if (!t.personal_data.none && !names) continue;
    const prometheus::Labels label{{"target", names ? TargetLabel(t, *names) : t.name}};
    if (auto run = store.LastRun(t.name, RunState::kPassed)) {
      last_success.Add(label).Set(static_cast<double>(run->finished_at));
      if (const auto whole = PredictedFullSeconds(*run)) predicted.Add(label).Set(*whole);
    }
    if (t.Samples()) {
      std::optional<TargetCoverage> c;
      if (coverage)
        if (const auto it = coverage->find(t.name); it != coverage->end()) c = it->second;
      if (!c) c = CoverageOf(t, &store, now);
      coverage_files.Add(label).Set(c->files_ratio());
      coverage_bytes.Add(label).Set(c->bytes_ratio());
      coverage_complete.Add(label).Set(c->window_complete ? 1 : 0);
    }
    if (auto run = store.LastRun(t.name, std::nullopt))
      if (run->state == RunState::kPassed || run->state == RunState::kFailed)
        last_duration.Add(label).Set(run->duration_s);
    const auto snapshot = store.LatestCatalogSnapshot(t.name);
    if (!snapshot) continue;
    TargetEvaluation e;
    if (!DecodeJson(snapshot->second, "catalog snapshot", &e).ok()) continue;
    catalog_at.Add(label).Set(static_cast<double>(snapshot->first));
    if (e.newest > 0) backup_age.Add(label).Set(static_cast<double>(std::max<int64_t>(0, now - e.newest)));
    copies.Add(label).Set(Copies(t, e));
    for (const char* family : {"retention", "redundancy"}) {
      prometheus::Labels rule = label;
      rule["rule"] = family;
      compliant.Add(rule).Set(Compliant(e, family) ? 1 : 0);
    }
    status.Add(label).Set(VerdictValue(e.verdict));
  }

  const auto counts = store.CountEndedRuns();
  for (RunState s : {RunState::kPassed, RunState::kFailed, RunState::kAborted, RunState::kInterrupted,
                     RunState::kCancelled}) {
    const auto it = counts.find(s);
    runs.Add({{"result", std::string(RunStateName(s))}}).Increment(it == counts.end() ? 0 : static_cast<double>(it->second));
  }
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace rp
