#!/usr/bin/env bash
# Installs the Debian 12 packages restoreproof needs to build, test and benchmark, and the npm
# packages of the browser tests. Idempotent; skips apt and npm when everything is installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev
  libarchive-dev libarchive-tools liblzma-dev 7zip libisal-dev libzstd-dev libxxhash-dev xxhash libssl-dev libseccomp-dev libsqlite3-dev sqlite3 libtomlplusplus-dev restic borgbackup
  nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev libhowardhinnant-date-dev tzdata
  libpoco-dev libboost-dev python3-aiosmtpd libargon2-dev libmstch-dev libpq-dev postgresql
  libhpdf-dev fonts-dejavu-core poppler-utils
  prometheus-cpp-dev prometheus
  zstd lz4 xz-utils bzip2 gzip cpio coreutils zip unzip locales
  time curl openssl
  chromium
)
# Node.js and npm run the browser tests' driver (tests/browser). A Node.js installed otherwise
# (NodeSource's bundles npm, and its package conflicts with Debian's npm) is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browser tests' npm packages (playwright-core, axe-core), exactly as package-lock.json pins
# them, into tests/browser/node_modules; again only when the lock file changed. playwright-core
# drives Debian's chromium and must not fetch a browser of its own.
browser_dir="$(dirname "$0")/../tests/browser"
stamp="$browser_dir/node_modules/.rp-installed-lock.json"
if ! cmp -s "$browser_dir/package-lock.json" "$stamp" 2>/dev/null; then
  echo "installing the browser tests' npm packages into $browser_dir/node_modules"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$browser_dir" --no-audit --no-fund --loglevel=error
  cp "$browser_dir/package-lock.json" "$stamp"
fi
