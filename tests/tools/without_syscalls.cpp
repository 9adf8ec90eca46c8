// Test helper: runs a program with some system calls made to fail, the way a kernel without
// the feature (or a container that filters it) would answer. Used to show what restoreproof
// does when an isolation layer is really unavailable, on a machine where all of them exist.
//   without_syscalls landlock_create_ruleset=ENOSYS unshare=EPERM -- PROGRAM ARGS...
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    const std::string spec = argv[i];
    const size_t eq = spec.find('=');
    const std::string name = spec.substr(0, eq);
    const std::string err = eq == std::string::npos ? "ENOSYS" : spec.substr(eq + 1);
    const int e = err == "EPERM" ? EPERM : err == "EOPNOTSUPP" ? EOPNOTSUPP : err == "EAGAIN" ? EAGAIN : ENOSYS;
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(e)), nr, 0) != 0) {
      std::fprintf(stderr, "without_syscalls: cannot filter %s\n", name.c_str());
      return 125;
    }
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "usage: without_syscalls NAME[=ERRNO]... -- PROGRAM ARGS...\n");
    return 125;
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (seccomp_load(ctx) != 0) {
    std::fprintf(stderr, "without_syscalls: cannot load the filter\n");
    return 125;
  }
  execv(argv[i + 1], argv + i + 1);
  std::perror("without_syscalls: exec");
  return 126;
}
