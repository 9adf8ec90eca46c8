#!/usr/bin/env bash
# The web load benchmark of issue 17 in one command (docs/BENCHMARKS.md, "Web (issue 17)"):
# `wrk -t2 -c64 --latency` against `/` (signed in with a session cookie) and `/api/v1/status`
# (a viewer's Bearer token) of `restoreproof serve` with 1,000 targets and 100,000 runs stored,
# while a restore runs (`restoreproof verify` of a large archive in a loop beside it). Goal: p99
# under 50 ms at 64 connections and no errors (non-2xx/3xx answers or socket errors). Baseline
# side by side: `/healthz` under the same load, the server's floor; ratio = p99(route) /
# p99(/healthz). The same three are first measured with nothing else running (BENCH_IDLE=0 skips).
#
#   bench/web_bench.sh                                    full run (builds the work tree)
#   BENCH_DURATION=5 BENCH_RUNS=10000 bench/web_bench.sh  a quick check
#
# Environment:
#   BENCH_TARGETS      targets of the configuration (default 1000)
#   BENCH_RUNS         finished runs in the store (default 100000)
#   BENCH_CONNECTIONS  wrk's connections (default 64); BENCH_THREADS wrk's threads (default 2)
#   BENCH_DURATION     seconds of each wrk run (default 20)
#   BENCH_WRK_TIMEOUT  wrk's --timeout (default 10s, the server's own deadline): an answer slower
#                      than this counts as a timeout error and is left out of the latencies
#   BENCH_GZIP=0       wrk does not send `Accept-Encoding: gzip` (by default it does, as every
#                      browser and `curl --compressed` do; the server then sends the page gzipped)
#   BENCH_IDLE=0       skips the measurements without the restore
#   BENCH_RESTORE_ARCHIVE, BENCH_RESTORE_MANIFEST
#                      the archive the restore loop verifies and its manifest (default
#                      bench/data/scale-1/data.tar.zst of bench/run.sh; when missing, a ~500 MiB
#                      data set is generated with gen_dataset --scale 0.5 into bench/data/web/)
#   BENCH_BUILD        build directory (default build-bench-web); BENCH_NO_BUILD=1 skips the build
#
# wrk is installed with apt-get when missing (Debian package `wrk`). Data go to bench/data/web/
# (made anew each run, but the generated archive is kept); the report goes to bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGETS=${BENCH_TARGETS:-1000}
RUNS=${BENCH_RUNS:-100000}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-20}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-10s}
BUILD=${BENCH_BUILD:-$ROOT/build-bench-web}
WORK=$ROOT/bench/data/web
RESULTS=$ROOT/bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$RESULTS/$STAMP-web.csv
REPORT=$RESULTS/$STAMP-web.txt
GOAL_MS=50
PASSWORD=a-long-password-123

log() { printf '%s\n' "$*" >&2; }
die() { log "web_bench: $*"; exit 1; }

# --- tools and build ---------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "web_bench: wrk missing, installing package 'wrk'"
  apt-get install -y wrk >/dev/null || die "install wrk (apt-get install wrk)"
fi
for t in curl awk; do command -v "$t" >/dev/null || die "'$t' not found"; done

changed=$(git -C "$ROOT" status --porcelain -- web-status controller config workers restore-tests app cmake \
  CMakeLists.txt 2>/dev/null | wc -l)
BUILT_FROM="work tree at commit $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo '?')"
[[ $changed != 0 ]] && BUILT_FROM+=" with $changed uncommitted source files"
ARCHIVE=${BENCH_RESTORE_ARCHIVE:-$ROOT/bench/data/scale-1/data.tar.zst}
MANIFEST=${BENCH_RESTORE_MANIFEST:-$(dirname "$ARCHIVE")/manifest.xxh128}
targets=(restoreproof controller_bench)
[[ -f $ARCHIVE ]] || targets+=(gen_dataset)
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  generator_args=()
  if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator_args=(-G Ninja); fi
  cmake -S "$ROOT" -B "$BUILD" ${generator_args[@]+"${generator_args[@]}"} -DCMAKE_BUILD_TYPE=Release -DRP_TESTS=OFF \
    >/dev/null
  cmake --build "$BUILD" --target "${targets[@]}" -j "$(nproc)" >/dev/null \
    || die "build failed: cmake --build $BUILD --target ${targets[*]}"
else
  BUILT_FROM="an existing build in $BUILD (BENCH_NO_BUILD=1)"
fi
RP=$BUILD/restoreproof
CB=$BUILD/controller_bench
[[ -x $RP && -x $CB ]] || die "no build in $BUILD"

# --- estate, store, archive --------------------------------------------------------------------
mkdir -p "$RESULTS" "$WORK"
rm -rf "$WORK/estate" "$WORK/sandbox" "$WORK/out"
mkdir -p "$WORK/out" "$WORK/sandbox"
OUT=$WORK/out
log "web_bench: $BUILT_FROM; work in $WORK"
log "estate: $TARGETS targets, $RUNS runs"
"$CB" web-estate "$WORK/estate" --targets "$TARGETS" --runs "$RUNS" >"$OUT/estate.kv" 2>"$OUT/estate.txt" \
  || die "controller_bench web-estate failed: $(cat "$OUT/estate.txt")"
CONFIG=$WORK/estate/web.toml
store_mib=$(du -m "$WORK/estate/data/restoreproof.db" | cut -f1)

if [[ ! -f $ARCHIVE ]]; then
  ARCHIVE=$WORK/dataset/data.tar
  MANIFEST=$WORK/dataset/manifest.xxh128
  if [[ ! -f $WORK/dataset/complete ]]; then
    [[ -x $BUILD/gen_dataset ]] || die "no archive to restore and no $BUILD/gen_dataset to make one"
    log "restore archive: generating a ~500 MiB data set (gen_dataset --scale 0.5)"
    rm -rf "$WORK/dataset"
    "$BUILD/gen_dataset" "$WORK/dataset" --scale 0.5 --seed 20261122 >/dev/null && touch "$WORK/dataset/complete"
  fi
fi
[[ -f $MANIFEST ]] || die "no manifest $MANIFEST for $ARCHIVE"
archive_mib=$(du -m "$ARCHIVE" | cut -f1)

# --- accounts, serve, sign-in ------------------------------------------------------------------
printf '%s\n' "$PASSWORD" | "$RP" --config "$CONFIG" user add admin --role admin >/dev/null \
  || die "user add failed"
TOKEN=$("$RP" --config "$CONFIG" token create web-bench --role viewer) || die "token create failed"

SERVE_PID=
RESTORE_PID=
# stop_restore: the loop first (so it starts no further verify), then the verify it runs.
stop_restore() {
  local kids
  kids=$(pgrep -P "$RESTORE_PID" || true)
  kill "$RESTORE_PID" 2>/dev/null || true
  wait "$RESTORE_PID" 2>/dev/null || true
  [[ -n $kids ]] && kill $kids 2>/dev/null
  for k in $kids; do while kill -0 "$k" 2>/dev/null; do sleep 0.1; done; done
  RESTORE_PID=
}
cleanup() {
  [[ -n $RESTORE_PID ]] && stop_restore
  [[ -n $SERVE_PID ]] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  return 0
}
trap cleanup EXIT
"$RP" --config "$CONFIG" serve 2>"$OUT/serve.log" >/dev/null &
SERVE_PID=$!
serve_t0=$(date +%s.%N)
PORT=
for _ in $(seq 1 600); do
  PORT=$(grep -o '"event":"web-started".*' "$OUT/serve.log" | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2 || true)
  [[ -n $PORT ]] && break
  kill -0 "$SERVE_PID" 2>/dev/null || die "serve exited: $(tail -5 "$OUT/serve.log")"
  sleep 0.1
done
[[ -n $PORT ]] || die "no web-started line from serve in 60 s"
BASE=http://127.0.0.1:$PORT
for _ in $(seq 1 600); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz") == 200 ]] && break
  sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz") == 200 ]] || die "serve is not ready in 60 s"
serve_ready_s=$(awk -v a="$serve_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# Sign in: GET /login sets the login CSRF cookie and the form's hidden field (double submit).
JAR=$OUT/cookies
curl -s -c "$JAR" -b "$JAR" -o "$OUT/login.html" "$BASE/login"
csrf=$(grep -o 'name="csrf" value="[^"]*"' "$OUT/login.html" | sed 's/.*value="//; s/"$//')
[[ -n $csrf ]] || die "no csrf field in the sign-in form"
code=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code}' --data-urlencode name=admin \
  --data-urlencode "password=$PASSWORD" --data-urlencode "csrf=$csrf" "$BASE/login")
[[ $code == 303 ]] || die "POST /login answered $code, not 303"
SESSION=$(awk '$6 == "rp_session" { print $7 }' "$JAR")
[[ -n $SESSION ]] || die "no rp_session cookie after signing in"
COOKIE="Cookie: rp_session=$SESSION"
AUTH="Authorization: Bearer $TOKEN"

# check PATH HEADER: the route answers 200 with the credentials wrk will use (wrk counts a 303 to
# /login as a success, so a lost session would otherwise pass unseen).
check() {
  local code
  code=$(curl -s -o "$OUT/check.body" -w '%{http_code}' -H "$2" "$BASE$1")
  [[ $code == 200 ]] || die "GET $1 answered $code: $(head -c 300 "$OUT/check.body")"
}
check / "$COOKIE"
check /api/v1/status "$AUTH"
page_kib=$(curl -s -H "$COOKIE" "$BASE/" | wc -c | awk '{ printf "%.0f", $1 / 1024 }')
status_kib=$(curl -s -H "$AUTH" "$BASE/api/v1/status" | wc -c | awk '{ printf "%.0f", $1 / 1024 }')
page_gz_kib=$(curl -s -H "$COOKIE" -H "Accept-Encoding: gzip" "$BASE/" | wc -c | awk '{ printf "%.0f", $1 / 1024 }')
status_gz_kib=$(curl -s -H "$AUTH" -H "Accept-Encoding: gzip" "$BASE/api/v1/status" | wc -c | awk '{ printf "%.0f", $1 / 1024 }')
GZ_ARGS=()
GZ_NOTE="wrk sends no Accept-Encoding (BENCH_GZIP=0): answers uncompressed"
if [[ ${BENCH_GZIP:-1} != 0 ]]; then
  GZ_ARGS=(-H "Accept-Encoding: gzip")
  GZ_NOTE="wrk sends Accept-Encoding: gzip, as browsers do"
fi

# --- measurements ------------------------------------------------------------------------------
# to_ms VALUE: wrk's "12.34ms", "870.00us", "1.02s" in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) ; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
echo "phase,route,p50_ms,p99_ms,max_ms,requests,rps,non2xx,socket_errors,restores_running" >"$RAW"
declare -A P99 ERR RPS P50
measure() {
  local phase=$1 route=$2 header=$3 out="$OUT/wrk-$1-${2//\//_}.txt" p50 p99 max reqs rps non sock running=no
  check "$route" "$header"
  [[ -n $RESTORE_PID ]] && kill -0 "$RESTORE_PID" 2>/dev/null && pgrep -P "$RESTORE_PID" >/dev/null && running=yes
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout "$WRK_TIMEOUT" --latency -H "$header" "${GZ_ARGS[@]}" "$BASE$route" >"$out" 2>&1 \
    || die "wrk failed: $(cat "$out")"
  check "$route" "$header"
  [[ $running == yes ]] && { pgrep -P "$RESTORE_PID" >/dev/null || running=no; }
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  max=$(to_ms "$(awk '$1 == "Latency" && NF >= 4 { print $4; exit }' "$out")")
  reqs=$(awk '/requests in/ { print $1 }' "$out")
  rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$out")
  non=$(awk '/Non-2xx or 3xx/ { print $NF }' "$out")
  sock=$(awk -F'[ ,]+' '/Socket errors/ { print $5 + $7 + $9 + $11 }' "$out")
  non=${non:-0}
  sock=${sock:-0}
  echo "$phase,$route,$p50,$p99,$max,$reqs,$rps,$non,$sock,$running" >>"$RAW"
  P50[$phase$route]=$p50 P99[$phase$route]=$p99 RPS[$phase$route]=$rps ERR[$phase$route]=$((non + sock))
  log "  $phase $route: p50 $p50 ms, p99 $p99 ms, $rps req/s, $non non-2xx/3xx, $sock socket errors, restore $running"
}
routes() {
  measure "$1" /healthz "User-Agent: web_bench"
  measure "$1" / "$COOKIE"
  measure "$1" /api/v1/status "$AUTH"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ ${BENCH_IDLE:-1} != 0 ]]; then
  log "idle: wrk -t$THREADS -c$CONNS -d${DURATION}s, nothing else running"
  routes idle
fi
log "restore: $RP verify $ARCHIVE ($archive_mib MiB) in a loop"
(
  while :; do
    if "$RP" verify "$ARCHIVE" --manifest "$MANIFEST" --sandbox "$WORK/sandbox" >"$OUT/restore.out" 2>&1; then
      echo ok >>"$OUT/restore.count"
    else
      echo "verify exit $?: $(tail -3 "$OUT/restore.out")" >>"$OUT/restore.err"
    fi
  done
) &
RESTORE_PID=$!
sleep 3  # the verify under way: reading and extracting
routes restore
stop_restore
restores_done=$( (cat "$OUT/restore.count" 2>/dev/null || true) | wc -l)
restore_failures=$( (cat "$OUT/restore.err" 2>/dev/null || true) | wc -l)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------
verdict() { awk -v p="$1" -v e="$2" -v g="$GOAL_MS" 'BEGIN { printf "%s", (p < g && e == 0) ? "PASS" : "MISS" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
{
  echo "web load benchmark (issue 17), $STAMP; $BUILT_FROM"
  echo "$TARGETS targets, $RUNS runs stored (store $store_mib MiB); wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout $WRK_TIMEOUT --latency;"
  echo "$(nproc) cores; load average before $load_before, after $load_after; serve ready ${serve_ready_s} s after its start"
  echo "restore: \`restoreproof verify\` of $(basename "$ARCHIVE") ($archive_mib MiB) in a loop, $restores_done passed and $restore_failures failed while measured"
  echo "answers: / $page_kib KiB ($page_gz_kib KiB gzipped), /api/v1/status $status_kib KiB ($status_gz_kib KiB gzipped); $GZ_NOTE"
  echo
  echo "| phase | route | p50 | p99 | req/s | errors | baseline p99 (/healthz) | p99 / baseline | goal | verdict |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  phases=(restore)
  [[ ${BENCH_IDLE:-1} != 0 ]] && phases=(idle restore)
  for ph in "${phases[@]}"; do
    b=${P99[$ph/healthz]}
    echo "| $ph | \`/healthz\` | ${P50[$ph/healthz]} ms | $b ms | ${RPS[$ph/healthz]} | ${ERR[$ph/healthz]} | - | - | none | - |"
    for r in / /api/v1/status; do
      v=$([[ $ph == restore ]] && verdict "${P99[$ph$r]}" "${ERR[$ph$r]}" || echo -)
      g=$([[ $ph == restore ]] && echo "p99 < $GOAL_MS ms, 0 errors" || echo none)
      echo "| $ph | \`$r\` | ${P50[$ph$r]} ms | ${P99[$ph$r]} ms | ${RPS[$ph$r]} | ${ERR[$ph$r]} | $b ms | $(ratio "${P99[$ph$r]}" "$b") | $g | $v |"
    done
  done
  echo
  echo "errors = wrk's non-2xx/3xx answers + socket errors (connect, read, write, timeout); each route is"
  echo "asked once with curl before and after its run and must answer 200"
  echo "raw: $RAW; wrk output and serve's log in $OUT"
} | tee "$REPORT"
