#!/bin/sh
# Runs restoreproof under the system-call side of restoreproof.service, without systemd (which
# is not PID 1 on the machines this was written on): a non-root user, no capabilities (empty
# bounding set), no_new_privs, and a seccomp filter built from the unit's own
# SystemCallFilter= lines (expanded with systemd-analyze, applied in order), its
# MemoryDenyWriteExecute= and RestrictAddressFamilies=. Then `restoreproof demo` and a
# `verify` into a tmpfs sandbox (mount, the namespaces, Landlock and the worker's own seccomp
# filter all under the unit's filter). Run as root; needs gcc, libseccomp-dev, setpriv.
# Usage: packaging/unit-check/unit-check.sh [RESTOREPROOF-BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
unit="$here/../restoreproof.service"
bin=$(realpath "${1:-$here/../../build/restoreproof}")
work=$(mktemp -d /tmp/rp-unit-check.XXXXXX)
chmod 755 "$work"
uid=65534 gid=65534   # nobody: a user with no rights of its own, like the unit's restoreproof

expand() {  # a group or a system call -> system call names
  case $1 in
    @*) systemd-analyze syscall-filter "$1" | sed 1d | grep -v '^ *#' | awk 'NF{print $1}' |
          while read -r n; do expand "$n"; done ;;
    *) echo "$1" ;;
  esac
}
: > "$work/allowed"
grep '^SystemCallFilter=' "$unit" | sed 's/^SystemCallFilter=//' | while read -r line; do
  case $line in
    "~"*) for g in ${line#\~}; do expand "$g"; done | sort -u > "$work/remove"
          grep -vxF -f "$work/remove" "$work/allowed" > "$work/next" || true ;;
    *) { cat "$work/allowed"; for g in $line; do expand "$g"; done; } | sort -u > "$work/next" ;;
  esac
  mv "$work/next" "$work/allowed"
done
echo "the unit allows $(wc -l < "$work/allowed") system call names"
for s in capset setrlimit mount unshare landlock_restrict_self seccomp chown setuid sched_setaffinity; do
  grep -qx "$s" "$work/allowed" && echo "  $s: allowed" || echo "  $s: denied"
done
gcc -O2 -Wall -o "$work/filter" "$here/filter.c" -lseccomp

as_unit() {
  setpriv --reuid=$uid --regid=$gid --clear-groups --bounding-set=-all --inh-caps=-all \
    env -i PATH=/usr/bin:/bin HOME="$work" "$work/filter" "$work/allowed" "$@"
}
cp "$bin" "$work/restoreproof"
[ -x "$(dirname "$bin")/restoreproof-worker" ] && cp "$(dirname "$bin")/restoreproof-worker" "$work/"
chown -R $uid:$gid "$work"
cd "$work"
echo "+ restoreproof demo (as uid $uid, under the unit's filter)"
as_unit "$work/restoreproof" demo --no-serve --dir "$work/demo" > "$work/demo.out" 2>&1 && rc=0 || rc=$?
cat "$work/demo.out"
echo "demo exit status: $rc"
echo "+ restoreproof verify --sandbox-kind tmpfs (as uid $uid, under the unit's filter)"
mkdir -p "$work/tree/a" && echo hello > "$work/tree/a/f.txt" && echo world > "$work/tree/g.txt"
(cd "$work/tree" && tar -cf "$work/t.tar" .)
"$work/restoreproof" manifest create "$work/tree" > "$work/t.xxh128"
chown -R $uid:$gid "$work"
as_unit "$work/restoreproof" verify "$work/t.tar" --manifest "$work/t.xxh128" --sandbox "$work/sb" \
  --sandbox-kind tmpfs --expected-size 20480 && rc2=0 || rc2=$?
echo "verify exit status: $rc2"
rm -rf "$work"
[ "$rc" = 0 ] && [ "$rc2" = 0 ]
