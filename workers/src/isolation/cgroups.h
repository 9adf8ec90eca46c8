// Internal: the cgroups a parent puts one worker into, the kernel's bounds on what the worker
// and everything it starts may take: a pids cgroup (processes and threads: RLIMIT_NPROC does
// not hold for a worker whose user is root outside its namespace, so this is what stops a fork
// bomb there) and a memory cgroup (resident memory, tmpfs pages and page cache together; the
// kernel's OOM killer stops the worker at the limit). cgroup v1 (a hierarchy per controller)
// and v2 (one hierarchy) alike. On v1 each cgroup is made beneath the calling process's own, so
// a container's limits still hold; on v2 a cgroup's controllers reach only children of a cgroup
// that holds no process itself, so the worker's is made beneath the hierarchy's root. Either may
// be unavailable; the records say which and why.
// One object per worker; not thread-safe; the destructor removes the cgroups, killing
// whatever is left in them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "rp/isolation.h"
#include "rp/status.h"

namespace rp::detail {

class WorkerCgroups {
 public:
  // Creates the cgroups with their limits: the memory cgroup's is memory_bytes plus
  // sandbox_bytes, for the sandbox's pages, which the kernel charges to the worker too (a
  // tmpfs's, or the page cache of what it writes to disk); `sandbox_what` names them for the
  // record. memory_bytes == 0: no memory cgroup; use == false: none at all, both not requested.
  WorkerCgroups(bool use, uint64_t max_processes, uint64_t memory_bytes, uint64_t sandbox_bytes,
                const std::string& sandbox_what);
  ~WorkerCgroups();
  WorkerCgroups(const WorkerCgroups&) = delete;
  WorkerCgroups& operator=(const WorkerCgroups&) = delete;

  const IsolationRecord& pids() const { return pids_; }
  const IsolationRecord& memory() const { return memory_; }
  // Moves `pid` into every cgroup that was made. Not ok: the cgroup it could not join.
  Status Join(pid_t pid);
  // After the worker ended: the kernel killed a process of the memory cgroup at its limit.
  bool MemoryLimitKilled() const;

 private:
  struct Group {
    std::string dir;  // empty: not made
  };
  Group MakeGroup(const std::string& hierarchy, const char* controller, IsolationRecord* record);
  IsolationRecord pids_{IsolationLayer::kPidsCgroup, LayerState::kUnavailable, ""};
  IsolationRecord memory_{IsolationLayer::kMemoryCgroup, LayerState::kUnavailable, ""};
  Group pids_group_, memory_group_;
  bool v2_ = false;
};

}  // namespace rp::detail
