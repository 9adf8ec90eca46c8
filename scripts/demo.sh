#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the demo: install, build, run `restoreproof demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh -DRP_TESTS=OFF
exec build/restoreproof demo --dir "${DEMO_DIR:-demo-estate}" "$@"
