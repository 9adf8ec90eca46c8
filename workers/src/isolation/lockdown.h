// Internal: how a worker process locks itself down before it opens the source, one layer at a
// time, in this order: no_new_privs, user + network (+ mount) namespaces, the tmpfs sandbox,
// capabilities dropped, Landlock, seccomp, rlimits. Each layer is recorded (rp/isolation.h) as
// enforced, with what exactly, or unavailable, with why; under the `require` policy an
// unavailable layer stops the run.
// Docs: docs/isolation.md. Called once, by the worker's main thread, before any other thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rp/isolation.h"
#include "rp/status.h"

namespace rp::detail {

struct LockdownPlan {
  std::vector<std::string> read_paths;  // the source (file or directory), the manifest
  std::string sandbox_path;             // read-write, nothing else is
  bool tmpfs = false;                   // mount a tmpfs of tmpfs_bytes on sandbox_path
  uint64_t tmpfs_bytes = 0;
  // Check commands: each program's directory may be read and executed, and the absolute paths
  // among their arguments read (a script given to an interpreter). Empty: no exec at all.
  std::vector<std::vector<std::string>> check_commands;
  // rlimits
  uint64_t file_bytes = 0;  // RLIMIT_FSIZE
  uint64_t address_space_bytes = 0;
  uint64_t cpu_seconds = 0;
  uint64_t processes = 64;  // RLIMIT_NPROC: tasks (threads count) of the worker's user
  // The content writer's queue may hold up to 4,096 files opened ahead of their bytes.
  uint64_t open_files = 8192;
  bool require = true;  // policy: an unavailable layer refuses the run
  // The cgroups as the parent set them up, recorded as they are. Without a pids cgroup the
  // worker's processes are bounded only by RLIMIT_NPROC, which does not hold for root: under
  // `require` that refuses the run. Without a memory cgroup the address-space rlimit is set to
  // `memory_bytes` instead of `address_space_bytes`.
  IsolationRecord pids_cgroup{IsolationLayer::kPidsCgroup, LayerState::kUnavailable, ""};
  IsolationRecord memory_cgroup{IsolationLayer::kMemoryCgroup, LayerState::kUnavailable, ""};
  uint64_t memory_bytes = 0;
};

struct LockdownResult {
  IsolationRecords layers;
  Status status;                              // kEnvironment when `require` refused the run
  int sandbox_fd = -1;  // the sandbox root after the lockdown (the tmpfs when mounted)
  bool tmpfs_mounted = false;
};

// Locks the calling process down. `sandbox_fd` is the sandbox directory as created by the
// parent; with tmpfs the returned fd is the mounted file system's root.
LockdownResult Lockdown(const LockdownPlan& plan, int sandbox_fd);

}  // namespace rp::detail
