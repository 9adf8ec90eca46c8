#include "isolation/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The calling process's own cgroup in the hierarchy of `controller` (v1), or in the unified
// hierarchy (controller == nullptr): "/" when it is the root.
std::string OwnCgroup(const char* controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (!controller) {
      if (line.compare(0, a, "0") == 0 && controllers.empty()) return path;
      continue;
    }
    std::stringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ','))
      if (c == controller) return path;
  }
  return "/";
}

// Cgroups left by a parent that was killed (its pid is gone) are removed; rmdir fails on one
// that still holds processes, which is then left alone.
void RemoveOrphans(const std::string& parent) {
  DIR* d = opendir(parent.c_str());
  if (!d) return;
  while (dirent* de = readdir(d)) {
    long owner = 0;
    if (std::sscanf(de->d_name, "restoreproof-%ld-", &owner) == 1 && owner > 0 && owner != getpid() &&
        kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH)
      rmdir((parent + "/" + de->d_name).c_str());
  }
  closedir(d);
}

void RemoveGroup(const std::string& dir) {
  if (dir.empty()) return;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::ifstream procs(dir + "/cgroup.procs");
    pid_t p;
    while (procs >> p) kill(p, SIGKILL);
    usleep(20000);
  }
}

uint64_t CounterValue(const std::string& text, const std::string& key) {
  std::stringstream in(text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

std::string Errno() { return std::strerror(errno); }

std::atomic<unsigned> g_counter{0};

}  // namespace

WorkerCgroups::WorkerCgroups(bool use, uint64_t max_processes, uint64_t memory_bytes, uint64_t sandbox_bytes,
                             const std::string& sandbox_what) {
  if (!use) {
    pids_ = {IsolationLayer::kPidsCgroup, LayerState::kNotRequested, "cgroups not used for this run"};
    memory_ = {IsolationLayer::kMemoryCgroup, LayerState::kNotRequested, "cgroups not used for this run"};
    return;
  }
  const std::string v2_controllers = ReadText(std::string(kRoot) + "/cgroup.controllers");
  v2_ = !v2_controllers.empty() && access((std::string(kRoot) + "/cgroup.procs").c_str(), W_OK) == 0;
  const std::string name = "restoreproof-" + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
  if (v2_) {
    // One cgroup with both controllers. A cgroup's controllers can only be enabled for its
    // children while it holds no process itself, so the worker's goes beneath the root.
    const std::string root = kRoot;
    std::string enable;
    if (v2_controllers.find("pids") != std::string::npos) enable += "+pids ";
    if (memory_bytes && v2_controllers.find("memory") != std::string::npos) enable += "+memory";
    WriteToExistingFile(root + "/cgroup.subtree_control", enable);
    RemoveOrphans(root);
    const std::string dir = root + "/" + name;
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      pids_.detail = memory_.detail = "cannot create " + dir + ": " + Errno();
    } else {
      pids_group_.dir = dir;
      memory_group_.dir = dir;
    }
  } else {
    for (auto [controller, group] : {std::pair{"pids", &pids_group_}, std::pair{"memory", &memory_group_}}) {
      if (std::string(controller) == "memory" && memory_bytes == 0) continue;
      IsolationRecord* record = group == &pids_group_ ? &pids_ : &memory_;
      *group = MakeGroup(std::string(kRoot) + "/" + controller, controller, record);
    }
  }
  // Limits: a cgroup whose limit cannot be set is not used.
  if (!pids_group_.dir.empty()) {
    if (WriteToExistingFile(pids_group_.dir + "/pids.max", std::to_string(max_processes))) {
      pids_ = {IsolationLayer::kPidsCgroup, LayerState::kEnforced,
               "pids cgroup " + pids_group_.dir + " allows " + std::to_string(max_processes) +
                   " processes and threads for the worker and everything it starts"};
    } else {
      pids_.detail = "cannot set " + pids_group_.dir + "/pids.max: " + Errno();
      if (pids_group_.dir != memory_group_.dir) RemoveGroup(pids_group_.dir);
      pids_group_.dir.clear();
    }
  } else if (pids_.detail.empty()) {
    pids_.detail = "no writable pids cgroup (cgroup v1 pids hierarchy or v2 pids controller)";
  }
  if (memory_bytes == 0) {
    memory_ = {IsolationLayer::kMemoryCgroup, LayerState::kNotRequested, "no memory limit asked for"};
    if (memory_group_.dir != pids_group_.dir) RemoveGroup(memory_group_.dir);
    memory_group_.dir.clear();
  } else if (!memory_group_.dir.empty()) {
    const std::string limit = std::to_string(memory_bytes + sandbox_bytes);
    const bool set = v2_ ? WriteToExistingFile(memory_group_.dir + "/memory.max", limit)
                         : WriteToExistingFile(memory_group_.dir + "/memory.limit_in_bytes", limit);
    if (set) {
      // No swap either, where the kernel accounts it; on v2, an OOM kill takes the whole group.
      if (v2_) {
        WriteToExistingFile(memory_group_.dir + "/memory.swap.max", "0");
        WriteToExistingFile(memory_group_.dir + "/memory.oom.group", "1");
      } else {
        WriteToExistingFile(memory_group_.dir + "/memory.memsw.limit_in_bytes", limit);
      }
      memory_ = {IsolationLayer::kMemoryCgroup, LayerState::kEnforced,
                 "memory cgroup " + memory_group_.dir + " limits the worker and everything it starts to " +
                     std::to_string(memory_bytes) + " bytes" +
                     (sandbox_bytes ? " plus " + std::to_string(sandbox_bytes) + " " + sandbox_what : "") +
                     " (resident memory, tmpfs and page cache; no swap)"};
    } else {
      memory_.detail = "cannot set the memory limit of " + memory_group_.dir + ": " + Errno();
      if (memory_group_.dir != pids_group_.dir) RemoveGroup(memory_group_.dir);
      memory_group_.dir.clear();
    }
  } else if (memory_.detail.empty()) {
    memory_.detail = "no writable memory cgroup (cgroup v1 memory hierarchy or v2 memory controller)";
  }
  if (v2_ && pids_group_.dir.empty() && memory_group_.dir.empty()) RemoveGroup(std::string(kRoot) + "/" + name);
}

WorkerCgroups::Group WorkerCgroups::MakeGroup(const std::string& hierarchy, const char* controller,
                                              IsolationRecord* record) {
  Group g;
  if (access((hierarchy + "/cgroup.procs").c_str(), W_OK) != 0) {
    record->detail = std::string("no writable ") + controller + " cgroup hierarchy at " + hierarchy;
    return g;
  }
  // Beneath this process's own cgroup, so the limits of a container or service still apply.
  std::string parent = hierarchy + OwnCgroup(controller);
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  if (access(parent.c_str(), W_OK) != 0) parent = hierarchy;
  RemoveOrphans(parent);
  g.dir = parent + "/restoreproof-" + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
  if (mkdir(g.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    record->detail = "cannot create " + g.dir + ": " + Errno();
    g.dir.clear();
  }
  return g;
}

WorkerCgroups::~WorkerCgroups() {
  RemoveGroup(pids_group_.dir);
  if (memory_group_.dir != pids_group_.dir) RemoveGroup(memory_group_.dir);
}

Status WorkerCgroups::Join(pid_t pid) {
  const std::string text = std::to_string(pid);
  for (const std::string* dir : {&pids_group_.dir, &memory_group_.dir}) {
    if (dir->empty() || (dir == &memory_group_.dir && *dir == pids_group_.dir)) continue;
    if (!WriteToExistingFile(*dir + "/cgroup.procs", text))
      return Status::Environment("cannot move the worker into the cgroup " + *dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool WorkerCgroups::MemoryLimitKilled() const {
  if (memory_group_.dir.empty() || memory_.state != LayerState::kEnforced) return false;
  if (v2_) return CounterValue(ReadText(memory_group_.dir + "/memory.events"), "oom_kill") > 0;
  return CounterValue(ReadText(memory_group_.dir + "/memory.oom_control"), "oom_kill") > 0;
}

}  // namespace rp::detail
