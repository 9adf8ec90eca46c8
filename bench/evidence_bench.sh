#!/usr/bin/env bash
# The benchmarks of issue 16 in one command, each beside its baseline, in one summary table
# (docs/BENCHMARKS.md, "Evidence and log"):
#   1. log verify      `restoreproof log verify` over 1,000,000 chained restoration-log records
#                      with a checkpoint signed each day (goal: under 10 s), beside the
#                      independent recompute of docs/restoration-log.md: `restoreproof log show
#                      --json | python3 recompute.py`, the script cut from the document as the
#                      tests do. The baseline is timed on BENCH_BASELINE_RECORDS records (its
#                      pipeline holds the whole log as JSON in memory twice), and ours again on
#                      that same store, so the ratio compares equal work; the baseline's time at
#                      the full count is that figure scaled linearly, and is labelled so.
#   2. evidence export `restoreproof evidence export --from Y1 --to Y2 -o F` over a year of
#                      daily tests of 100 targets (36,500 runs, 30 targets holding personal
#                      data, each run's engine report and restoration-log record, drills, real
#                      restorations, a checkpoint a day; goal: under 30 s and under 128 MiB peak
#                      RSS), beside the naive minimum of the same job with standard tools:
#                      `sqlite3 -json` of the period's rows of `runs` and of `restoration_log`
#                      from the period's first record to the head, piped into `gzip -6`.
#                      Then `restoreproof evidence verify F` (information, no goal).
#   3. phases          where each command's time and memory go, in one process
#                      (evidence_bench phases-log and phases-export; information)
#
#   bench/evidence_bench.sh                                  full run (builds the work tree)
#   BENCH_LOG_RECORDS=100000 BENCH_DAYS=30 bench/evidence_bench.sh   a quick check
#
# Environment:
#   BENCH_LOG_RECORDS      records of the log verify store (default 1000000)
#   BENCH_BASELINE_RECORDS records of the store the python baseline and ours are timed on side
#                          by side (default 100000; at most BENCH_LOG_RECORDS)
#   BENCH_TARGETS          targets of the evidence estate (default 100), BENCH_PERSONAL of them
#                          holding personal data (default 30)
#   BENCH_DAYS             days of the exported period, ending yesterday (default 365); the
#                          store also holds the 30 days before it and today, which the export skips
#   BENCH_REPS             timed runs of each command, interleaved with its baseline, after one
#                          untimed run of each (default 3; medians, and the largest peak RSS)
#   BENCH_PHASES=0         skips the in-process breakdown
#   BENCH_BUILD            build directory (default build-bench-ev); BENCH_NO_BUILD=1 skips the build
#   BENCH_NICE             niceness of the timed commands (default -10 as root, else unset)
#
# Data go to bench/data/evidence/ (the log stores are kept until their size or the generator
# changes; the estate is made anew, its period ends yesterday); the report and the raw timings
# go to bench/results/. Wall times are taken around each command, peak RSS is GNU time's %M:
# for a pipeline, that of its largest process.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_RECORDS=${BENCH_LOG_RECORDS:-1000000}
BASE_RECORDS=${BENCH_BASELINE_RECORDS:-100000}
((BASE_RECORDS > LOG_RECORDS)) && BASE_RECORDS=$LOG_RECORDS
TARGETS=${BENCH_TARGETS:-100}
PERSONAL=${BENCH_PERSONAL:-30}
((PERSONAL > TARGETS)) && PERSONAL=$TARGETS
DAYS=${BENCH_DAYS:-365}
REPS=${BENCH_REPS:-3}
if [[ $(id -u) == 0 ]]; then NICE=${BENCH_NICE--10}; else NICE=${BENCH_NICE:-}; fi
BUILD=${BENCH_BUILD:-$ROOT/build-bench-ev}
WORK=$ROOT/bench/data/evidence
RESULTS=$ROOT/bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$RESULTS/$STAMP-evidence.csv
REPORT=$RESULTS/$STAMP-evidence.txt

log() { printf '%s\n' "$*" >&2; }
die() { log "evidence_bench: $*"; exit 1; }

# --- build (Release, own build directory) ------------------------------------------------------
changed=$(git -C "$ROOT" status --porcelain -- controller config workers restore-tests app cmake CMakeLists.txt \
  2>/dev/null | wc -l)
BUILT_FROM="work tree at commit $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo '?')"
[[ $changed != 0 ]] && BUILT_FROM+=" with $changed uncommitted source files"
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  generator_args=()
  if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator_args=(-G Ninja); fi
  # -Wno-error=restrict: GCC 12 at -O3 reports a false -Wrestrict (GCC bug 105329).
  cmake -S "$ROOT" -B "$BUILD" ${generator_args[@]+"${generator_args[@]}"} -DCMAKE_BUILD_TYPE=Release -DRP_TESTS=OFF \
    -DRP_BENCH=ON -DCMAKE_CXX_FLAGS="-Wno-error=restrict" >/dev/null
  cmake --build "$BUILD" --target restoreproof evidence_bench -j "$(nproc)" >/dev/null \
    || die "build failed: cmake --build $BUILD --target restoreproof evidence_bench"
else
  BUILT_FROM="an existing build in $BUILD (BENCH_NO_BUILD=1)"
fi
RP=$BUILD/restoreproof
EB=$BUILD/evidence_bench
[[ -x $RP && -x $EB ]] || die "no build in $BUILD"
command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is needed for the export's baseline"
command -v python3 >/dev/null || die "python3 is needed for the log's baseline"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed for peak RSS"

run_nice() { if [[ -n $NICE ]]; then nice -n "$NICE" "$@"; else "$@"; fi; }
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
TICK=$(getconf CLK_TCK)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
declare -A KV
read_kv() { while read -r k v; do KV[$k]=$v; done <"$1"; }
median() { sort -g | awk -v f="$1" '{ v[NR] = $1 } END { printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -1; }

mkdir -p "$WORK" "$RESULTS"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
steal_start=$(steal_ticks)
log "evidence_bench: $BUILT_FROM; work in $WORK"
echo "rep,case,tool,wall_s,peak_kib,steal_s" >"$RAW"

# timed REP CASE TOOL OUT CMD...: runs CMD (stdout to OUT, stderr to OUT.err) under GNU time at
# BENCH_NICE; appends a CSV row; dies when it fails.
timed() {
  local rep=$1 case=$2 tool=$3 out=$4 s0 t0 t1 s1 peak
  shift 4
  sync
  s0=$(steal_ticks)
  t0=$(now_ms)
  run_nice /usr/bin/time -f '%M' -o "$out.time" "$@" >"$out" 2>"$out.err" \
    || die "$case $tool failed (rep $rep): $* (see $out.err)"
  t1=$(now_ms)
  s1=$(steal_ticks)
  peak=$(tail -1 "$out.time")
  echo "$rep,$case,$tool,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }'),$peak,$(awk -v a="$s0" -v b="$s1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')" >>"$RAW"
  [[ $rep == 0 ]] || log "  rep $rep $case $tool: $(tail -1 "$RAW" | cut -d, -f4) s, $((peak / 1024)) MiB"
}
col() { awk -F, -v c="$1" -v t="$2" -v k="$3" 'NR > 1 && $1 > 0 && $2 == c && $3 == t { print $k }' "$RAW"; }
wall() { col "$1" "$2" 4 | median %.3f; }
peak_mib() { col "$1" "$2" 5 | maximum | awk '{ printf "%.1f", $1 / 1024 }'; }

# --- 1. log verify -----------------------------------------------------------------------------
GEN_ID=$(sha256sum "$EB" | cut -c1-16)
log_store() {  # log_store N: the directory of a store of N records, made when missing or stale
  local dir=$WORK/log-$1
  if [[ $(cat "$dir/.made-by" 2>/dev/null) != "$GEN_ID $1" ]]; then
    log "   generating a log of $1 records in $dir"
    "$EB" log "$dir" --records "$1" >"$WORK/log-$1.kv" || die "evidence_bench log failed"
    echo "$GEN_ID $1" >"$dir/.made-by"
  fi
  echo "$dir"
}
LOG_DIR=$(log_store "$LOG_RECORDS")
BASE_DIR=$(log_store "$BASE_RECORDS")
read_kv "$WORK/log-$LOG_RECORDS.kv"
log_checkpoints=${KV[log_checkpoints]}
log_store_mib=${KV[log_store_mib]}
SCRIPT=$WORK/recompute.py
awk '/^```python$/ { on = 1; next } on && /^```$/ { exit } on' "$ROOT/docs/restoration-log.md" >"$SCRIPT"
grep -q 'hashlib' "$SCRIPT" || die "docs/restoration-log.md has no python block"
head_of() { sqlite3 "$1/data/restoreproof.db" "SELECT hash FROM restoration_log ORDER BY seq DESC LIMIT 1"; }
LOG_OUT=$WORK/log-out
mkdir -p "$LOG_OUT"

log "1. log verify: $LOG_RECORDS records; baseline beside ours on $BASE_RECORDS, $REPS repetitions after one untimed"
for rep in $(seq 0 "$REPS"); do
  timed "$rep" verify-full ours "$LOG_OUT/full-$rep" "$RP" --config "$LOG_DIR/log.toml" log verify
  grep -q "^$LOG_RECORDS records, chain intact, $log_checkpoints checkpoints verified$" "$LOG_OUT/full-$rep" \
    || die "log verify said: $(cat "$LOG_OUT/full-$rep")"
  if ((rep % 2)); then order=(ours python); else order=(python ours); fi
  for tool in "${order[@]}"; do
    if [[ $tool == ours ]]; then
      timed "$rep" verify-base ours "$LOG_OUT/base-ours-$rep" "$RP" --config "$BASE_DIR/log.toml" log verify
      grep -q "^$BASE_RECORDS records, chain intact" "$LOG_OUT/base-ours-$rep" \
        || die "log verify said: $(cat "$LOG_OUT/base-ours-$rep")"
    else
      timed "$rep" verify-base python "$LOG_OUT/base-python-$rep" sh -c '"$1" --config "$2" log show --json | python3 "$3"' \
        sh "$RP" "$BASE_DIR/log.toml" "$SCRIPT"
      grep -q "^$BASE_RECORDS records, chain intact, head $(head_of "$BASE_DIR")$" "$LOG_OUT/base-python-$rep" \
        || die "the python recompute said: $(cat "$LOG_OUT/base-python-$rep")"
    fi
  done
done
full_s=$(wall verify-full ours)
full_mib=$(peak_mib verify-full ours)
base_ours_s=$(wall verify-base ours)
base_ours_mib=$(peak_mib verify-base ours)
base_py_s=$(wall verify-base python)
base_py_mib=$(peak_mib verify-base python)
log_ratio=$(awk -v a="$base_ours_s" -v b="$base_py_s" 'BEGIN { printf "%.3f", a / b }')
py_scaled_s=$(awk -v s="$base_py_s" -v n="$LOG_RECORDS" -v b="$BASE_RECORDS" 'BEGIN { printf "%.1f", s * n / b }')

# --- 2. evidence export ------------------------------------------------------------------------
EST=$WORK/estate
log "2. evidence export: $TARGETS targets ($PERSONAL with personal data), $DAYS days"
"$EB" estate "$EST" --targets "$TARGETS" --personal "$PERSONAL" --days "$DAYS" >"$WORK/estate.kv" \
  2>"$WORK/estate.err" || die "evidence_bench estate failed: $(cat "$WORK/estate.err")"
cat "$WORK/estate.err" >&2
read_kv "$WORK/estate.kv"
FROM=${KV[estate_from]} TO=${KV[estate_to]} FROM_UTC=${KV[estate_from_utc]} TO_UTC=${KV[estate_to_utc]}
DB=$EST/data/restoreproof.db
BASELINE_SQL="SELECT * FROM runs WHERE queued_at >= $FROM_UTC AND queued_at < $TO_UTC ORDER BY id;
SELECT * FROM restoration_log WHERE seq >= (SELECT MIN(seq) FROM restoration_log WHERE at >= $FROM_UTC) ORDER BY seq;"
EXP=$WORK/export-out
rm -rf "$EXP"
mkdir -p "$EXP"
for rep in $(seq 0 "$REPS"); do
  if ((rep % 2)); then order=(ours baseline); else order=(baseline ours); fi
  for tool in "${order[@]}"; do
    if [[ $tool == ours ]]; then
      timed "$rep" export ours "$EXP/ours-$rep.out" "$RP" --config "$EST/estate.toml" evidence export \
        --from "$FROM" --to "$TO" -o "$EXP/bundle-$rep.tar.gz"
      timed "$rep" evidence-verify ours "$EXP/verify-$rep.out" "$RP" evidence verify "$EXP/bundle-$rep.tar.gz"
      grep -q "the bundle is intact and signed" "$EXP/verify-$rep.out" || die "evidence verify: $(cat "$EXP/verify-$rep.out")"
    else
      timed "$rep" export baseline "$EXP/baseline-$rep.out" sh -c 'sqlite3 -json "$1" "$2" | gzip -6 >"$3"' \
        sh "$DB" "$BASELINE_SQL" "$EXP/baseline-$rep.json.gz"
    fi
  done
done
export_summary=$(head -1 "$EXP/ours-1.out")
bundle_mib=$(awk -v b="$(stat -c %s "$EXP/bundle-1.tar.gz")" 'BEGIN { printf "%.1f", b / 1048576 }')
baseline_out_mib=$(awk -v b="$(stat -c %s "$EXP/baseline-1.json.gz")" 'BEGIN { printf "%.1f", b / 1048576 }')
exp_s=$(wall export ours)
exp_mib=$(peak_mib export ours)
exp_base_s=$(wall export baseline)
exp_base_mib=$(peak_mib export baseline)
ver_s=$(wall evidence-verify ours)
ver_mib=$(peak_mib evidence-verify ours)
rm -f "$EXP"/bundle-[02-9]*.tar.gz "$EXP"/baseline-*.json.gz  # one bundle kept to look at

# --- 3. phases ---------------------------------------------------------------------------------
if [[ ${BENCH_PHASES:-1} != 0 ]]; then
  log "3. in-process phases"
  run_nice "$EB" phases-log "$LOG_DIR/log.toml" >"$WORK/phases-log.kv" 2>"$WORK/phases-log.txt" \
    || die "phases-log failed: $(cat "$WORK/phases-log.txt")"
  run_nice "$EB" phases-export "$EST/estate.toml" "$FROM" "$TO" >"$WORK/phases-export.kv" \
    2>"$WORK/phases-export.txt" || die "phases-export failed: $(cat "$WORK/phases-export.txt")"
fi

# --- report ------------------------------------------------------------------------------------
steal_total=$(awk -v a="$steal_start" -v b="$(steal_ticks)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
steal_timed=$(awk -F, 'NR > 1 && $1 > 0 { s += $6 } END { printf "%.2f", s }' "$RAW")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
verdict() { awk -v m="$1" -v g="$2" 'BEGIN { printf "%s", m < g ? "PASS" : "FAIL" }'; }
ratio() { awk -v m="$1" -v g="$2" 'BEGIN { printf "%.2f", m / g }'; }
{
  echo "evidence and log benchmarks (issue 16), $STAMP; $BUILT_FROM"
  echo "load average before $load_before, after $load_after; host steal over the whole run ${steal_total} s,"
  echo "during the timed commands ${steal_timed} s; medians of $REPS after one untimed run; peak RSS is the largest"
  echo
  echo "| goal | measured | baseline | ours / baseline | goal | verdict |"
  echo "|---|---|---|---|---|---|"
  echo "| \`log verify\`, $LOG_RECORDS records, $log_checkpoints checkpoints | ${full_s} s | ${py_scaled_s} s (python, scaled from $BASE_RECORDS) | $(ratio "$base_ours_s" "$base_py_s") (at $BASE_RECORDS: ${base_ours_s} s / ${base_py_s} s) | < 10 s | $(verdict "$full_s" 10) |"
  echo "| \`log verify\` peak RSS, $LOG_RECORDS records | ${full_mib} MiB | ${base_py_mib} MiB (python pipeline at $BASE_RECORDS) | - | none | - |"
  echo "| \`evidence export\`, ${KV[estate_period_runs]} runs, ${DAYS} days x $TARGETS targets: wall | ${exp_s} s | ${exp_base_s} s (sqlite3 -json \| gzip) | $(ratio "$exp_s" "$exp_base_s") | < 30 s | $(verdict "$exp_s" 30) |"
  echo "| \`evidence export\`: peak RSS | ${exp_mib} MiB | ${exp_base_mib} MiB | $(ratio "$exp_mib" "$exp_base_mib") | < 128 MiB | $(verdict "$exp_mib" 128) |"
  echo "| \`evidence verify\` of that bundle | ${ver_s} s, ${ver_mib} MiB | - | - | none | - |"
  echo
  echo "log: store ${log_store_mib} MiB; at $BASE_RECORDS records ours ${base_ours_s} s / ${base_ours_mib} MiB,"
  echo "  \`log show --json | python3 recompute.py\` ${base_py_s} s / ${base_py_mib} MiB (its largest process)"
  echo "estate: ${KV[estate_runs]} runs stored (${KV[estate_period_runs]} in $FROM..$TO, ${KV[estate_period_failed]} failed),"
  echo "  ${KV[estate_drills]} drills, ${KV[estate_restorations]} real restorations in the period, ${KV[estate_log_records]} log records,"
  echo "  ${KV[estate_checkpoints]} checkpoints, reports ${KV[estate_report_kb]} KB on average; store ${KV[estate_store_mib]} MiB"
  echo "export: $export_summary"
  echo "  bundle ${bundle_mib} MiB; the baseline's output ${baseline_out_mib} MiB"
  if [[ ${BENCH_PHASES:-1} != 0 ]]; then
    echo
    cat "$WORK/phases-log.txt" "$WORK/phases-export.txt"
    grep -E '^(listed_runs|excerpt_read|report_runs|excerpt_records|[a-z_]+_bytes) ' "$WORK/phases-export.kv" | tr '\n' ' ' \
      | fold -s -w 100 | sed 's/^/  /'
    echo
  fi
  echo "raw: $RAW"
} | tee "$REPORT"
