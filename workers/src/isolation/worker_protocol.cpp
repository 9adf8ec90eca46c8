#include "isolation/worker_protocol.h"

#include <fstream>
#include <iterator>

#include "rp/codec.h"
#include "rp/path_text.h"

namespace rp::detail {

using nlohmann::json;
using codec::Num;
using codec::NumOr;
using codec::Raw;

std::string EncodeJob(const WorkerJob& job) {
  const VerifyOptions& o = job.options;
  json j;
  j["protocol"] = kWorkerProtocol;
  j["source"] = EscapePath(o.source);
  if (o.manifest) j["manifest"] = EscapePath(*o.manifest);
  if (o.algo) j["algorithm"] = HashAlgoName(*o.algo);
  j["readback"] = o.readback;
  j["row_budget"] = o.row_budget;
  if (o.sample) j["sample"] = *o.sample;
  j["sandbox"] = {{"path", EscapePath(job.sandbox_path)},
                  {"fd", kSandboxFd},
                  {"kind", SandboxKindName(job.tmpfs ? SandboxKind::kTmpfs : SandboxKind::kDisk)},
                  {"tmpfs_bytes", job.tmpfs_bytes}};
  if (job.manifest_out) j["manifest_out_fd"] = kManifestFd;
  if (job.inventory_out) j["inventory_out_fd"] = kInventoryFd;
  j["limits"] = o.limits;
  j["isolation"] = {{"policy", IsolationPolicyName(o.isolation)},
                    {"address_space_bytes", o.worker_address_space_bytes},
                    {"processes", o.worker_processes},
                    {"pids_cgroup", job.pids_cgroup},
                    {"memory_cgroup", job.memory_cgroup}};
  j["checks"] = o.checks;
  return j.dump();
}

Status DecodeJob(std::string_view text, WorkerJob* out) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Usage("malformed job: not a JSON object");
  try {
    if (Num<int>(j.at("protocol")) != kWorkerProtocol)
      return Status::Usage("job protocol " + std::to_string(Num<int>(j.at("protocol"))) + " is not " +
                           std::to_string(kWorkerProtocol));
    WorkerJob job;
    VerifyOptions& o = job.options;
    o.source = Raw(j.at("source"));
    if (j.contains("manifest")) o.manifest = Raw(j.at("manifest"));
    if (j.contains("algorithm")) {
      o.algo = ParseHashAlgo(j.at("algorithm").get<std::string>());
      if (!o.algo) return Status::Usage("malformed job: unknown algorithm");
    }
    o.readback = j.value("readback", false);
    o.row_budget = NumOr(j, "row_budget", o.row_budget);
    if (const auto it = j.find("sample"); it != j.end()) o.sample = it->get<SampleSpec>();
    const json& sb = j.at("sandbox");
    job.sandbox_path = Raw(sb.at("path"));
    const auto kind = ParseSandboxKind(sb.at("kind").get<std::string>());
    if (!kind || *kind == SandboxKind::kAuto) return Status::Usage("malformed job: the sandbox kind must be disk or tmpfs");
    job.tmpfs = *kind == SandboxKind::kTmpfs;
    job.tmpfs_bytes = NumOr<uint64_t>(sb, "tmpfs_bytes", 0);
    job.manifest_out = j.contains("manifest_out_fd");
    job.inventory_out = j.contains("inventory_out_fd");
    o.limits = j.at("limits").get<Limits>();
    const json& iso = j.at("isolation");
    const auto policy = ParseIsolationPolicy(iso.at("policy").get<std::string>());
    if (!policy) return Status::Usage("malformed job: isolation policy must be 'require' or 'best-effort'");
    o.isolation = *policy;
    o.worker_address_space_bytes = NumOr(iso, "address_space_bytes", o.worker_address_space_bytes);
    o.worker_processes = NumOr(iso, "processes", o.worker_processes);
    job.pids_cgroup = iso.at("pids_cgroup").get<IsolationRecord>();
    job.memory_cgroup = iso.at("memory_cgroup").get<IsolationRecord>();
    if (job.pids_cgroup.layer != IsolationLayer::kPidsCgroup || job.memory_cgroup.layer != IsolationLayer::kMemoryCgroup)
      return Status::Usage("malformed job: the cgroup records name other layers");
    o.checks = j.value("checks", json::array()).get<std::vector<ContentCheck>>();
    *out = std::move(job);
    return Status::Ok();
  } catch (const json::exception& e) {
    return Status::Usage(std::string("malformed job: ") + e.what());
  }
}

}  // namespace rp::detail

namespace rp {

std::string_view IsolationPolicyName(IsolationPolicy policy) {
  return policy == IsolationPolicy::kRequire ? "require" : "best-effort";
}

std::optional<IsolationPolicy> ParseIsolationPolicy(std::string_view name) {
  for (auto p : {IsolationPolicy::kRequire, IsolationPolicy::kBestEffort})
    if (IsolationPolicyName(p) == name) return p;
  return std::nullopt;
}

}  // namespace rp

namespace rp::detail {

std::string_view RunPhaseName(RunPhase phase) {
  switch (phase) {
    case RunPhase::kManifest: return "manifest";
    case RunPhase::kRestore: return "restore";
    case RunPhase::kFinal: return "final";
  }
  return "final";
}

namespace {

std::optional<RunPhase> ParseRunPhase(std::string_view name) {
  for (auto p : {RunPhase::kManifest, RunPhase::kRestore, RunPhase::kFinal})
    if (RunPhaseName(p) == name) return p;
  return std::nullopt;
}

}  // namespace

std::string EncodeProgressLine(const WorkerProgress& p) {
  return json{{"type", "progress"},
              {"entries", p.progress.entries},
              {"files", p.progress.files},
              {"bytes", p.progress.bytes},
              {"current", EscapePath(p.progress.current)},
              {"elapsed_s", p.progress.elapsed_s},
              {"source_bytes", p.source_bytes},
              {"manifest_rows", p.manifest_rows},
              {"phase", RunPhaseName(p.phase)},
              {"findings_dropped", p.findings_dropped},
              {"cpu_s", p.cpu_s}}
      .dump();
}

std::string EncodeIsolationLine(const IsolationRecords& layers) {
  return json{{"type", "isolation"}, {"isolation", layers}}.dump();
}

std::string EncodeFindingLine(const Finding& f) { return json{{"type", "finding"}, {"finding", f}}.dump(); }

std::string EncodeResultLine(const VerifyReport& r) { return json{{"type", "result"}, {"report", r}}.dump(); }

std::optional<WorkerLine> DecodeLine(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    WorkerLine line;
    const std::string type = j.at("type").get<std::string>();
    if (type == "progress") {
      line.type = WorkerLine::Type::kProgress;
      WorkerProgress& p = line.progress;
      p.progress.entries = NumOr<uint64_t>(j, "entries", 0);
      p.progress.files = NumOr<uint64_t>(j, "files", 0);
      p.progress.bytes = NumOr<uint64_t>(j, "bytes", 0);
      p.progress.current = j.contains("current") ? Raw(j.at("current")) : "";
      p.progress.elapsed_s = NumOr<double>(j, "elapsed_s", 0);
      p.source_bytes = NumOr<uint64_t>(j, "source_bytes", 0);
      p.manifest_rows = NumOr<uint64_t>(j, "manifest_rows", 0);
      const auto phase = ParseRunPhase(j.value("phase", ""));
      if (!phase) return std::nullopt;
      p.phase = *phase;
      p.findings_dropped = NumOr<uint64_t>(j, "findings_dropped", 0);
      p.cpu_s = NumOr<double>(j, "cpu_s", 0);
    } else if (type == "isolation") {
      line.type = WorkerLine::Type::kIsolation;
      line.isolation = j.at("isolation").get<IsolationRecords>();
    } else if (type == "finding") {
      line.type = WorkerLine::Type::kFinding;
      line.finding = j.at("finding").get<Finding>();
    } else if (type == "result") {
      line.type = WorkerLine::Type::kResult;
      line.result = j.at("report").get<VerifyReport>();
    } else {
      return std::nullopt;
    }
    return line;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace rp::detail

namespace rp {

Status LoadChecksFile(const std::string& path, std::vector<ContentCheck>* checks) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Environment("cannot read checks file " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return DecodeJson(text, path, checks);
}

}  // namespace rp
