#!/usr/bin/env bash
# Installs the Debian 12 packages restoreproof needs to build, test and benchmark.
# Idempotent; skips apt entirely when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev
  libarchive-dev libarchive-tools liblzma-dev 7zip libisal-dev libzstd-dev libxxhash-dev xxhash libssl-dev libseccomp-dev libsqlite3-dev sqlite3 libtomlplusplus-dev restic borgbackup
  nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev libhowardhinnant-date-dev tzdata
  libpoco-dev libboost-dev python3-aiosmtpd libargon2-dev libmstch-dev
  libhpdf-dev fonts-dejavu-core poppler-utils
  prometheus-cpp-dev prometheus
  zstd lz4 xz-utils bzip2 gzip cpio coreutils zip unzip locales
  time curl openssl
)
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
