// The result of one restore test: typed findings, counters and where the sandbox was.
// A failed verification is a result, not an error; only an abort (environment, usage) sets
// `abort_status`. Plain data, copyable; not synchronised.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/hash.h"
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

struct Finding {
  FindingKind kind;
  std::string path;     // raw member path ("" when it concerns the whole source)
  std::string message;  // what happened, for a person
  int64_t offset = -1;  // byte offset in the source where known
};

enum class RunStatus { kPassed, kFailed, kAborted };
std::string_view RunStatusName(RunStatus s);

struct Limits {
  uint64_t max_total_bytes = 64ull << 30;   // bytes written into the sandbox
  uint64_t max_entries = 2'000'000;          // archive members
  uint64_t max_file_bytes = 32ull << 30;    // one member's size
  uint32_t max_depth = 128;                  // path components
  double max_ratio = 1000.0;                 // restored bytes / compressed bytes read
  uint64_t ratio_floor_bytes = 64ull << 20;  // the ratio applies beyond this many bytes
  double max_seconds = 4 * 3600.0;           // wall time of the whole run
  // An isolated run whose worker makes no progress reading the source (no byte read, no
  // entry, no byte restored) for this long is stopped: a hung source (NFS, a stuck pipe) or
  // a decoder that spins. 0 turns it off. The final pass and content checks are exempt.
  double max_stall_seconds = 600.0;
};

// A report stores at most this many findings; the rest are counted in findings_dropped (a
// hostile source can produce one per header it fails to read).
inline constexpr size_t kMaxStoredFindings = 100'000;

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
  std::map<std::string, std::string> isolation;  // protection -> "enforced" / reason missing
  std::string sandbox_kind = "disk";             // "disk" or "tmpfs"

  // Called for every finding as it is stored (the worker streams them to its parent); not
  // for those beyond the cap, which are only counted in findings_dropped.
  std::function<void(const Finding&)> on_finding;
  // Called with the new findings_dropped count each time a finding is dropped.
  std::function<void(uint64_t)> on_dropped;

  void Add(Finding f);
  bool HasFailingFinding() const;
  // Sets status from the findings (unless aborted).
  void Conclude();
};

// Exit code per DESIGN.md: 0 passed, 1 failed, 2 usage, 3 environment.
int ExitCodeFor(const VerifyReport& report);

}  // namespace rp
