// Internal: the protocol between a parent and its `restoreproof worker`, written and read only
// here (docs/worker-protocol.md). The parent hands the job on the worker's stdin as one JSON
// document; the worker answers on stdout with JSON lines: progress at least twice a second,
// each finding as it is found, and one final result. Everything a worker says is untrusted (it
// has parsed hostile bytes): a line that is not what the protocol says is ignored, never a
// crash. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pipeline/restore_job.h"
#include "rp/isolation.h"
#include "rp/report.h"
#include "rp/verify.h"

namespace rp::detail {

constexpr int kWorkerProtocol = 2;

// Descriptors a worker inherits.
constexpr int kSandboxFd = 3;    // the sandbox directory (holds its lock)
constexpr int kManifestFd = 4;   // --write-manifest output, when asked for
constexpr int kInventoryFd = 5;  // --write-inventory output, when asked for

// The worker's exit status when an allocation failed under its memory limit: the parent
// reports the limit as reached.
constexpr int kWorkerExitOutOfMemory = 86;

struct WorkerJob {
  VerifyOptions options;  // the fields a worker uses
  std::string sandbox_path;
  bool tmpfs = false;
  uint64_t tmpfs_bytes = 0;
  bool manifest_out = false;
  bool inventory_out = false;
  // How the parent bounds the worker from outside, recorded in the report as the parent set
  // them up.
  IsolationRecord pids_cgroup{IsolationLayer::kPidsCgroup, LayerState::kUnavailable, "not reported by the parent"};
  IsolationRecord memory_cgroup{IsolationLayer::kMemoryCgroup, LayerState::kUnavailable, "not reported by the parent"};
};

std::string EncodeJob(const WorkerJob& job);
// kUsage with the reason when the text is not a job this worker understands.
Status DecodeJob(std::string_view text, WorkerJob* job);

std::string_view RunPhaseName(RunPhase phase);  // "manifest", "restore", "final"

// What the worker says while it runs.
struct WorkerProgress {
  Progress progress;                   // entries, files, bytes, current entry, elapsed time
  uint64_t source_bytes = 0;           // bytes of the source read so far
  uint64_t manifest_rows = 0;          // manifest lines read so far
  RunPhase phase = RunPhase::kManifest;
  uint64_t findings_dropped = 0;       // findings beyond the report's cap
  double cpu_s = 0;                    // CPU time of all the worker's threads so far
};

// The layers in force, sent once the worker is locked down: the parent keeps them for a run
// whose worker dies before its result.
std::string EncodeIsolationLine(const IsolationRecords& layers);
std::string EncodeProgressLine(const WorkerProgress& p);
std::string EncodeFindingLine(const Finding& f);
std::string EncodeResultLine(const VerifyReport& r);

struct WorkerLine {
  enum class Type { kIsolation, kProgress, kFinding, kResult };
  Type type = Type::kProgress;
  IsolationRecords isolation;  // kIsolation
  WorkerProgress progress;     // kProgress
  Finding finding;          // kFinding
  VerifyReport result;      // kResult
};
// nullopt: not a line of the protocol.
std::optional<WorkerLine> DecodeLine(std::string_view line);

}  // namespace rp::detail
