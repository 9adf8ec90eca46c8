// The evidence report's JSON codec and the rules it cites (rp/evidence.h). Kept apart from the
// gathering (evidence.cpp) so that the bundle checker and its fuzz target need no store.
#include <nlohmann/json.hpp>
#include <set>

#include "rp/evidence.h"

namespace rp {

namespace {

// nlohmann reads a floating-point number into an integer field with a static_cast: undefined
// behaviour out of the field's range (fuzz_evidence: "format": 1e300, "files": -1.5). A report
// holds floating-point numbers only in these fields; anywhere else one is refused as a mistyped
// field. Nothing of a report lies deeper than `depth` 4 (report, drills, drill, targets, target).
void RefuseFloats(const nlohmann::json& j, int depth) {
  static const std::set<std::string, std::less<>> kFloatFields{"rto_objective_s", "rto_measured_s", "duration_s",
                                                                "measured_s", "objective_s", "predicted_full_s"};
  if (depth > 4 || !j.is_structured()) return;
  for (const auto& item : j.items()) {
    if (j.is_object() && item.value().is_number_float() && !kFloatFields.count(item.key()))
      throw nlohmann::json::type_error::create(302, item.key() + ": an integer was expected", &item.value());
    RefuseFloats(item.value(), depth + 1);
  }
}

}  // namespace

const char* const kCitationRestoreTest = "Säker drift av IS/IT §6.1";
const char* const kCitationRestoration = "Säker drift av IS/IT §6.1";
const char* const kCitationClock = "Säker drift av IS/IT §8.2";
const char* const kCitationLog = "Säker drift av IS/IT §9.1";
const char* const kCitationIsolation = "Säker drift av IS/IT §5.1.2";

std::string_view RuleCitation(PolicyRule rule) {
  const std::string_view family = PolicyRuleFamily(rule);
  if (family == "redundancy" || family == "location") return "Säker drift av IS/IT §6.2";
  return "Säker drift av IS/IT §6.1";
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EvidenceFinding, rule, severity, message, citation)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EvidenceRun, id, target, kind, drill_id, state, queued_at, started_at,
                                                finished_at, point_id, location, files, bytes, duration_s,
                                                failing_findings, message, isolation, worker, host, db_role,
                                                clock_known, clock_synchronised, clock_error_us, sample_slice,
                                                sample_slices, sample_seed, sample_files, sample_bytes, point_files,
                                                point_bytes, predicted_full_s, rto_objective_s, within_rto, citation)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EvidenceDrillTarget, target, run_id, state, measured_s, objective_s, met)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EvidenceDrill, id, name, trigger, responsible, started_at, finished_at,
                                                passed, targets)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EvidenceRestoration, seq, time, target, point, location, responsible,
                                                personal_data, reason, result, files, bytes, correctness, failed_files)

void to_json(nlohmann::json& j, const EvidenceTarget& v) {
  j = nlohmann::json{{"name", v.name},
                     {"pseudonymised", v.pseudonymised},
                     {"owner", v.owner},
                     {"classification", v.classification},
                     {"personal_data", v.personal_data},
                     {"personal_data_description", v.personal_data_description},
                     {"locations", v.locations},
                     {"verdict", v.verdict},
                     {"findings", v.findings},
                     {"rto_objective_s", v.rto_objective_s},
                     {"rto_measured_s", v.rto_measured_s ? nlohmann::json(*v.rto_measured_s) : nlohmann::json()},
                     {"rto_predicted", v.rto_predicted},
                     {"rto_met", v.rto_met},
                     {"tests_passed", v.tests_passed},
                     {"tests_failed", v.tests_failed},
                     {"tests_other", v.tests_other},
                     {"last_passed_test", v.last_passed_test}};
}

void from_json(const nlohmann::json& j, EvidenceTarget& v) {
  j.at("name").get_to(v.name);
  v.pseudonymised = j.value("pseudonymised", false);
  v.owner = j.value("owner", "");
  v.classification = j.value("classification", "");
  v.personal_data = j.value("personal_data", false);
  v.personal_data_description = j.value("personal_data_description", "");
  v.locations = j.value("locations", std::vector<std::string>{});
  v.verdict = j.value("verdict", "");
  v.findings = j.value("findings", std::vector<EvidenceFinding>{});
  v.rto_objective_s = j.value("rto_objective_s", 0.0);
  if (j.contains("rto_measured_s") && j["rto_measured_s"].is_number()) v.rto_measured_s = j["rto_measured_s"].get<double>();
  v.rto_predicted = j.value("rto_predicted", false);
  v.rto_met = j.value("rto_met", false);
  v.tests_passed = j.value("tests_passed", int64_t{0});
  v.tests_failed = j.value("tests_failed", int64_t{0});
  v.tests_other = j.value("tests_other", int64_t{0});
  v.last_passed_test = j.value("last_passed_test", int64_t{0});
}

namespace {

// Every field of a report but its four lists.
nlohmann::json ReportHead(const EvidenceReport& v) {
  return nlohmann::json{{"format", v.format},
                        {"appliance", v.appliance},
                        {"version", v.version},
                        {"generated_at", v.generated_at},
                        {"zone", v.zone},
                        {"from", v.from},
                        {"to", v.to},
                        {"requested_targets", v.requested_targets},
                        {"clear_names", v.clear_names},
                        {"clear_names_reason", v.clear_names_reason},
                        {"key_fingerprint", v.key_fingerprint},
                        {"chain_seq", v.chain_seq},
                        {"chain_head", v.chain_head}};
}

template <class T>
void PutList(std::vector<std::string>* parts, const char* key, const std::vector<T>& items) {
  parts->push_back(",\n\"" + std::string(key) + "\": [");
  for (size_t i = 0; i < items.size(); ++i) parts->push_back((i ? ",\n" : "\n") + nlohmann::json(items[i]).dump());
  parts->push_back(items.empty() ? "]" : "\n]");
}

}  // namespace

void to_json(nlohmann::json& j, const EvidenceReport& v) {
  j = ReportHead(v);
  j["targets"] = v.targets;
  j["runs"] = v.runs;
  j["drills"] = v.drills;
  j["restorations"] = v.restorations;
}

std::vector<std::string> EvidenceReportJsonParts(const EvidenceReport& v) {
  std::vector<std::string> parts;
  parts.reserve(v.targets.size() + v.runs.size() + v.drills.size() + v.restorations.size() + 10);
  std::string head = ReportHead(v).dump();
  head.pop_back();  // the closing brace: the lists follow, an element per line
  parts.push_back(std::move(head));
  PutList(&parts, "targets", v.targets);
  PutList(&parts, "runs", v.runs);
  PutList(&parts, "drills", v.drills);
  PutList(&parts, "restorations", v.restorations);
  parts.push_back("\n}\n");
  return parts;
}

std::string EvidenceReportJson(const EvidenceReport& v) {
  std::string out;
  for (const auto& p : EvidenceReportJsonParts(v)) out += p;
  return out;
}

void from_json(const nlohmann::json& j, EvidenceReport& v) {
  RefuseFloats(j, 0);
  v.format = j.at("format").get<int>();
  j.at("appliance").get_to(v.appliance);
  v.version = j.value("version", "");
  j.at("generated_at").get_to(v.generated_at);
  j.at("zone").get_to(v.zone);
  j.at("from").get_to(v.from);
  j.at("to").get_to(v.to);
  v.requested_targets = j.value("requested_targets", std::vector<std::string>{});
  v.clear_names = j.value("clear_names", false);
  v.clear_names_reason = j.value("clear_names_reason", "");
  j.at("key_fingerprint").get_to(v.key_fingerprint);
  j.at("chain_seq").get_to(v.chain_seq);
  j.at("chain_head").get_to(v.chain_head);
  j.at("targets").get_to(v.targets);
  j.at("runs").get_to(v.runs);
  j.at("drills").get_to(v.drills);
  j.at("restorations").get_to(v.restorations);
}

}  // namespace rp
