// What protected one restore: each isolation layer with its state (enforced, unavailable, not
// requested) and a detail for a person (what exactly was enforced, or why it was not). Every
// run records one entry per layer it knows of; the report, the store and the evidence carry the
// list as it is. Plain data; thread-compatible. Layers are described in docs/isolation.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

enum class IsolationLayer {
  kWorkerProcess,           // the restore runs in a separate `restoreproof worker` process
  kNoNewPrivs,              // PR_SET_NO_NEW_PRIVS
  kUserNamespace,           // a new user namespace, only the caller's ids mapped
  kNetworkNamespace,        // a new network namespace: no interfaces, no network
  kMountNamespace,          // a new, private mount namespace
  kPidNamespace,            // a new PID namespace (and its own /proc where it can be mounted)
  kCapabilities,            // every capability dropped, bounding set empty
  kLandlock,                // file system (and TCP) access limited to the source and sandbox
  kSeccomp,                 // system calls denied (sockets, ptrace, mount, exec, ...)
  kRlimits,                 // file size, open files, address space, CPU time, processes, core
  kPidsCgroup,              // the kernel's bound on the worker's processes and threads
  kMemoryCgroup,            // the kernel's bound on the worker's memory
  kTmpfsSandbox,            // the restored tree lives in a size-capped tmpfs, never on disk
  kNoFollowExtraction,      // every path opened beneath the sandbox without following links
  kSymlinkResolutionCheck,  // every restored symlink resolved beneath the sandbox at the end
};

enum class LayerState { kEnforced, kUnavailable, kNotRequested };

struct IsolationRecord {
  IsolationLayer layer = IsolationLayer::kWorkerProcess;
  LayerState state = LayerState::kUnavailable;
  std::string detail;  // for a person: what was enforced, or why not
  bool operator==(const IsolationRecord&) const = default;
};

// "worker_process", "no_new_privs", "user_namespace", ... (docs/isolation.md).
std::string_view IsolationLayerName(IsolationLayer layer);
std::optional<IsolationLayer> ParseIsolationLayer(std::string_view name);
// "enforced", "unavailable", "not_requested".
std::string_view LayerStateName(LayerState state);
std::optional<LayerState> ParseLayerState(std::string_view name);

// The records of one run, at most one per layer, in the order of the enum.
class IsolationRecords {
 public:
  // Sets the layer's state and detail (replacing what was recorded for it).
  void Set(IsolationLayer layer, LayerState state, std::string detail);
  const IsolationRecord* Find(IsolationLayer layer) const;
  bool Enforced(IsolationLayer layer) const;
  const std::vector<IsolationRecord>& records() const { return records_; }
  bool empty() const { return records_.empty(); }
  bool operator==(const IsolationRecords&) const = default;

 private:
  std::vector<IsolationRecord> records_;
};

}  // namespace rp
