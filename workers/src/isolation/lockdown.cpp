#include "isolation/lockdown.h"

#include <fcntl.h>
#include <glob.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/securebits.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

std::string Errno(int e) { return std::string(strerrordesc_np(e) ? strerrordesc_np(e) : "error") + " (" + strerrorname_np(e) + ")"; }

// Landlock constants newer than Debian 12's kernel headers (6.1), with the ABI that brought
// them. The kernel checks the attribute size, so fields an older ABI lacks stay zero.
constexpr uint64_t kFsRefer = 1ull << 13;     // ABI 2
constexpr uint64_t kFsTruncate = 1ull << 14;  // ABI 3
constexpr uint64_t kFsIoctlDev = 1ull << 15;  // ABI 5
constexpr uint64_t kNetBindTcp = 1ull << 0;   // ABI 4
constexpr uint64_t kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnix = 1ull << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ull << 1;

struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct PathBeneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));


class Layers {
 public:
  Layers(const LockdownPlan& plan, LockdownResult* result) : plan_(plan), result_(result) {}

  void Enforced(IsolationLayer layer, std::string what) {
    result_->layers.Set(layer, LayerState::kEnforced, std::move(what));
  }
  // False when the policy requires the layer: the run must stop.
  bool Unavailable(IsolationLayer layer, const std::string& why) {
    result_->layers.Set(layer, LayerState::kUnavailable, why);
    if (plan_.require && result_->status.ok())
      result_->status = Status::Environment("isolation layer '" + std::string(IsolationLayerName(layer)) +
                                            "' is unavailable (" + why +
                                            ") and the isolation policy is 'require': the restore was refused; "
                                            "set the policy to 'best-effort' to run without it");
    return !plan_.require;
  }

 private:
  const LockdownPlan& plan_;
  LockdownResult* result_;
};

// The calling process stays outside as a waiter; a child, pid 1 of a new PID namespace, goes
// on: when it ends, the kernel kills every process left in that namespace (a check command's
// stray children included).
[[noreturn]] void WaitAndRelay(pid_t child) {
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
}

// The four namespaces come from one unshare(): they are in force together or not at all.
bool NamespacesUnavailable(Layers* layers, const std::string& why) {
  bool go_on = true;
  for (auto layer : {IsolationLayer::kUserNamespace, IsolationLayer::kNetworkNamespace, IsolationLayer::kMountNamespace,
                     IsolationLayer::kPidNamespace})
    go_on = layers->Unavailable(layer, why) && go_on;
  return go_on;
}

bool Namespaces(Layers* layers, bool* have_mount_ns) {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID) != 0)
    return NamespacesUnavailable(layers, "unshare(user, network, mount, pid): " + Errno(errno));
  // From here on this process may not create threads (its children, not itself, are in the
  // new PID namespace): the fork comes first, whatever happens after it.
  const pid_t child = fork();
  if (child < 0) return NamespacesUnavailable(layers, "fork into the PID namespace: " + Errno(errno));
  if (child > 0) WaitAndRelay(child);
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the waiter (its parent is outside this PID namespace)
  // Only our own ids are mapped: inside, uid 0 is this process's user, with no power outside.
  if (!WriteToExistingFile("/proc/self/setgroups", "deny") ||
      !WriteToExistingFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !WriteToExistingFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
    return NamespacesUnavailable(layers, "cannot write the user namespace's id maps: " + Errno(errno));
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return NamespacesUnavailable(layers, "cannot make the mount namespace private: " + Errno(errno));
  *have_mount_ns = true;
  // A /proc of this PID namespace: the host's processes (the parent's environment among them,
  // which may hold a repository secret) are not even listed. A machine that refuses the mount
  // (a container with parts of /proc masked) keeps the inherited one, and the report says so;
  // Landlock, where present, denies /proc altogether.
  const bool own_proc = mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0;
  const std::string proc_note = own_proc ? "; its own /proc (no other process visible)"
                                         : "; but the host's /proc stays visible (mount proc: " + Errno(errno) + ")";
  layers->Enforced(IsolationLayer::kUserNamespace, "only uid " + std::to_string(uid) + " mapped, to root inside");
  layers->Enforced(IsolationLayer::kNetworkNamespace, "no interfaces up: no network");
  layers->Enforced(IsolationLayer::kMountNamespace, "private: mounts made inside stay inside");
  layers->Enforced(IsolationLayer::kPidNamespace, "everything left is killed when the worker ends" + proc_note);
  return true;
}

bool Tmpfs(const LockdownPlan& plan, bool have_mount_ns, Layers* layers, LockdownResult* result) {
  if (!have_mount_ns)
    return layers->Unavailable(IsolationLayer::kTmpfsSandbox, "needs a private mount namespace, which is unavailable; "
                                                "restoring to the disk directory instead");
  const std::string opts = "size=" + std::to_string(plan.tmpfs_bytes) + ",mode=0700";
  if (mount("restoreproof-sandbox", plan.sandbox_path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            opts.c_str()) != 0)
    return layers->Unavailable(IsolationLayer::kTmpfsSandbox, "mount tmpfs: " + Errno(errno) + "; restoring to the disk directory instead");
  const int fd = open(plan.sandbox_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return layers->Unavailable(IsolationLayer::kTmpfsSandbox, "cannot open the mounted tmpfs: " + Errno(errno));
  result->sandbox_fd = fd;
  result->tmpfs_mounted = true;
  layers->Enforced(IsolationLayer::kTmpfsSandbox, "tmpfs of " + std::to_string(plan.tmpfs_bytes) +
                                        " bytes (nosuid, nodev, noexec) in the worker's own mount namespace: "
                                        "gone with the worker");
  return true;
}

bool DropCapabilities(Layers* layers) {
  // No root semantics on exec, then an empty bounding set, then no capabilities at all.
  prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                               SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED);
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap) < 0) break;
    prctl(PR_CAPBSET_DROP, cap);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capset, &hdr, data) != 0)
    return layers->Unavailable(IsolationLayer::kCapabilities, "capset: " + Errno(errno));
  if (syscall(SYS_capget, &hdr, data) != 0 || data[0].effective || data[0].permitted || data[1].effective ||
      data[1].permitted)
    return layers->Unavailable(IsolationLayer::kCapabilities, "capabilities still held after capset");
  layers->Enforced(IsolationLayer::kCapabilities, "all dropped, bounding set empty, no root privileges on exec");
  return true;
}

bool AddPathRule(int ruleset, const std::string& path, uint64_t dir_access, uint64_t file_access, std::string* why) {
  const UniqueFd fd(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) {
    *why = "cannot open " + path + ": " + Errno(errno);
    return false;
  }
  struct stat st {};
  fstat(fd.get(), &st);
  PathBeneath rule{S_ISDIR(st.st_mode) ? dir_access : file_access, fd.get()};
  const long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  const int e = errno;
  if (rc != 0) {
    *why = "landlock_add_rule(" + path + "): " + Errno(e);
    return false;
  }
  return true;
}

bool Landlock(const LockdownPlan& plan, int sandbox_fd, Layers* layers) {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    const int e = errno;
    return layers->Unavailable(IsolationLayer::kLandlock, e == EOPNOTSUPP ? "disabled in this kernel's boot configuration"
                                                           : "not supported by this kernel: " + Errno(e));
  }
  constexpr uint64_t kFileRights =
      LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE;
  uint64_t fs = kFileRights | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  uint64_t file_extra = 0;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) {
    fs |= kFsTruncate;
    file_extra |= kFsTruncate;
  }
  if (abi >= 5) fs |= kFsIoctlDev;
  RulesetAttr attr{fs, abi >= 4 ? (kNetBindTcp | kNetConnectTcp) : 0, abi >= 6 ? (kScopeAbstractUnix | kScopeSignal) : 0};
  const size_t attr_size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  const long ruleset = syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset < 0) return layers->Unavailable(IsolationLayer::kLandlock, "landlock_create_ruleset: " + Errno(errno));
  const int rs = static_cast<int>(ruleset);
  std::string why;
  bool ok = true;
  const uint64_t read_dir = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  for (const auto& p : plan.read_paths) {
    // A source or manifest that cannot be opened gets no rule: opening it later fails with
    // its own error ("cannot read manifest ...: No such file"), which says more than this would.
    if (access(p.c_str(), F_OK) != 0) continue;
    ok = ok && AddPathRule(rs, p, read_dir, LANDLOCK_ACCESS_FS_READ_FILE, &why);
  }
  // The sandbox: everything but executing, device nodes, FIFOs, sockets and device ioctls.
  const uint64_t sandbox = fs & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                                  LANDLOCK_ACCESS_FS_MAKE_SOCK | kFsIoctlDev);
  if (ok) {
    PathBeneath rule{sandbox, sandbox_fd};
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
      why = "landlock_add_rule(sandbox): " + Errno(errno);
      ok = false;
    }
  }
  // Character-set conversion data libarchive may load for zip/7z names.
  glob_t g{};
  if (glob("/usr/lib/*/gconv", GLOB_ONLYDIR, nullptr, &g) == 0)
    for (size_t i = 0; ok && i < g.gl_pathc; ++i) ok = AddPathRule(rs, g.gl_pathv[i], read_dir, LANDLOCK_ACCESS_FS_READ_FILE, &why);
  globfree(&g);
  std::string exec_note = "no program may be executed";
  if (ok && !plan.check_commands.empty()) {
    // The check commands and the system's programs and libraries they may need: read and
    // execute, never write.
    const uint64_t rx = read_dir | LANDLOCK_ACCESS_FS_EXECUTE;
    for (const char* sys : {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc/ld.so.cache"})
      if (access(sys, F_OK) == 0) ok = ok && AddPathRule(rs, sys, rx, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE, &why);
    for (const auto& argv : plan.check_commands) {
      if (argv.empty()) continue;
      // The program's own directory: an operator's check may be a script with helpers beside it.
      const std::string& program = argv[0];
      const size_t slash = program.rfind('/');
      const std::string dir = slash == 0 || slash == std::string::npos ? program : program.substr(0, slash);
      if (access(dir.c_str(), F_OK) == 0)
        ok = ok && AddPathRule(rs, dir, rx, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE, &why);
      for (size_t i = 1; i < argv.size(); ++i)
        if (!argv[i].empty() && argv[i][0] == '/' && access(argv[i].c_str(), F_OK) == 0)
          ok = ok && AddPathRule(rs, argv[i], read_dir, LANDLOCK_ACCESS_FS_READ_FILE, &why);
    }
    ok = ok && AddPathRule(rs, "/dev/null", 0, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | file_extra, &why);
    exec_note = "the check commands' directories and system programs may be executed, read-only";
  }
  if (ok && syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
    why = "landlock_restrict_self: " + Errno(errno);
    ok = false;
  }
  close(rs);
  if (!ok) return layers->Unavailable(IsolationLayer::kLandlock, why);
  std::string what = "ABI " + std::to_string(abi) + ": read-only source, read-write sandbox, nothing else; " + exec_note;
  what += abi >= 4 ? "; TCP bind and connect denied" : "; TCP not covered (ABI < 4)";
  if (abi >= 6) what += "; signals and abstract sockets scoped to the worker";
  layers->Enforced(IsolationLayer::kLandlock, what);
  return true;
}

bool Seccomp(const LockdownPlan& plan, Layers* layers) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return layers->Unavailable(IsolationLayer::kSeccomp, "seccomp_init failed");
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
  int rc = 0;
  std::vector<const char*> denied = {
      "socket", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
      "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
      "init_module", "finit_module", "delete_module", "add_key", "request_key", "keyctl", "kexec_load",
      "kexec_file_load", "reboot", "swapon", "swapoff", "bpf", "perf_event_open", "unshare", "setns",
      "mknod", "mknodat", "open_by_handle_at", "name_to_handle_at", "userfaultfd", "io_uring_setup",
      "acct", "quotactl", "settimeofday", "clock_settime", "adjtimex", "syslog", "personality",
      "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"};
  if (plan.check_commands.empty()) {
    denied.push_back("execve");
    denied.push_back("execveat");
  }
  for (const char* name : denied) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    rc = rc ? rc : seccomp_rule_add(ctx, deny, nr, 0);
  }
  // No new namespaces through clone either; clone3's flags sit behind a pointer the filter
  // cannot read, so it reports ENOSYS and glibc falls back to clone.
  for (int f : {CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP}) {
    const auto flag = static_cast<scmp_datum_t>(static_cast<unsigned>(f));
    rc = rc ? rc : seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
  }
  rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) {
    seccomp_release(ctx);
    return layers->Unavailable(IsolationLayer::kSeccomp, std::string("building the filter: ") + std::strerror(-rc));
  }
  rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) return layers->Unavailable(IsolationLayer::kSeccomp, std::string("loading the filter: ") + std::strerror(-rc));
  layers->Enforced(IsolationLayer::kSeccomp, std::string("denied: sockets, ptrace, mount, modules, keys, namespaces, device nodes, bpf, ") +
                                  (plan.check_commands.empty() ? "exec" : "(exec allowed for the check commands)"));
  return true;
}

bool Rlimits(const LockdownPlan& plan, Layers* layers) {
  struct Item {
    int resource;
    const char* name;
    uint64_t value;
  };
  // Without a memory cgroup, the address space is what bounds the worker's memory.
  const bool memory_cgroup = plan.memory_cgroup.state == LayerState::kEnforced;
  const uint64_t address_space = memory_cgroup || plan.memory_bytes == 0 ? plan.address_space_bytes : plan.memory_bytes;
  const Item items[] = {{RLIMIT_FSIZE, "file size", plan.file_bytes},
                        {RLIMIT_NOFILE, "open files", plan.open_files},
                        {RLIMIT_AS, memory_cgroup ? "address space" : "address space (the memory limit)", address_space},
                        {RLIMIT_CPU, "CPU seconds", plan.cpu_seconds},
                        {RLIMIT_NPROC, "processes", plan.processes},
                        {RLIMIT_CORE, "core dump bytes", 0}};
  std::string what;
  for (const auto& it : items) {
    if (it.value == 0 && it.resource != RLIMIT_CORE) continue;
    const rlimit rl{static_cast<rlim_t>(it.value), static_cast<rlim_t>(it.value)};
    if (setrlimit(it.resource, &rl) != 0)
      return layers->Unavailable(IsolationLayer::kRlimits, std::string("setrlimit(") + it.name + "): " + Errno(errno));
    if (!what.empty()) what += ", ";
    what += std::string(it.name) + " " + std::to_string(it.value);
  }
  layers->Enforced(IsolationLayer::kRlimits, what);
  return true;
}

}  // namespace

LockdownResult Lockdown(const LockdownPlan& plan, int sandbox_fd) {
  LockdownResult result;
  result.sandbox_fd = sandbox_fd;
  Layers layers(plan, &result);
  // The cgroups are the parent's: recorded as they are. Without a pids cgroup, RLIMIT_NPROC
  // (set below) bounds the processes of a worker whose user is not root; for root nothing does.
  result.layers.Set(IsolationLayer::kMemoryCgroup, plan.memory_cgroup.state, plan.memory_cgroup.detail);
  if (plan.pids_cgroup.state == LayerState::kEnforced)
    result.layers.Set(IsolationLayer::kPidsCgroup, plan.pids_cgroup.state, plan.pids_cgroup.detail);
  else if (geteuid() != 0)
    result.layers.Set(IsolationLayer::kPidsCgroup, plan.pids_cgroup.state,
                      plan.pids_cgroup.detail + "; RLIMIT_NPROC bounds the processes of the worker's user instead");
  else if (!layers.Unavailable(IsolationLayer::kPidsCgroup,
                               plan.pids_cgroup.detail + "; and RLIMIT_NPROC does not bind root: nothing would "
                                                         "bound the worker's processes"))
    return result;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    layers.Enforced(IsolationLayer::kNoNewPrivs, "set-user-ID bits and file capabilities give nothing on exec");
  else if (!layers.Unavailable(IsolationLayer::kNoNewPrivs, "prctl(PR_SET_NO_NEW_PRIVS): " + Errno(errno)))
    return result;
  bool mount_ns = false;
  if (!Namespaces(&layers, &mount_ns)) return result;
  if (plan.tmpfs && !Tmpfs(plan, mount_ns, &layers, &result)) return result;
  if (mount_ns && result.sandbox_fd == sandbox_fd) {
    // The inherited descriptor belongs to the parent's mount namespace, where paths beneath
    // it look unreachable from here (getcwd fails in a check command): reopen the same
    // directory through this namespace's copy of the mount.
    struct stat a {}, b {};
    UniqueFd fd(open(plan.sandbox_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd && fstat(fd.get(), &a) == 0 && fstat(sandbox_fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      result.sandbox_fd = fd.Release();  // the worker's for the rest of its life
  }
  if (!DropCapabilities(&layers)) return result;
  if (!Landlock(plan, result.sandbox_fd, &layers)) return result;
  if (!Seccomp(plan, &layers)) return result;
  Rlimits(plan, &layers);
  return result;
}

}  // namespace rp::detail
