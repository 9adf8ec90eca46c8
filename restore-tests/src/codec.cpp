#include "rp/codec.h"

#include <optional>

#include "rp/path_text.h"

namespace rp {

using nlohmann::json;

namespace codec {

std::string Raw(const json& v) {
  const auto s = v.get<std::string>();
  return UnescapePath(s).value_or(s);
}

const json& Array(const json& obj, const char* key, bool required) {
  static const json empty = json::array();
  if (!obj.is_object()) throw json::type_error::create(306, "an object was expected", &obj);
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return obj.at(key);  // throws: the key is missing
    return empty;
  }
  // A string or an object iterates too (its characters' string, its values): never read as a list.
  if (!it->is_array()) throw json::type_error::create(302, std::string(key) + ": an array was expected", &*it);
  return *it;
}

}  // namespace codec

namespace {

using codec::Num;
using codec::NumOr;
using codec::Raw;
using codec::Array;

[[noreturn]] void Invalid(const json& at, const std::string& what) {
  throw json::other_error::create(501, what, &at);
}

template <class E>
E Enum(const json& v, std::optional<E> (*parse)(std::string_view), const char* what) {
  const auto s = v.get<std::string>();
  const auto e = parse(s);
  if (!e) Invalid(v, std::string("unknown ") + what + " '" + EscapePath(s) + "'");
  return *e;
}

}  // namespace

void to_json(json& j, const Finding& f) {
  j = json{{"kind", FindingKindName(f.kind)}, {"path", EscapePath(f.path)}, {"message", EscapePath(f.message)}};
  if (f.offset >= 0) j["offset"] = f.offset;
  if (f.limit) j["limit"] = LimitKindName(*f.limit);
}

void from_json(const json& j, Finding& f) {
  f.kind = Enum(j.at("kind"), &ParseFindingKind, "finding kind");
  f.path = Raw(j.at("path"));
  f.message = Raw(j.at("message"));
  f.offset = NumOr<int64_t>(j, "offset", -1);
  f.limit.reset();
  if (j.contains("limit")) f.limit = Enum(j.at("limit"), &ParseLimitKind, "limit");
}

void to_json(json& j, const Limits& l) {
  j = json{{"max_total_bytes", l.max_total_bytes}, {"max_entries", l.max_entries},
           {"max_file_bytes", l.max_file_bytes},   {"max_depth", l.max_depth},
           {"max_ratio", l.max_ratio},             {"ratio_floor_bytes", l.ratio_floor_bytes},
           {"max_seconds", l.max_seconds},         {"max_stall_seconds", l.max_stall_seconds},
           {"max_spin_seconds", l.max_spin_seconds}, {"max_memory_bytes", l.max_memory_bytes}};
}

void from_json(const json& j, Limits& l) {
  l.max_total_bytes = Num<uint64_t>(j.at("max_total_bytes"));
  l.max_entries = Num<uint64_t>(j.at("max_entries"));
  l.max_file_bytes = Num<uint64_t>(j.at("max_file_bytes"));
  l.max_depth = Num<uint32_t>(j.at("max_depth"));
  l.max_ratio = Num<double>(j.at("max_ratio"));
  l.ratio_floor_bytes = Num<uint64_t>(j.at("ratio_floor_bytes"));
  l.max_seconds = Num<double>(j.at("max_seconds"));
  l.max_stall_seconds = Num<double>(j.at("max_stall_seconds"));
  l.max_spin_seconds = Num<double>(j.at("max_spin_seconds"));
  l.max_memory_bytes = Num<uint64_t>(j.at("max_memory_bytes"));
}

void to_json(json& j, const IsolationRecord& r) {
  j = json{{"layer", IsolationLayerName(r.layer)}, {"state", LayerStateName(r.state)}, {"detail", EscapePath(r.detail)}};
}

void from_json(const json& j, IsolationRecord& r) {
  r.layer = Enum(j.at("layer"), &ParseIsolationLayer, "isolation layer");
  r.state = Enum(j.at("state"), &ParseLayerState, "isolation state");
  r.detail = Raw(j.at("detail"));
}

void to_json(json& j, const IsolationRecords& records) {
  j = json::array();
  for (const auto& r : records.records()) j.push_back(r);
}

void from_json(const json& j, IsolationRecords& records) {
  if (!j.is_array()) Invalid(j, "isolation: an array of {layer, state, detail} was expected");
  IsolationRecords out;
  for (const auto& e : j) {
    const auto r = e.get<IsolationRecord>();
    out.Set(r.layer, r.state, r.detail);
  }
  records = std::move(out);
}

void to_json(json& j, const ContentCheck& c) {
  j = json{{"kind", CheckKindName(c.kind)}, {"name", EscapePath(c.name)}};
  if (c.kind == CheckKind::kMinFiles) j["count"] = c.count;
  if (c.kind == CheckKind::kMinBytes) j["bytes"] = c.bytes;
  if (!c.globs.empty()) {
    json g = json::array();
    for (const auto& s : c.globs) g.push_back(EscapePath(s));
    j["globs"] = g;
  }
  if (!c.baseline.empty()) j["baseline"] = EscapePath(c.baseline);
  if (!c.argv.empty()) {
    json a = json::array();
    for (const auto& s : c.argv) a.push_back(EscapePath(s));
    j["argv"] = a;
    j["timeout_s"] = c.timeout_s;
  }
}

void from_json(const json& j, ContentCheck& c) {
  ContentCheck out;
  out.kind = Enum(j.at("kind"), &ParseCheckKind, "check kind");
  out.name = j.contains("name") ? Raw(j.at("name")) : "";
  out.count = NumOr<uint64_t>(j, "count", 0);
  out.bytes = NumOr<uint64_t>(j, "bytes", 0);
  for (const auto& g : Array(j, "globs", false)) out.globs.push_back(Raw(g));
  if (j.contains("baseline")) out.baseline = Raw(j.at("baseline"));
  for (const auto& a : Array(j, "argv", false)) out.argv.push_back(Raw(a));
  out.timeout_s = NumOr<double>(j, "timeout_s", out.timeout_s);
  c = std::move(out);
}

void to_json(json& j, const Date& d) { j = d.ToString(); }

void from_json(const json& j, Date& d) {
  const auto parsed = Date::Parse(j.get<std::string>());
  if (!parsed) Invalid(j, "a date like 2026-10-25 was expected");
  d = *parsed;
}

void to_json(json& j, const DateRange& r) { j = json{{"first", r.first}, {"last", r.last}}; }

void from_json(const json& j, DateRange& r) {
  r.first = j.at("first").get<Date>();
  r.last = j.at("last").get<Date>();
}

void to_json(json& j, const YearMonth& m) { j = m.ToString(); }

void from_json(const json& j, YearMonth& m) {
  const auto parsed = YearMonth::Parse(j.get<std::string>());
  if (!parsed) Invalid(j, "a month like 2026-10 was expected");
  m = *parsed;
}

void to_json(json& j, const Policy& p) {
  j = json{{"backup_interval_s", p.backup_interval_s},
           {"retention_days", p.retention_days},
           {"restore_test_interval_s", p.restore_test_interval_s},
           {"min_copies", p.min_copies},
           {"rto_s", p.rto_s},
           {"freshness_grace_s", p.freshness_grace_s},
           {"copy_lag_s", p.copy_lag_s},
           {"weekly_keeps", p.weekly_keeps},
           {"monthly_keeps", p.monthly_keeps}};
  if (p.max_retention_days) j["max_retention_days"] = *p.max_retention_days;
}

void from_json(const json& j, Policy& p) {
  Policy out;
  out.backup_interval_s = Num<double>(j.at("backup_interval_s"));
  out.retention_days = Num<int>(j.at("retention_days"));
  out.restore_test_interval_s = Num<double>(j.at("restore_test_interval_s"));
  out.min_copies = Num<int>(j.at("min_copies"));
  out.rto_s = Num<double>(j.at("rto_s"));
  out.freshness_grace_s = Num<double>(j.at("freshness_grace_s"));
  out.copy_lag_s = Num<double>(j.at("copy_lag_s"));
  out.weekly_keeps = Num<int>(j.at("weekly_keeps"));
  out.monthly_keeps = Num<int>(j.at("monthly_keeps"));
  if (j.contains("max_retention_days")) out.max_retention_days = Num<int>(j.at("max_retention_days"));
  p = out;
}

void to_json(json& j, const PolicyFinding& f) {
  const std::string_view id = PolicyRuleName(f.rule);
  const size_t dot = id.find('.');
  j = json{{"id", id},
           {"rule", PolicyRuleFamily(f.rule)},
           {"check", dot == std::string_view::npos ? std::string_view() : id.substr(dot + 1)},
           {"severity", VerdictName(f.severity)},
           {"message", EscapePath(f.message)}};
  if (!f.location.empty()) j["location"] = EscapePath(f.location);
  if (!f.locations.empty()) {
    json a = json::array();
    for (const auto& l : f.locations) a.push_back(EscapePath(l));
    j["locations"] = a;
  }
  if (!f.missing_days.empty()) j["missing_days"] = f.missing_days;
  if (!f.missing_weeks.empty()) j["missing_weeks"] = f.missing_weeks;
  if (!f.missing_months.empty()) j["missing_months"] = f.missing_months;
  if (f.age_s) j["age_s"] = *f.age_s;
  if (f.limit_s) j["limit_s"] = *f.limit_s;
  if (f.count) j["count"] = *f.count;
  if (f.required) j["required"] = *f.required;
  if (!f.point.empty()) j["point"] = EscapePath(f.point);
  if (!f.path.empty()) j["path"] = EscapePath(f.path);
  if (!f.error.empty()) j["error"] = EscapePath(f.error);
}

void from_json(const json& j, PolicyFinding& f) {
  PolicyFinding out;
  out.rule = Enum(j.at("id"), &ParsePolicyRule, "policy rule");
  out.severity = Enum(j.at("severity"), &ParseVerdict, "severity");
  out.message = Raw(j.at("message"));
  if (j.contains("location")) out.location = Raw(j.at("location"));
  for (const auto& l : Array(j, "locations", false)) out.locations.push_back(Raw(l));
  if (j.contains("missing_days")) out.missing_days = j.at("missing_days").get<std::vector<Date>>();
  if (j.contains("missing_weeks")) out.missing_weeks = j.at("missing_weeks").get<std::vector<DateRange>>();
  if (j.contains("missing_months")) out.missing_months = j.at("missing_months").get<std::vector<YearMonth>>();
  if (j.contains("age_s")) out.age_s = Num<double>(j.at("age_s"));
  if (j.contains("limit_s")) out.limit_s = Num<double>(j.at("limit_s"));
  if (j.contains("count")) out.count = Num<uint64_t>(j.at("count"));
  if (j.contains("required")) out.required = Num<uint64_t>(j.at("required"));
  if (j.contains("point")) out.point = Raw(j.at("point"));
  if (j.contains("path")) out.path = Raw(j.at("path"));
  if (j.contains("error")) out.error = Raw(j.at("error"));
  f = std::move(out);
}

void to_json(json& j, const TargetEvaluation& e) {
  j = json{{"name", EscapePath(e.target)},
           {"verdict", VerdictName(e.verdict)},
           {"policy", e.policy},
           {"newest", e.newest},
           {"findings", e.findings}};
}

void from_json(const json& j, TargetEvaluation& e) {
  TargetEvaluation out;
  out.target = Raw(j.at("name"));
  out.verdict = Enum(j.at("verdict"), &ParseVerdict, "verdict");
  out.policy = j.at("policy").get<Policy>();
  out.newest = Num<int64_t>(j.at("newest"));
  out.findings = j.at("findings").get<std::vector<PolicyFinding>>();
  e = std::move(out);
}

void to_json(json& j, const VerifyReport& r) {
  j = json::object();
  // DESIGN.md knows two statuses; a run that could not be carried out is "failed" with an
  // "abort" object giving its exit code (2 usage, 3 environment) and the reason.
  j["status"] = r.status == RunStatus::kPassed ? "passed" : "failed";
  j["source"] = EscapePath(r.source);
  j["format"] = EscapePath(r.format);
  j["algorithm"] = HashAlgoName(r.algo);
  j["manifest_used"] = r.manifest_used;
  j["files"] = r.files;
  j["directories"] = r.directories;
  j["symlinks"] = r.symlinks;
  j["hardlinks"] = r.hardlinks;
  j["entries"] = r.entries;
  j["bytes"] = r.bytes;
  j["source_bytes"] = r.source_bytes;
  j["duration_s"] = r.duration_s;
  json mismatched = json::array(), missing = json::array(), unexpected = json::array();
  json errors = json::array(), findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back(f);
    const std::string p = EscapePath(f.path);
    switch (f.kind) {
      case FindingKind::kChecksumMismatch: mismatched.push_back(p); break;
      case FindingKind::kMissing: missing.push_back(p); break;
      case FindingKind::kUnexpected: unexpected.push_back(p); break;
      default:  // every other finding that fails the run; notices (mode-cleared, check-passed) are not errors
        if (FindingFailsRun(f.kind))
          errors.push_back(json{{"path", p}, {"message", EscapePath(f.message)}, {"kind", FindingKindName(f.kind)}});
    }
  }
  j["mismatched"] = mismatched;
  j["missing"] = missing;
  j["unexpected"] = unexpected;
  j["errors"] = errors;
  j["findings"] = findings;
  j["findings_dropped"] = r.findings_dropped;
  j["sandbox"] = {{"path", EscapePath(r.sandbox)}, {"removed", r.sandbox_removed}, {"kind", SandboxKindName(r.sandbox_kind)}};
  j["readback"] = r.readback;
  j["isolation"] = r.isolation;
  j["limits"] = r.limits;
  if (r.sample) j["sample"] = *r.sample;
  if (r.status == RunStatus::kAborted)
    j["abort"] = {{"exit_code", ExitCodeFor(r)}, {"message", EscapePath(r.abort_status.message())}};
}

void from_json(const json& j, VerifyReport& r) {
  VerifyReport out;
  const std::string status = j.at("status").get<std::string>();
  if (status != "passed" && status != "failed") Invalid(j.at("status"), "status must be passed or failed");
  out.status = j.contains("abort") ? RunStatus::kAborted : status == "passed" ? RunStatus::kPassed : RunStatus::kFailed;
  out.source = Raw(j.at("source"));
  out.format = Raw(j.at("format"));
  out.algo = Enum(j.at("algorithm"), &ParseHashAlgo, "hash algorithm");
  out.manifest_used = j.at("manifest_used").get<bool>();
  out.files = Num<uint64_t>(j.at("files"));
  out.directories = Num<uint64_t>(j.at("directories"));
  out.symlinks = Num<uint64_t>(j.at("symlinks"));
  out.hardlinks = Num<uint64_t>(j.at("hardlinks"));
  out.entries = Num<uint64_t>(j.at("entries"));
  out.bytes = Num<uint64_t>(j.at("bytes"));
  out.source_bytes = Num<uint64_t>(j.at("source_bytes"));
  out.duration_s = Num<double>(j.at("duration_s"));
  for (const auto& jf : Array(j, "findings", true)) out.findings.push_back(jf.get<Finding>());
  out.findings_dropped = Num<uint64_t>(j.at("findings_dropped"));
  const json& sb = j.at("sandbox");
  out.sandbox = Raw(sb.at("path"));
  out.sandbox_removed = sb.at("removed").get<bool>();
  out.sandbox_kind = Enum(sb.at("kind"), &ParseSandboxKind, "sandbox kind");
  out.readback = j.at("readback").get<bool>();
  out.isolation = j.at("isolation").get<IsolationRecords>();
  out.limits = j.at("limits").get<Limits>();
  if (const auto it = j.find("sample"); it != j.end()) out.sample = it->get<SampleFigures>();
  if (out.status == RunStatus::kAborted) {
    const json& a = j.at("abort");
    const std::string msg = Raw(a.at("message"));
    const int code = Num<int>(a.at("exit_code"));
    if (code != 2 && code != 3) Invalid(a.at("exit_code"), "abort exit_code must be 2 or 3");
    out.abort_status = code == 2 ? Status::Usage(msg) : Status::Environment(msg);
  }
  r = std::move(out);
}

}  // namespace rp
