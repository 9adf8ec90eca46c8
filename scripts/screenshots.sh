#!/usr/bin/env bash
# Redoes the README's pictures of the demo dashboard (docs/img/dashboard.png at 1280 px and
# docs/img/dashboard-phone.png at 360 px) with the built binary in ${BUILD_DIR:-build}.
# Needs what scripts/deps.sh installs (chromium, node, tests/browser/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
RP_BINARY="$PWD/${BUILD_DIR:-build}/restoreproof" exec node tests/browser/screenshot.mjs docs/img
