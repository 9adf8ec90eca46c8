#include "rp/report_json.h"

#include <nlohmann/json.hpp>

#include "limits_json.h"
#include "json_num.h"
#include "rp/path_text.h"

namespace rp {

using nlohmann::json;

std::string ReportToJson(const VerifyReport& r, int indent) {
  json j;
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
    const std::string p = EscapePath(f.path);
    json jf{{"kind", FindingKindName(f.kind)}, {"path", p}, {"message", EscapePath(f.message)}};
    if (f.offset >= 0) jf["offset"] = f.offset;
    findings.push_back(jf);
    switch (f.kind) {
      case FindingKind::kChecksumMismatch: mismatched.push_back(p); break;
      case FindingKind::kMissing: missing.push_back(p); break;
      case FindingKind::kUnexpected: unexpected.push_back(p); break;
      case FindingKind::kModeCleared: break;
      default: errors.push_back(json{{"path", p}, {"message", EscapePath(f.message)}, {"kind", FindingKindName(f.kind)}});
    }
  }
  j["mismatched"] = mismatched;
  j["missing"] = missing;
  j["unexpected"] = unexpected;
  j["errors"] = errors;
  j["findings"] = findings;
  j["findings_dropped"] = r.findings_dropped;
  j["sandbox"] = {{"path", EscapePath(r.sandbox)}, {"removed", r.sandbox_removed}, {"kind", r.sandbox_kind}};
  j["readback"] = r.readback;
  j["isolation"] = r.isolation;
  j["limits"] = detail::LimitsToJson(r.limits);
  if (r.status == RunStatus::kAborted) {
    j["abort"] = {{"exit_code", ExitCodeFor(r)}, {"message", EscapePath(r.abort_status.message())}};
  }
  return j.dump(indent);
}

std::optional<VerifyReport> ReportFromJson(const std::string& text) {
  try {
    const json j = json::parse(text);
    VerifyReport r;
    const std::string status = j.at("status").get<std::string>();
    r.status = j.contains("abort") ? RunStatus::kAborted : status == "passed" ? RunStatus::kPassed : RunStatus::kFailed;
    auto un = [](const json& v) { return UnescapePath(v.get<std::string>()).value_or(v.get<std::string>()); };
    r.source = un(j.at("source"));
    r.format = un(j.at("format"));
    if (auto a = ParseHashAlgo(j.at("algorithm").get<std::string>())) r.algo = *a;
    r.manifest_used = j.at("manifest_used").get<bool>();
    r.files = detail::Num<uint64_t>(j.at("files"));
    r.directories = detail::Num<uint64_t>(j.at("directories"));
    r.symlinks = detail::Num<uint64_t>(j.at("symlinks"));
    r.hardlinks = detail::Num<uint64_t>(j.at("hardlinks"));
    r.entries = detail::Num<uint64_t>(j.at("entries"));
    r.bytes = detail::Num<uint64_t>(j.at("bytes"));
    r.source_bytes = detail::Num<uint64_t>(j.at("source_bytes"));
    r.duration_s = j.at("duration_s").get<double>();
    for (const auto& jf : j.at("findings")) {
      auto kind = ParseFindingKind(jf.at("kind").get<std::string>());
      if (!kind) return std::nullopt;
      r.findings.push_back(Finding{*kind, un(jf.at("path")), un(jf.at("message")), detail::NumOr<int64_t>(jf, "offset", -1)});
    }
    r.findings_dropped = detail::Num<uint64_t>(j.at("findings_dropped"));
    r.sandbox = un(j.at("sandbox").at("path"));
    r.sandbox_removed = j.at("sandbox").at("removed").get<bool>();
    r.sandbox_kind = j.at("sandbox").value("kind", std::string("disk"));
    r.readback = j.at("readback").get<bool>();
    r.isolation = j.at("isolation").get<std::map<std::string, std::string>>();
    r.limits = detail::LimitsFromJson(j.at("limits"));
    if (r.status == RunStatus::kAborted) {
      const json& a = j.at("abort");
      const std::string msg = un(a.at("message"));
      r.abort_status = detail::Num<int>(a.at("exit_code")) == 2 ? Status::Usage(msg) : Status::Environment(msg);
    }
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace rp
