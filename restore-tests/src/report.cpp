#include "rp/report.h"

#include <array>
#include <initializer_list>
#include <utility>

namespace rp {
namespace {


constexpr std::array<std::pair<FindingKind, std::string_view>, 17> kKinds{{
    {FindingKind::kChecksumMismatch, "checksum-mismatch"},
    {FindingKind::kMissing, "missing"},
    {FindingKind::kUnexpected, "unexpected"},
    {FindingKind::kTypeMismatch, "type-mismatch"},
    {FindingKind::kSizeMismatch, "size-mismatch"},
    {FindingKind::kCorrupt, "corrupt"},
    {FindingKind::kTruncated, "truncated"},
    {FindingKind::kUnsafeEntry, "unsafe-entry"},
    {FindingKind::kLimitExceeded, "limit-exceeded"},
    {FindingKind::kEncrypted, "encrypted"},
    {FindingKind::kReadbackMismatch, "readback-mismatch"},
    {FindingKind::kIoError, "io-error"},
    {FindingKind::kModeCleared, "mode-cleared"},
    {FindingKind::kWorkerDied, "worker-died"},
    {FindingKind::kEmptySource, "empty-source"},
    {FindingKind::kCheckPassed, "check-passed"},
    {FindingKind::kCheckFailed, "check-failed"},
}};

constexpr std::array<std::pair<LimitKind, std::string_view>, 10> kLimits{{
    {LimitKind::kWallTime, "wall-time"},
    {LimitKind::kStall, "stall"},
    {LimitKind::kSpin, "spin"},
    {LimitKind::kMemory, "memory"},
    {LimitKind::kTotalBytes, "total-bytes"},
    {LimitKind::kEntries, "entries"},
    {LimitKind::kFileSize, "file-size"},
    {LimitKind::kDepth, "depth"},
    {LimitKind::kRatio, "ratio"},
    {LimitKind::kSandboxSize, "sandbox-size"},
}};

}  // namespace

std::string_view LimitKindName(LimitKind kind) {
  for (const auto& [k, n] : kLimits)
    if (k == kind) return n;
  return "unknown";
}

std::optional<LimitKind> ParseLimitKind(std::string_view name) {
  for (const auto& [k, n] : kLimits)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view FindingKindName(FindingKind kind) {
  for (const auto& [k, n] : kKinds)
    if (k == kind) return n;
  return "unknown";
}

std::optional<FindingKind> ParseFindingKind(std::string_view name) {
  for (const auto& [k, n] : kKinds)
    if (n == name) return k;
  return std::nullopt;
}

bool FindingFailsRun(FindingKind kind) { return kind != FindingKind::kModeCleared && kind != FindingKind::kCheckPassed; }

std::string_view RunStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::kPassed: return "passed";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kAborted: return "aborted";
  }
  return "aborted";
}

void VerifyReport::Add(Finding f) {
  if (findings.size() >= kMaxStoredFindings) {
    // What was dropped is not kept, so whether it would fail the run cannot be said later
    // (nor by an isolated run's parent): a run with dropped findings fails, whatever they were.
    ++findings_dropped;
    if (status == RunStatus::kPassed) status = RunStatus::kFailed;
    if (observer) observer->OnDropped(findings_dropped);
    return;
  }
  if (observer) observer->OnFinding(f);
  findings.push_back(std::move(f));
}

std::string_view SandboxKindName(SandboxKind kind) {
  switch (kind) {
    case SandboxKind::kAuto: return "auto";
    case SandboxKind::kDisk: return "disk";
    case SandboxKind::kTmpfs: return "tmpfs";
  }
  return "auto";
}

std::optional<SandboxKind> ParseSandboxKind(std::string_view name) {
  for (auto k : {SandboxKind::kAuto, SandboxKind::kDisk, SandboxKind::kTmpfs})
    if (SandboxKindName(k) == name) return k;
  return std::nullopt;
}

bool VerifyReport::operator==(const VerifyReport& o) const {
  return status == o.status && abort_status == o.abort_status && source == o.source && format == o.format &&
         algo == o.algo && manifest_used == o.manifest_used && files == o.files && directories == o.directories &&
         symlinks == o.symlinks && hardlinks == o.hardlinks && entries == o.entries && bytes == o.bytes &&
         source_bytes == o.source_bytes && findings == o.findings && findings_dropped == o.findings_dropped &&
         duration_s == o.duration_s && sandbox == o.sandbox && sandbox_removed == o.sandbox_removed &&
         readback == o.readback && limits == o.limits && isolation == o.isolation && sandbox_kind == o.sandbox_kind &&
         sample == o.sample;
}

bool VerifyReport::HasFailingFinding() const {
  for (const auto& f : findings)
    if (FindingFailsRun(f.kind)) return true;
  return false;
}

void VerifyReport::Conclude() {
  if (status == RunStatus::kAborted) return;
  status = (HasFailingFinding() || status == RunStatus::kFailed) ? RunStatus::kFailed
                                                                  : RunStatus::kPassed;
}

int ExitCodeFor(const VerifyReport& report) {
  switch (report.status) {
    case RunStatus::kPassed: return 0;
    case RunStatus::kFailed: return 1;
    case RunStatus::kAborted:
      return report.abort_status.ok() ? 3 : report.abort_status.exit_code();
  }
  return 3;
}

}  // namespace rp
