#include "isolation/worker_protocol.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "limits_json.h"
#include "json_num.h"
#include "rp/path_text.h"

namespace rp::detail {

using nlohmann::json;

namespace {
// Paths travel escaped so that any byte sequence survives JSON.
std::string Esc(const std::string& p) { return EscapePath(p); }
std::string Unesc(const json& v) {
  const auto s = v.get<std::string>();
  return UnescapePath(s).value_or(s);
}
}  // namespace

// The checks array of a job or of a --checks file. Throws json::exception on a mistyped field.
bool ChecksFromJson(const json& arr, std::vector<ContentCheck>* out, std::string* error) {
  if (!arr.is_array()) {
    *error = "checks: not an array";
    return false;
  }
  for (const auto& jc : arr) {
    ContentCheck c;
    auto kind = ParseCheckKind(jc.at("kind").get<std::string>());
    if (!kind) {
      *error = "unknown check kind '" + jc.at("kind").get<std::string>() + "'";
      return false;
    }
    c.kind = *kind;
    c.name = jc.value("name", std::string());
    c.count = NumOr<uint64_t>(jc, "count", 0);
    c.bytes = NumOr<uint64_t>(jc, "bytes", 0);
    for (const auto& g : jc.value("globs", json::array())) c.globs.push_back(Unesc(g));
    if (jc.contains("baseline")) c.baseline = Unesc(jc.at("baseline"));
    for (const auto& a : jc.value("argv", json::array())) c.argv.push_back(Unesc(a));
    c.timeout_s = NumOr<double>(jc, "timeout_s", c.timeout_s);
    out->push_back(std::move(c));
  }
  return true;
}

std::string JobToJson(const WorkerJob& job) {
  const VerifyOptions& o = job.options;
  json j;
  j["protocol"] = kWorkerProtocol;
  j["source"] = Esc(o.source);
  if (o.manifest) j["manifest"] = Esc(*o.manifest);
  if (o.algo) j["algorithm"] = HashAlgoName(*o.algo);
  j["readback"] = o.readback;
  j["row_budget"] = o.row_budget;
  j["sandbox"] = {{"path", Esc(job.sandbox_path)},
                  {"fd", kSandboxFd},
                  {"kind", job.tmpfs ? "tmpfs" : "disk"},
                  {"tmpfs_bytes", job.tmpfs_bytes}};
  if (job.manifest_out) j["manifest_out_fd"] = kManifestFd;
  if (job.inventory_out) j["inventory_out_fd"] = kInventoryFd;
  j["limits"] = LimitsToJson(o.limits);
  j["isolation"] = {{"policy", o.isolation == IsolationPolicy::kRequire ? "require" : "best-effort"},
                    {"address_space_bytes", o.worker_address_space_bytes},
                    {"processes", o.worker_processes},
                    {"process_limit", job.process_limit}};
  json checks = json::array();
  for (const auto& c : o.checks) {
    json jc{{"kind", CheckKindName(c.kind)}, {"name", c.name}};
    if (c.kind == CheckKind::kMinFiles) jc["count"] = c.count;
    if (c.kind == CheckKind::kMinBytes) jc["bytes"] = c.bytes;
    if (!c.globs.empty()) {
      json g = json::array();
      for (const auto& s : c.globs) g.push_back(Esc(s));
      jc["globs"] = g;
    }
    if (!c.baseline.empty()) jc["baseline"] = Esc(c.baseline);
    if (!c.argv.empty()) {
      json a = json::array();
      for (const auto& s : c.argv) a.push_back(Esc(s));
      jc["argv"] = a;
      jc["timeout_s"] = c.timeout_s;
    }
    checks.push_back(jc);
  }
  j["checks"] = checks;
  return j.dump();
}

std::optional<WorkerJob> JobFromJson(const std::string& text, std::string* error) {
  try {
    const json j = json::parse(text);
    if (Num<int>(j.at("protocol")) != kWorkerProtocol) {
      *error = "job protocol " + std::to_string(Num<int>(j.at("protocol"))) + " is not " +
               std::to_string(kWorkerProtocol);
      return std::nullopt;
    }
    WorkerJob job;
    VerifyOptions& o = job.options;
    o.source = Unesc(j.at("source"));
    if (j.contains("manifest")) o.manifest = Unesc(j.at("manifest"));
    if (j.contains("algorithm")) {
      o.algo = ParseHashAlgo(j.at("algorithm").get<std::string>());
      if (!o.algo) {
        *error = "unknown algorithm";
        return std::nullopt;
      }
    }
    o.readback = j.value("readback", false);
    o.row_budget = NumOr(j, "row_budget", o.row_budget);
    const json& sb = j.at("sandbox");
    job.sandbox_path = Unesc(sb.at("path"));
    job.tmpfs = sb.at("kind").get<std::string>() == "tmpfs";
    job.tmpfs_bytes = NumOr<uint64_t>(sb, "tmpfs_bytes", 0);
    job.manifest_out = j.contains("manifest_out_fd");
    job.inventory_out = j.contains("inventory_out_fd");
    o.limits = LimitsFromJson(j.at("limits"));
    const json& iso = j.at("isolation");
    const std::string policy = iso.at("policy").get<std::string>();
    if (policy != "require" && policy != "best-effort") {
      *error = "isolation policy must be 'require' or 'best-effort'";
      return std::nullopt;
    }
    o.isolation = policy == "require" ? IsolationPolicy::kRequire : IsolationPolicy::kBestEffort;
    o.worker_address_space_bytes = NumOr(iso, "address_space_bytes", o.worker_address_space_bytes);
    o.worker_processes = NumOr(iso, "processes", o.worker_processes);
    job.process_limit = iso.value("process_limit", std::string("unavailable: not reported by the parent"));
    if (!ChecksFromJson(j.value("checks", json::array()), &o.checks, error)) return std::nullopt;
    return job;
  } catch (const json::exception& e) {
    *error = std::string("malformed job: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace rp::detail

namespace rp {

Status LoadChecksFile(const std::string& path, std::vector<ContentCheck>* checks) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Environment("cannot read checks file " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json arr = nlohmann::json::parse(text, nullptr, false);
  if (arr.is_discarded() || !arr.is_array()) return Status::Usage(path + ": not a JSON array of checks");
  std::string error;
  std::vector<ContentCheck> parsed;
  try {
    if (!detail::ChecksFromJson(arr, &parsed, &error)) return Status::Usage(path + ": " + error);
  } catch (const nlohmann::json::exception& e) {
    return Status::Usage(path + ": malformed check: " + e.what());
  }
  *checks = std::move(parsed);
  return Status::Ok();
}

}  // namespace rp
