#!/bin/sh
# Runs the built image (docker/build.sh) by hand and says what it did:
#   1. `restoreproof demo` inside the container;
#   2. `restoreproof serve` as compose.yaml runs it (no capabilities, no new privileges, a
#      read-only root), the data directory a named volume, two backup locations and the
#      configuration mounted read-only, the port published on 127.0.0.1:PORT,
#      answering /healthz (and /readyz, /metrics); then stopped with SIGTERM (a drain).
# Run as root. Usage: docker/check.sh [PORT]   (default 18080). Exit 0 when both worked.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${IMAGE:-localhost/restoreproof:latest}
PORT=${1:-18080}
NAME=rp-check-$$
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"
# Explicit limits: inheriting the host's fails here ("error setting rlimit"). Open files at
# most the host's hard limit, and at least 8192, which the worker sets for itself.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
LIMITS="--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"
# The image's HEALTHCHECK is run by hand below: podman's periodic timer for it needs systemd.
NOTIMER="--health-interval disable"

work=$(mktemp -d /var/tmp/rp-check.XXXXXX)
cleanup() {
  $PODMAN rm -f -t 0 "$NAME" > /dev/null 2>&1 || true
  $PODMAN volume rm -f "$NAME-data" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== podman $(podman --version | awk '{print $3}'), image $IMAGE, open files $nofile"
$PODMAN image exists "$IMAGE" || { echo "no image $IMAGE: run docker/build.sh" >&2; exit 1; }

echo "== 1. restoreproof demo in the container"
echo "+ podman run --rm $LIMITS $NOTIMER $IMAGE demo --no-serve --dir /tmp/demo"
demo_rc=0
$PODMAN run --rm $LIMITS $NOTIMER "$IMAGE" demo --no-serve --dir /tmp/demo > "$work/demo.out" 2>&1 || demo_rc=$?
sed -n '/^1\. Policy/,/^Try it yourself/p' "$work/demo.out" | sed '$d'
echo "demo exit status: $demo_rc"

echo "== 2. restoreproof serve in the container, /healthz on 127.0.0.1:$PORT"
# Two backup locations with one archive each, and its manifest, made in the container.
day=$(date -u +%Y%m%d)
mkdir -p "$work/src/docs" "$work/backups/site-a/example" "$work/backups/site-b/example"
echo "minutes of the board meeting" > "$work/src/docs/minutes.txt"
echo "budget 2027" > "$work/src/budget.txt"
tar -czf "$work/backups/site-a/example/example-$day.tar.gz" -C "$work/src" .
cp "$work/backups/site-a/example/example-$day.tar.gz" "$work/backups/site-b/example/"
$PODMAN run --rm $LIMITS $NOTIMER -v "$work/src:/src:ro" "$IMAGE" manifest create /src \
  > "$work/backups/site-a/example/example-$day.tar.gz.xxh128"
cp "$work/backups/site-a/example/example-$day.tar.gz.xxh128" "$work/backups/site-b/example/"
chmod -R a+rX "$work"
cp "$here/restoreproof.toml" "$work/restoreproof.toml"

$PODMAN volume create "$NAME-data" > /dev/null
# As compose.yaml runs it: no capabilities, no new privileges, a read-only root file system.
set -- run -d --name "$NAME" $LIMITS $NOTIMER --cap-drop ALL --security-opt no-new-privileges \
  --read-only --tmpfs /tmp -p "127.0.0.1:$PORT:8080" \
  -v "$NAME-data:/var/lib/restoreproof" \
  -v "$work/backups/site-a:/backups/site-a:ro" -v "$work/backups/site-b:/backups/site-b:ro" \
  -v "$work/restoreproof.toml:/etc/restoreproof/restoreproof.toml:ro" "$IMAGE"
echo "+ podman $*"
$PODMAN "$@" > /dev/null
healthz=""
for _ in $(seq 1 60); do
  healthz=$(curl -fsS "http://127.0.0.1:$PORT/healthz" 2>/dev/null) && break
  healthz=""
  sleep 0.5
done
echo "+ curl http://127.0.0.1:$PORT/healthz"
echo "${healthz:-(no answer)}"
ready=""
for _ in $(seq 1 60); do
  ready=$(curl -fsS "http://127.0.0.1:$PORT/readyz" 2>/dev/null) && break
  ready=""
  sleep 0.5
done
echo "+ curl http://127.0.0.1:$PORT/readyz"
echo "${ready:-(not ready)}"
# Until an administrator exists the server answers nothing but set-up advice (503), /metrics
# included: make one, with a password nobody keeps, as an operator would with `user add`.
echo "+ podman exec -i $NAME restoreproof user add check-admin --role admin   (password on stdin)"
head -c 24 /dev/urandom | base64 | $PODMAN exec -i "$NAME" restoreproof --config /etc/restoreproof/restoreproof.toml \
  user add check-admin --role admin
echo "+ curl http://127.0.0.1:$PORT/metrics | grep ^restoreproof_"
curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep '^restoreproof_' | head -n 12 || true
echo "+ podman healthcheck run $NAME   (the image's HEALTHCHECK, docker/healthz.sh)"
$PODMAN healthcheck run "$NAME" && echo healthy || echo "unhealthy"
echo "+ podman exec $NAME restoreproof runs list"
$PODMAN exec "$NAME" restoreproof --config /etc/restoreproof/restoreproof.toml runs list 2>&1 | head -n 5 || true
echo "+ podman exec $NAME id; the backups are read-only:"
$PODMAN exec "$NAME" id
$PODMAN exec "$NAME" sh -c 'touch /backups/site-a/example/x 2>&1 || true'
echo "+ podman stop $NAME (SIGTERM: the drain), then its log's events"
$PODMAN stop -t 60 "$NAME" > /dev/null
$PODMAN logs "$NAME" 2>&1 | grep -o '"event":"[a-z-]*"' | sort | uniq -c | sort -rn | head -n 15
state=$($PODMAN inspect -f '{{.State.ExitCode}}' "$NAME")
echo "serve exit status after SIGTERM: $state"

if [ "$demo_rc" = 0 ] && [ "$healthz" = ok ]; then
  echo "== PASSED: demo ran and /healthz answered ok"
else
  echo "== FAILED: demo exit $demo_rc, /healthz '${healthz}'"
  exit 1
fi
