#!/bin/sh
# Builds the restoreproof image (localhost/restoreproof:latest) with podman from the local
# Debian 12 base (docker/build-base.sh makes it when missing) and a restoreproof binary built
# on this Debian 12 host: build/restoreproof, or the path given. Run as root.
# Usage: docker/build.sh [RESTOREPROOF-BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/restoreproof}
IMAGE=${IMAGE:-localhost/restoreproof:latest}
# Debian 12's podman here: runc (crun refuses the hybrid cgroup hierarchy), cgroupfs manager.
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"

[ -x "$bin" ] || { echo "no restoreproof binary at $bin: build it first (scripts/build.sh)" >&2; exit 1; }
grep -q /healthz "$bin" || echo "warning: $bin has no web server (built before it existed?): /healthz will not answer" >&2
"$here/build-base.sh"

ctx=$(mktemp -d /var/tmp/rp-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$here/restoreproof.toml" "$here/healthz.sh" "$ctx/"
strip -o "$ctx/restoreproof" "$bin"     # no debug information in the image
# Its worker, from the same build (beside it): without it the image's restores run as
# `restoreproof worker`, slower to start.
[ -x "$(dirname "$bin")/restoreproof-worker" ] || { echo "no restoreproof-worker beside $bin" >&2; exit 1; }
strip -o "$ctx/restoreproof-worker" "$(dirname "$bin")/restoreproof-worker"
echo "+ podman build -t $IMAGE (binary: $bin, $(du -h "$ctx/restoreproof" | cut -f1) stripped)"
# The docker image format, which docker and compose read as well as podman.
$PODMAN build --format docker -t "$IMAGE" "$ctx"
$PODMAN image ls "$IMAGE"
