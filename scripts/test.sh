#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: install, build (with the clang
# libFuzzer sub-build when clang is present), run the whole CTest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh -DRP_TESTS=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900
