#!/bin/sh
# Builds the Debian 12 base image locally, since no container registry is reachable here:
# debootstrap (minbase) from the Debian mirror apt already uses, then `podman import` as
# localhost/debian:bookworm-local. Run as root. Installs debootstrap, podman, runc and uidmap
# with apt-get when they are missing. Usage: docker/build-base.sh [--force]
set -eu

IMAGE=localhost/debian:bookworm-local
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"

need=""
for pkg in debootstrap podman runc uidmap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "+ apt-get install$need"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi

if [ "${1:-}" != "--force" ] && $PODMAN image exists "$IMAGE"; then
  echo "$IMAGE exists already (--force builds it again)"
  exit 0
fi

# The mirror apt is configured with (deb822 sources or the one-line form), else Debian's own.
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources \
           | awk '{print $2}' | grep -v security | grep -i debian | head -n1 || true)
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' \
           | grep -v security | grep -i debian | head -n1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "mirror: $mirror"

rootfs=$(mktemp -d /var/tmp/rp-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "+ debootstrap --variant=minbase bookworm $rootfs $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log"; exit 1; }
tail -n 1 "$rootfs.log"; rm -f "$rootfs.log"
# The security updates too, so the image's apt-get sees them.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$mirror" "$mirror" > "$rootfs/etc/apt/sources.list"
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
echo "+ tar -C ROOTFS -c . | podman import - $IMAGE"
tar -C "$rootfs" --numeric-owner -c . | $PODMAN import --change 'CMD ["/bin/bash"]' - "$IMAGE"
$PODMAN image ls "$IMAGE"
