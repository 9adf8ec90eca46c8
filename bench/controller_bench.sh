#!/usr/bin/env bash
# The benchmarks of the controller issue in one command, each against its baseline or its goal
# figure, in one summary table (docs/BENCHMARKS.md, "Controller"):
#   1. drill    `drill run` of 20 small targets with workers = 1, against the same 20 restores
#               run one after another with `restoreproof verify` (goal: at most 1.05x)
#   2. store    with 100,000 runs stored, `runs list --target T --since D` end to end (goal:
#               under 50 ms), and ClaimRun, RecordStart and FinishRun, each a durable commit
#               (goal: under 5 ms)
#   3. fire     FireDue of 10,000 targets' tests, all due (goal: under 1 s)
#      serve    `serve` with 1,000 targets, idle: VmRSS and VmHWM (goal: under 64 MiB)
#
#   bench/controller_bench.sh                   full run
#   BENCH_REF=HEAD bench/controller_bench.sh    as recorded: a clean export of a commit
#
# Environment:
#   BENCH_REPS         repetitions of the drill and of the verify loop, interleaved, the order
#                      swapped every repetition (default 7; medians are reported)
#   BENCH_DRILL_TARGETS  targets of the drill (default 20)
#   BENCH_RUNS         runs in the store (default 100000), over BENCH_STORE_TARGETS (500)
#   BENCH_OPS          runs taken through ClaimRun, RecordStart and FinishRun (default 200)
#   BENCH_LIST_REPS    timings of `runs list` and ListRuns (default 20)
#   BENCH_FIRE_TARGETS targets of FireDue (default 10000)
#   BENCH_SERVE_TARGETS targets of serve (default 1000); BENCH_SERVE_IDLE seconds it idles after
#                      its first catalog check before its memory is read (default 20)
#   BENCH_BUILD        build directory (default build-bench-ctl, or build-bench-ctl-ref with
#                      BENCH_REF); BENCH_NO_BUILD=1 skips the build
#   BENCH_REF          a commit to build from a clean `git archive` export instead of the work tree
#   BENCH_NICE         niceness of the timed commands (default -10 as root, else unset)
#
# Everything is written under bench/data/controller/ (the stores, sandboxes and copies, on the
# disk that holds the work tree); the report and the drill's raw figures go to bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPS=${BENCH_REPS:-7}
DRILL_TARGETS=${BENCH_DRILL_TARGETS:-20}
RUNS=${BENCH_RUNS:-100000}
STORE_TARGETS=${BENCH_STORE_TARGETS:-500}
OPS=${BENCH_OPS:-200}
LIST_REPS=${BENCH_LIST_REPS:-20}
FIRE_TARGETS=${BENCH_FIRE_TARGETS:-10000}
SERVE_TARGETS=${BENCH_SERVE_TARGETS:-1000}
SERVE_IDLE=${BENCH_SERVE_IDLE:-20}
if [[ $(id -u) == 0 ]]; then NICE=${BENCH_NICE--10}; else NICE=${BENCH_NICE:-}; fi
if [[ -n ${BENCH_REF:-} ]]; then BUILD=${BENCH_BUILD:-$ROOT/build-bench-ctl-ref}; else BUILD=${BENCH_BUILD:-$ROOT/build-bench-ctl}; fi
WORK=$ROOT/bench/data/controller
RESULTS=$ROOT/bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$RESULTS/$STAMP-controller.csv
REPORT=$RESULTS/$STAMP-controller.txt

log() { printf '%s\n' "$*" >&2; }
die() { log "controller_bench: $*"; exit 1; }

# --- build (Release, own build directory) ------------------------------------------------------
SRC=$ROOT
if [[ -n ${BENCH_REF:-} ]]; then
  commit=$(git -C "$ROOT" rev-parse --verify "$BENCH_REF^{commit}") || die "unknown BENCH_REF '$BENCH_REF'"
  SRC=$BUILD/src
  BUILT_FROM="clean export of commit ${commit:0:12}"
else
  changed=$(git -C "$ROOT" status --porcelain -- controller config workers restore-tests app cmake CMakeLists.txt \
    2>/dev/null | wc -l)
  BUILT_FROM="work tree at commit $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo '?')"
  [[ $changed != 0 ]] && BUILT_FROM+=" with $changed uncommitted source files"
fi
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  if [[ $SRC != "$ROOT" ]]; then
    rm -rf "$SRC"
    mkdir -p "$SRC"
    git -C "$ROOT" archive "$commit" | tar -x -C "$SRC"
    [[ -f $SRC/bench/controller_bench.cpp ]] || die "commit $commit has no bench/controller_bench.cpp: use a later one"
  fi
  generator_args=()
  if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator_args=(-G Ninja); fi
  # -Wno-error=restrict: GCC 12 at -O3 reports a false -Wrestrict (GCC bug 105329).
  cmake -S "$SRC" -B "$BUILD" ${generator_args[@]+"${generator_args[@]}"} -DCMAKE_BUILD_TYPE=Release -DRP_TESTS=OFF \
    -DRP_BENCH=ON -DCMAKE_CXX_FLAGS="-Wno-error=restrict" >/dev/null
  cmake --build "$BUILD" --target restoreproof controller_bench -j "$(nproc)" >/dev/null \
    || die "build failed: cmake --build $BUILD --target restoreproof controller_bench"
else
  BUILT_FROM="an existing build in $BUILD (BENCH_NO_BUILD=1)"
fi
RP=$BUILD/restoreproof
CB=$BUILD/controller_bench
[[ -x $RP && -x $CB ]] || die "no build in $BUILD"

run_nice() { if [[ -n $NICE ]]; then nice -n "$NICE" "$@"; else "$@"; fi; }
# CPU time the VM's host took from this machine (steal, /proc/stat, summed over the CPUs), ticks.
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
TICK=$(getconf CLK_TCK)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# `key value` lines of controller_bench into KV[key].
declare -A KV
read_kv() { while read -r k v; do KV[$k]=$v; done <"$1"; }
# median FORMAT < numbers
median() { sort -g | awk -v f="$1" '{ v[NR] = $1 } END { printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkdir -p "$WORK" "$RESULTS"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
steal_start=$(steal_ticks)
log "controller_bench: $BUILT_FROM; work in $WORK"

# --- 1. drill against a verify loop ------------------------------------------------------------
D=$WORK/drill
"$CB" estate "$D" --targets "$DRILL_TARGETS" >/dev/null
SANDBOXES=$D/sandboxes
mkdir -p "$SANDBOXES"
ARCHIVES=()
for dir in "$D"/estate/t*; do ARCHIVES+=("$(ls "$dir"/*.tar.zst)"); done
cat "${ARCHIVES[@]}" "${ARCHIVES[@]/%/.xxh128}" >/dev/null  # a warm cache for both

echo "rep,tool,wall_s,engine_s,steal_s,startup_ms,between_ms,around_ms,tail_ms" >"$RAW"
REPORT_DB=
verify_loop() {  # verify_loop REP: the baseline, each verify's report kept for its duration_s
  local i=0 a
  for a in "${ARCHIVES[@]}"; do
    i=$((i + 1))
    run_nice "$RP" verify "$a" --manifest "$a.xxh128" --sandbox "$SANDBOXES" --sandbox-kind disk --json \
      >"$D/verify-$1-$i.json" || die "verify $a failed (rep $1)"
  done
}
time_one() {  # time_one REP TOOL
  local rep=$1 tool=$2 s0 s1 t0 t1 wall steal engine extra=",,,"
  if [[ $tool == drill ]]; then
    rm -rf "$D/data-$rep"
    mkdir -p "$D/data-$rep"
    sed -e "s|@DATA_DIR@|$D/data-$rep|" -e "s|@SANDBOX_DIR@|$SANDBOXES|" "$D/drill.toml.in" >"$D/drill-$rep.toml"
  fi
  sync
  s0=$(steal_ticks)
  t0=$(now_ms)
  if [[ $tool == drill ]]; then
    run_nice "$RP" --config "$D/drill-$rep.toml" drill run >"$D/drill-$rep.out" 2>"$D/drill-$rep.log" \
      || die "drill run failed (rep $rep): see $D/drill-$rep.log"
  else
    verify_loop "$rep"
  fi
  t1=$(now_ms)
  s1=$(steal_ticks)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  steal=$(awk -v a="$s0" -v b="$s1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
  if [[ $tool == drill ]]; then
    "$CB" drill-log "$D/drill-$rep.log" "$t0" "$t1" >"$D/drill-$rep.kv"
    read_kv "$D/drill-$rep.kv"
    [[ ${KV[drill_runs]} == "$DRILL_TARGETS" ]] || die "the drill recorded ${KV[drill_runs]} runs"
    engine=$(awk -v m="${KV[drill_engine_ms]}" 'BEGIN { printf "%.3f", m / 1000 }')
    extra="${KV[drill_startup_ms]},${KV[drill_between_ms]},${KV[drill_around_ms]},${KV[drill_tail_ms]}"
    if [[ -z $REPORT_DB ]]; then  # a real run's report, for the store's 100,000
      REPORT_DB=$D/report-source.db
      cp "$D/data-$rep/restoreproof.db" "$REPORT_DB"
    fi
    rm -rf "$D/data-$rep"
  else
    engine=$(sed -n 's/^  "duration_s": \([0-9.e+-]*\),*$/\1/p' "$D"/verify-"$rep"-*.json | awk '{ s += $1 } END { printf "%.3f", s }')
    if grep -L '"status": "passed"' "$D"/verify-"$rep"-*.json | grep -q .; then die "a verify did not pass (rep $rep)"; fi
  fi
  echo "$rep,$tool,$wall,$engine,$steal,$extra" >>"$RAW"
  log "  rep $rep $tool: ${wall} s (engine ${engine} s, steal ${steal} s)"
}
log "1. drill of $DRILL_TARGETS targets against $DRILL_TARGETS verify runs, $REPS repetitions"
for rep in $(seq 1 "$REPS"); do
  if ((rep % 2)); then order=(verify drill); else order=(drill verify); fi
  for tool in "${order[@]}"; do time_one "$rep" "$tool"; done
done
col() { awk -F, -v t="$1" -v c="$2" 'NR > 1 && $2 == t { print $c }' "$RAW" | median "$3"; }
verify_s=$(col verify 3 %.2f)
drill_s=$(col drill 3 %.2f)
verify_engine=$(col verify 4 %.2f)
drill_engine=$(col drill 4 %.2f)
drill_ratio=$(awk -v a="$(col drill 3 %.6f)" -v b="$(col verify 3 %.6f)" 'BEGIN { printf "%.2f", a / b }')
drill_startup=$(col drill 6 %.0f)
drill_between=$(col drill 7 %.0f)
drill_around=$(col drill 8 %.0f)
drill_tail=$(col drill 9 %.0f)
drill_steal=$(awk -F, 'NR > 1 { s += $5 } END { printf "%.2f", s }' "$RAW")

# --- 2. the store with 100,000 runs ------------------------------------------------------------
log "2. store: $RUNS runs over $STORE_TARGETS targets"
run_nice "$CB" store "$WORK/store" --binary "$RP" --runs "$RUNS" --targets "$STORE_TARGETS" --ops "$OPS" \
  --reps "$LIST_REPS" --report-from "$REPORT_DB" >"$WORK/store.kv" 2>"$WORK/store.err" \
  || die "store benchmark failed: $(cat "$WORK/store.err")"
read_kv "$WORK/store.kv"
store_plan=$(sed -n 's/^store: query plan of ListRuns: //p' "$WORK/store.err")

# --- 3. FireDue over 10,000 targets; serve idle with 1,000 -------------------------------------
log "3. FireDue of $FIRE_TARGETS targets"
run_nice "$CB" fire "$WORK/fire" --targets "$FIRE_TARGETS" >"$WORK/fire.kv" 2>"$WORK/fire.err" \
  || die "fire benchmark failed: $(cat "$WORK/fire.err")"
read_kv "$WORK/fire.kv"

log "   serve with $SERVE_TARGETS targets, idle"
"$CB" serve-config "$WORK/serve" --targets "$SERVE_TARGETS" >/dev/null
SLOG=$WORK/serve/serve.log
"$RP" --config "$WORK/serve/serve.toml" serve 2>"$SLOG" &
SERVE_PID=$!
trap 'kill -TERM $SERVE_PID 2>/dev/null || true' EXIT
serve_t0=$(now_ms)
for _ in $(seq 1 600); do
  grep -q '"event":"catalog-checked"' "$SLOG" && break
  kill -0 "$SERVE_PID" 2>/dev/null || die "serve ended: $(tail -3 "$SLOG")"
  sleep 0.2
done
grep -q '"event":"catalog-checked"' "$SLOG" || die "serve logged no catalog-checked in 120 s"
serve_checked_s=$(awk -v a="$serve_t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
rss_max=0
for _ in $(seq 1 "$SERVE_IDLE"); do
  sleep 1
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status")
  if ((rss > rss_max)); then rss_max=$rss; fi
done
serve_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVE_PID/status")
serve_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status")
serve_threads=$(awk '/^Threads:/ { print $2 }' "/proc/$SERVE_PID/status")
serve_events=$(grep -c . "$SLOG")
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || die "serve exited with $? after SIGTERM"
trap - EXIT
grep -q '"event":"serve-stopped"' "$SLOG" || die "serve did not log serve-stopped"

# --- report ------------------------------------------------------------------------------------
steal_total=$(awk -v a="$steal_start" -v b="$(steal_ticks)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
verdict() { awk -v m="$1" -v g="$2" -v le="${3:-0}" 'BEGIN { ok = le ? m <= g : m < g; printf "%s", ok ? "PASS" : "MISS" }'; }
ratio() { awk -v m="$1" -v g="$2" 'BEGIN { printf "%.2f", m / g }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
  echo "controller benchmarks, $STAMP; $BUILT_FROM"
  echo "load average before $load_before, after $load_after; host steal over the whole run ${steal_total} s"
  echo
  echo "| goal | measured | goal | measured / goal | verdict |"
  echo "|---|---|---|---|---|"
  echo "| drill of $DRILL_TARGETS targets, workers = 1, against $DRILL_TARGETS x verify (median of $REPS) | ${drill_s} s / ${verify_s} s | 1.05x | ${drill_ratio}x | $(verdict "$drill_ratio" 1.05 1) |"
  echo "| \`runs list --target T --since D\`, $RUNS runs stored, end to end (median of $LIST_REPS) | ${KV[runs_list_e2e_ms]} ms | 50 ms | $(ratio "${KV[runs_list_e2e_ms]}" 50) | $(verdict "${KV[runs_list_e2e_ms]}" 50) |"
  for op in claim record_start finish; do
    p50=${KV[${op}_p50_ms]} p99=${KV[${op}_p99_ms]}
    echo "| $op ($OPS runs), durable: p50 / p99 | ${p50} / ${p99} ms | 5 ms | $(ratio "$p50" 5) / $(ratio "$p99" 5) | p50 $(verdict "$p50" 5), p99 $(verdict "$p99" 5) |"
  done
  echo "| FireDue, $FIRE_TARGETS targets all due, queued ${KV[fire_queued]} (median of 3) | ${KV[fire_ms]} ms | 1000 ms | $(ratio "${KV[fire_ms]}" 1000) | $(verdict "${KV[fire_ms]}" 1000) |"
  echo "| serve idle, $SERVE_TARGETS targets: VmHWM (VmRSS at most $(mib "$rss_max") MiB over ${SERVE_IDLE} s) | $(mib "$serve_hwm") MiB | 64 MiB | $(ratio "$(mib "$serve_hwm")" 64) | $(verdict "$(mib "$serve_hwm")" 64) |"
  echo
  echo "drill, medians: verify loop ${verify_s} s of which its engines ${verify_engine} s; drill ${drill_s} s of which"
  echo "  its engines ${drill_engine} s, start to drill-started ${drill_startup} ms, between runs ${drill_between} ms,"
  echo "  around the engine within runs ${drill_around} ms, last run-finished to exit ${drill_tail} ms;"
  echo "  steal during the $((REPS * 2)) timed commands ${drill_steal} s"
  echo "runs list (store ${KV[store_mib]} MiB): ${KV[runs_list_e2e_ms]} ms (p90 ${KV[runs_list_e2e_p90_ms]}); \`config check\` of the same configuration"
  echo "  ${KV[config_check_e2e_ms]} ms; in process: configuration ${KV[config_load_ms]} ms, OpenSqliteStore ${KV[store_open_ms]} ms"
  echo "  (PRAGMA integrity_check alone ${KV[integrity_check_ms]} ms, quick_check ${KV[quick_check_ms]} ms), ListRuns"
  echo "  ${KV[list_runs_ms]} ms for ${KV[store_listed]} runs (its WHERE clause alone ${KV[list_scan_ms]} ms; plan: ${store_plan});"
  echo "  with \`target = ?\` alone (runs_by_target) ${KV[list_indexed_ms]} ms"
  echo "writes, p50 / p99 / max ms: fsync of 4 KiB ${KV[fsync_p50_ms]} / ${KV[fsync_p99_ms]} / ${KV[fsync_max_ms]};"
  echo "  enqueue ${KV[enqueue_p50_ms]} / ${KV[enqueue_p99_ms]} / ${KV[enqueue_max_ms]}; claim ${KV[claim_p50_ms]} / ${KV[claim_p99_ms]} / ${KV[claim_max_ms]};"
  echo "  record_start ${KV[record_start_p50_ms]} / ${KV[record_start_p99_ms]} / ${KV[record_start_max_ms]}; finish ${KV[finish_p50_ms]} / ${KV[finish_p99_ms]} / ${KV[finish_max_ms]}"
  echo "FireDue: ${KV[fire_ms]} ms (best ${KV[fire_min_ms]}); its parts: marks read ${KV[fire_marks_read_ms]} ms, pending"
  echo "  ${KV[fire_pending_ms]} ms, next-run times ${KV[fire_compute_ms]} ms, Fire (one transaction) ${KV[fire_write_ms]} ms;"
  echo "  loading the configuration ${KV[fire_config_load_ms]} ms (not in FireDue)"
  echo "serve: catalog-checked ${serve_checked_s} s after start; VmRSS ${serve_rss} KiB, VmHWM ${serve_hwm} KiB,"
  echo "  ${serve_threads} threads, ${serve_events} log lines"
  echo "raw: $RAW"
} | tee "$REPORT"
