#include "rp/isolation.h"

#include <algorithm>
#include <array>
#include <utility>

namespace rp {
namespace {

constexpr std::array<std::pair<IsolationLayer, std::string_view>, 15> kLayers{{
    {IsolationLayer::kWorkerProcess, "worker_process"},
    {IsolationLayer::kNoNewPrivs, "no_new_privs"},
    {IsolationLayer::kUserNamespace, "user_namespace"},
    {IsolationLayer::kNetworkNamespace, "network_namespace"},
    {IsolationLayer::kMountNamespace, "mount_namespace"},
    {IsolationLayer::kPidNamespace, "pid_namespace"},
    {IsolationLayer::kCapabilities, "capabilities"},
    {IsolationLayer::kLandlock, "landlock"},
    {IsolationLayer::kSeccomp, "seccomp"},
    {IsolationLayer::kRlimits, "rlimits"},
    {IsolationLayer::kPidsCgroup, "pids_cgroup"},
    {IsolationLayer::kMemoryCgroup, "memory_cgroup"},
    {IsolationLayer::kTmpfsSandbox, "tmpfs_sandbox"},
    {IsolationLayer::kNoFollowExtraction, "no_follow_extraction"},
    {IsolationLayer::kSymlinkResolutionCheck, "symlink_resolution_check"},
}};

constexpr std::array<std::pair<LayerState, std::string_view>, 3> kStates{{
    {LayerState::kEnforced, "enforced"},
    {LayerState::kUnavailable, "unavailable"},
    {LayerState::kNotRequested, "not_requested"},
}};

}  // namespace

std::string_view IsolationLayerName(IsolationLayer layer) {
  for (const auto& [l, n] : kLayers)
    if (l == layer) return n;
  return "unknown";
}

std::optional<IsolationLayer> ParseIsolationLayer(std::string_view name) {
  for (const auto& [l, n] : kLayers)
    if (n == name) return l;
  return std::nullopt;
}

std::string_view LayerStateName(LayerState state) {
  for (const auto& [s, n] : kStates)
    if (s == state) return n;
  return "unknown";
}

std::optional<LayerState> ParseLayerState(std::string_view name) {
  for (const auto& [s, n] : kStates)
    if (n == name) return s;
  return std::nullopt;
}

void IsolationRecords::Set(IsolationLayer layer, LayerState state, std::string detail) {
  auto it = std::lower_bound(records_.begin(), records_.end(), layer,
                             [](const IsolationRecord& r, IsolationLayer l) { return r.layer < l; });
  if (it != records_.end() && it->layer == layer) {
    it->state = state;
    it->detail = std::move(detail);
  } else {
    records_.insert(it, IsolationRecord{layer, state, std::move(detail)});
  }
}

const IsolationRecord* IsolationRecords::Find(IsolationLayer layer) const {
  for (const auto& r : records_)
    if (r.layer == layer) return &r;
  return nullptr;
}

bool IsolationRecords::Enforced(IsolationLayer layer) const {
  const IsolationRecord* r = Find(layer);
  return r && r->state == LayerState::kEnforced;
}

}  // namespace rp
