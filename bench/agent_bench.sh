#!/usr/bin/env bash
# The multi-host benchmarks of issue 18 (docs/BENCHMARKS.md, "Multi-host"), on a real PostgreSQL
# started by the test helper (rp/pg_server.h) in a temporary directory:
#   jobs        3 `restoreproof agent` processes (2 workers each) work through 1,000 queued small
#               restore tests of 100 targets: wall time, jobs/s, every job passed exactly once
#   overhead    3 processes take 1,000 runs through an agent's store calls per job (ClaimRun,
#               RecordStart, FinishRun, AppendLog), each job timed: p50/p99 (goal p99 < 10 ms)
#   contention  8 processes claim and finish 10,000 trivial runs, each logging "run-id owner" to a
#               file of its own: no id twice, every run claimed once and ended
#
# Environment: BENCH_BUILD (default build-bench-agent; BENCH_NO_BUILD=1 skips the build),
# BENCH_JOBS (1000), BENCH_AGENTS (3), BENCH_WORKERS (2), BENCH_TARGETS (100), BENCH_CLAIMS
# (10000), BENCH_CLAIMERS (8). Data under bench/data/agent/; the report in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench-agent}
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRP_TESTS=OFF >/dev/null
  ninja -C "$BUILD" restoreproof agent_bench >/dev/null
fi
mkdir -p "$ROOT/bench/results" "$ROOT/bench/data/agent"
OUT="$ROOT/bench/results/agent-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "# agent_bench $(git -C "$ROOT" rev-parse --short HEAD) $(date -u +%FT%TZ), $(nproc) cores"
  "$BUILD/agent_bench" --binary "$BUILD/restoreproof" --dir "$ROOT/bench/data/agent" \
    --jobs "${BENCH_JOBS:-1000}" --agents "${BENCH_AGENTS:-3}" --workers "${BENCH_WORKERS:-2}" \
    --targets "${BENCH_TARGETS:-100}" --claims "${BENCH_CLAIMS:-10000}" --claimers "${BENCH_CLAIMERS:-8}"
} 2>&1 | tee "$OUT"
