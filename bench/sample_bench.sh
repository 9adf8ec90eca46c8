#!/usr/bin/env bash
# The sampled-restore benchmark of issue 18: a 50,000-file directory snapshot verified whole and
# as a 10% sample (`verify --sample 10% --seed N`), through the real `restoreproof verify`,
# best of a few runs each, interleaved. Goal: the sample takes at most 0.2x the full test.
#
# Two times per run: the restore test's own duration, as the appliance records it for a run
# (the report's duration_s: sandbox, worker, restore, verification and wipe, taken inside
# RunVerifyIsolated), on which the goal is judged, since a restore test is what serve and
# agent run, from a process that is already up; and the `verify` command's wall time, which
# adds the command's own start and exit (loading restoreproof's 60 libraries, about 15 ms).
#
# Environment:
#   BENCH_FILES    files in the snapshot (default 50000; 1-16 KiB each, ~400 MiB in all)
#   BENCH_REPS     runs of each command; the best counts (default 3)
#   BENCH_BUILD    build directory holding restoreproof (default build-sample); BENCH_NO_BUILD=1
#                  skips building it
#   BENCH_DATA     where the snapshot and its manifest live (default bench/data/sample); kept
#                  until BENCH_FILES changes
#   BENCH_FS       where the sandboxes are made (default: loop as root, else dir): loop, a fresh
#                  ext4 on a loop device (image under BENCH_DATA, direct I/O) for every run, as
#                  bench/run.sh does: ext4 slows down creating inodes (mkdir above all) for a
#                  minute after as many were deleted, which would bill one run for the last;
#                  dir, a directory under BENCH_DATA
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${BENCH_FILES:-50000}
REPS=${BENCH_REPS:-3}
BUILD=${BENCH_BUILD:-build-sample}
DATA=${BENCH_DATA:-bench/data/sample}
BIN=$BUILD/restoreproof
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  [[ -f $BUILD/build.ninja ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$BUILD" restoreproof >/dev/null
fi
[[ -x $BIN ]] || BIN=$(find "$BUILD" -maxdepth 2 -name restoreproof -type f -perm -u+x | head -1)

SNAP=$DATA/snap-$FILES
mkdir -p "$DATA"
if [[ ! -f $SNAP.done ]]; then
  rm -rf "$SNAP" "$SNAP.xxh128"
  python3 - "$SNAP" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(18)
block = bytes(rng.getrandbits(8) for _ in range(1 << 16))
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 500), "s%d" % (i % 7))
    os.makedirs(d, exist_ok=True)
    size = rng.randint(1024, 16384)
    off = rng.randint(0, len(block) - size)
    with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
        f.write(block[off:off + size] + i.to_bytes(8, "little"))
PY
  "$BIN" manifest create "$SNAP" -o "$SNAP.xxh128"
  touch "$SNAP.done"
fi
FS=${BENCH_FS:-$([[ $(id -u) == 0 ]] && echo loop || echo dir)}
MNT=$DATA/mnt LOOPDEV=
release() {
  if [[ $FS == loop ]]; then
    if mountpoint -q "$MNT"; then umount "$MNT"; fi
    if [[ -n $LOOPDEV ]]; then losetup -d "$LOOPDEV" 2>/dev/null || true; LOOPDEV=; fi
    rm -f "$DATA/fs.img"
  fi
}
trap release EXIT
prepare() {  # a fresh place for the sandboxes: SANDBOXES
  if [[ $FS == loop ]]; then
    truncate -s 4G "$DATA/fs.img"
    mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$DATA/fs.img"
    LOOPDEV=$(losetup --direct-io=on -f --show "$DATA/fs.img")
    mkdir -p "$MNT"
    mount -o noinit_itable "$LOOPDEV" "$MNT"
    SANDBOXES=$MNT/sandboxes
  else
    SANDBOXES=$DATA/sandboxes
  fi
  mkdir -p "$SANDBOXES"
}

run() {  # prints the restore test's duration and the command's wall time, in seconds
  local start end test
  prepare
  sync
  start=$(date +%s.%N)
  "$BIN" verify "$SNAP" --manifest "$SNAP.xxh128" --sandbox "$SANDBOXES" --json "$@" >"$DATA/last.json" \
    2>"$DATA/last.err" || { echo "verify $* failed:" >&2; cat "$DATA/last.err" >&2; exit 1; }
  end=$(date +%s.%N)
  release
  test=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["duration_s"])' "$DATA/last.json")
  echo "$test $(echo "$end - $start" | bc -l)"
}

min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
best_full=999999 best_sample=999999 wall_full=999999 wall_sample=999999
for ((i = 1; i <= REPS; i++)); do
  read -r f fw < <(run)
  read -r s sw < <(run --sample 10% --seed $((1000 + i)))
  printf 'run %d: full %.3f s (command %.3f s), 10%% sample %.3f s (command %.3f s)\n' "$i" "$f" "$fw" "$s" "$sw"
  best_full=$(min "$f" "$best_full") best_sample=$(min "$s" "$best_sample")
  wall_full=$(min "$fw" "$wall_full") wall_sample=$(min "$sw" "$wall_sample")
done
ratio=$(echo "$best_sample / $best_full" | bc -l)
wall_ratio=$(echo "$wall_sample / $wall_full" | bc -l)
echo "sandboxes on: $FS"
printf 'files %d, best of %d: the verify command: full %.3f s, 10%% sample %.3f s, ratio %.3f\n' \
  "$FILES" "$REPS" "$wall_full" "$wall_sample" "$wall_ratio"
printf 'files %d, best of %d: the restore test: full %.3f s, 10%% sample %.3f s, ratio %.3f (goal <= 0.2): %s\n' \
  "$FILES" "$REPS" "$best_full" "$best_sample" "$ratio" \
  "$(echo "$ratio <= 0.2" | bc -l | sed 's/1/met/;s/0/NOT met/')"
