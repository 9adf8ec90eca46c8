// The system-call side of restoreproof.service without systemd: loads a seccomp filter that
// allows what the unit's SystemCallFilter= lines allow (the list comes from unit-check.sh,
// expanded with systemd-analyze), with MemoryDenyWriteExecute= and RestrictAddressFamilies=
// as systemd implements them, then runs the command. Denied calls fail with EPERM, as with
// the unit's SystemCallErrorNumber=EPERM. Usage: filter ALLOWED-LIST-FILE COMMAND ARGS...
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <unistd.h>

static int Special(const char* n) {
  return !strcmp(n, "mmap") || !strcmp(n, "mprotect") || !strcmp(n, "pkey_mprotect") || !strcmp(n, "shmat") ||
         !strcmp(n, "socket");
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ALLOWED-LIST COMMAND ARGS...\n", argv[0]);
    return 2;
  }
  FILE* f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 2; }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(1 /* EPERM */));
  seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);  // SystemCallArchitectures=native
  seccomp_arch_add(ctx, SCMP_ARCH_NATIVE);
  char name[128];
  int n = 0;
  while (fscanf(f, "%127s", name) == 1) {
    if (Special(name)) continue;
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0) ++n;
  }
  fclose(f);
  const scmp_datum_t wx = PROT_WRITE | PROT_EXEC;
  int rc = 0;
  // MemoryDenyWriteExecute=: no mapping both writable and executable, no mprotect to executable.
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wx, 0));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wx, PROT_WRITE));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wx, PROT_EXEC));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(pkey_mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(shmat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, 0));
  // RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6.
  static const int kFamilies[] = {AF_UNIX, AF_INET, AF_INET6};
  for (unsigned i = 0; i < 3; ++i)
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)kFamilies[i]));
  if (rc) { fprintf(stderr, "building the filter failed\n"); return 2; }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_load(ctx) != 0) {  // NoNewPrivileges=yes
    perror("seccomp_load");
    return 2;
  }
  fprintf(stderr, "filter: %d system calls allowed (+ mmap/mprotect/shmat/socket with conditions)\n", n);
  execvp(argv[2], argv + 2);
  perror(argv[2]);
  return 127;
}
