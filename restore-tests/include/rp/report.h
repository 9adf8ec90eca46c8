// The result of one restore test: typed findings, counters and where the sandbox was.
// A failed verification is a result, not an error; only an abort (environment, usage) sets
// `abort_status`. Plain data, copyable; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rp/hash.h"
#include "rp/isolation.h"
#include "rp/sample.h"
#include "rp/status.h"

namespace rp {

enum class FindingKind {
  kChecksumMismatch,  // restored content differs from the manifest
  kMissing,           // in the manifest, not restored
  kUnexpected,        // restored, not in the manifest
  kTypeMismatch,      // manifest lists a file, the source holds a directory/symlink/...
  kSizeMismatch,      // bytes restored differ from the size the source declared
  kCorrupt,           // the archive or its compression reports an integrity error
  kTruncated,         // the source ends early
  kUnsafeEntry,       // refused: path traversal, outward link, device node, ...
  kLimitExceeded,     // a safety limit stopped the run
  kEncrypted,         // encrypted entry, no passphrase configured
  kReadbackMismatch,  // bytes read back from disk differ from the bytes written
  kIoError,           // reading the source or writing the sandbox failed
  kModeCleared,       // setuid/setgid/sticky bit cleared (notice, does not fail the run)
  kWorkerDied,        // the restore process died or was killed
  kEmptySource,       // the source holds no entries at all: an empty recovery point proves nothing
  kCheckPassed,       // a content check passed (notice; path = the check's name)
  kCheckFailed,       // a content check failed (path = the check's name)
};

std::string_view FindingKindName(FindingKind kind);
std::optional<FindingKind> ParseFindingKind(std::string_view name);
// Notices are reported but do not fail the run.
bool FindingFailsRun(FindingKind kind);

// Which safety limit a limit-exceeded finding is about.
enum class LimitKind {
  kWallTime,     // max_seconds
  kStall,        // max_stall_seconds: no progress at all
  kSpin,         // max_spin_seconds: no progress while burning CPU
  kMemory,       // max_memory_bytes
  kTotalBytes,   // max_total_bytes
  kEntries,      // max_entries
  kFileSize,     // max_file_bytes, or the file-size rlimit
  kDepth,        // max_depth
  kRatio,        // max_ratio
  kSandboxSize,  // the tmpfs sandbox's size cap
};
std::string_view LimitKindName(LimitKind kind);  // "wall-time", "stall", "spin", "memory", ...
std::optional<LimitKind> ParseLimitKind(std::string_view name);

struct Finding {
  Finding() = default;
  Finding(FindingKind k, std::string p, std::string m, int64_t off = -1, std::optional<LimitKind> l = std::nullopt)
      : kind(k), path(std::move(p)), message(std::move(m)), offset(off), limit(l) {}

  FindingKind kind = FindingKind::kCorrupt;
  std::string path;     // raw member path ("" when it concerns the whole source)
  std::string message;  // what happened, for a person
  int64_t offset = -1;  // byte offset in the source where known
  std::optional<LimitKind> limit;  // limit-exceeded: which limit
  bool operator==(const Finding&) const = default;
};

enum class RunStatus { kPassed, kFailed, kAborted };
std::string_view RunStatusName(RunStatus s);

// Where a restored tree lives: a directory on disk under the sandbox parent, or a size-capped
// tmpfs mounted on it inside the worker's own mount namespace (restored data never touches a
// disk and vanishes with the worker). As asked for, kAuto picks a tmpfs when the expected size
// is known and fits the memory budget; as recorded for a run, only kDisk or kTmpfs.
enum class SandboxKind { kAuto, kDisk, kTmpfs };
std::string_view SandboxKindName(SandboxKind kind);  // "auto", "disk", "tmpfs"
std::optional<SandboxKind> ParseSandboxKind(std::string_view name);

struct Limits {
  uint64_t max_total_bytes = 64ull << 30;   // bytes written into the sandbox
  uint64_t max_entries = 2'000'000;          // archive members
  uint64_t max_file_bytes = 32ull << 30;    // one member's size
  uint32_t max_depth = 128;                  // path components
  double max_ratio = 1000.0;                 // restored bytes / compressed bytes read
  uint64_t ratio_floor_bytes = 64ull << 20;  // the ratio applies beyond this many bytes
  double max_seconds = 4 * 3600.0;           // wall time of the whole run
  // An isolated run whose worker makes no progress reading the source (no byte read, no
  // entry, no byte restored) for this long is stopped: a hung source (NFS, a stuck pipe, a
  // repository that takes long to answer). 0 turns it off. The final pass and content checks
  // are exempt.
  double max_stall_seconds = 600.0;
  // The same, sooner, for a worker that burns CPU without progress (a decoder that spins on a
  // hostile archive): stopped once it has made no progress for this long while using at least
  // half a core. 0 turns it off.
  double max_spin_seconds = 30.0;
  // Memory the worker may use, enforced by the kernel (a memory cgroup, else the address-space
  // rlimit); reaching it is a limit-exceeded finding. A tmpfs sandbox's size comes on top.
  uint64_t max_memory_bytes = 1ull << 30;
  bool operator==(const Limits&) const = default;
};
// The smallest memory limit accepted (below it a worker cannot start its readers).
inline constexpr uint64_t kMinMemoryLimitBytes = 64ull << 20;

// A report stores at most this many findings; the rest are counted in findings_dropped (a
// hostile source can produce one per header it fails to read), and a run with any dropped
// finding fails.
inline constexpr size_t kMaxStoredFindings = 100'000;

// Told of every finding a report stores, as it stores it (the worker streams them to its
// parent), and of the count of those beyond the cap.
class FindingObserver {
 public:
  virtual ~FindingObserver() = default;
  virtual void OnFinding(const Finding& f) = 0;
  virtual void OnDropped(uint64_t findings_dropped) = 0;
};

struct VerifyReport {
  RunStatus status = RunStatus::kPassed;
  Status abort_status;  // set when status == kAborted (exit 2 or 3)
  std::string source;
  std::string format;  // e.g. "GNU tar format" + filters, or "directory"
  HashAlgo algo = HashAlgo::kXxh128;
  bool manifest_used = false;
  uint64_t files = 0;  // regular files restored and hashed
  uint64_t directories = 0;
  uint64_t symlinks = 0;
  uint64_t hardlinks = 0;
  uint64_t entries = 0;
  uint64_t bytes = 0;             // content bytes written
  uint64_t source_bytes = 0;      // bytes read from the source (compressed)
  std::vector<Finding> findings;  // every finding, in the order found
  uint64_t findings_dropped = 0;  // beyond the cap on stored findings
  double duration_s = 0;
  std::string sandbox;  // where the restore happened
  bool sandbox_removed = false;
  bool readback = false;
  Limits limits;
  IsolationRecords isolation;               // every layer and whether it was in force
  SandboxKind sandbox_kind = SandboxKind::kDisk;  // where the tree was restored: disk or tmpfs
  // A sampled run (VerifyOptions::sample): the slice restored and the point's figures per
  // slice (docs/sampling.md). Unset for a run of the whole point.
  std::optional<SampleFigures> sample;

  FindingObserver* observer = nullptr;  // not owned; not part of the report's value

  bool operator==(const VerifyReport& other) const;

  void Add(Finding f);
  bool HasFailingFinding() const;
  // Sets status from the findings (unless aborted).
  void Conclude();
};

// Exit code per DESIGN.md: 0 passed, 1 failed, 2 usage, 3 environment.
int ExitCodeFor(const VerifyReport& report);

}  // namespace rp
