#!/usr/bin/env bash
# Build Loa's image and check it, when a container engine runs here; otherwise say so and exit 0.
#   scripts/container_check.sh          build, then check: non-root, no dev tools, packs load
#   scripts/container_check.sh --up     also `docker compose up` and wait for /healthz (needs .env)
set -euo pipefail
cd "$(dirname "$0")/.."

engine=""
for candidate in docker podman; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
    engine="$candidate"
    break
  fi
done
if [ -z "$engine" ]; then
  found="$(command -v docker podman 2>/dev/null | tr '\n' ' ')"
  echo "container_check: no running container engine (clients found: ${found:-none}); nothing built, skipped"
  exit 0
fi

image="loa:check"
echo "container_check: building $image with $engine"
"$engine" build -t "$image" .

uid="$("$engine" run --rm --entrypoint id "$image" -u)"
[ "$uid" != "0" ] || { echo "container_check: FAIL the image runs as root"; exit 1; }
echo "container_check: runs as uid $uid"

dev="$("$engine" run --rm --entrypoint pip "$image" list --format=freeze | grep -iE '^(pytest|mypy|ruff|hypothesis)==' || true)"
[ -z "$dev" ] || { echo "container_check: FAIL dev tools in the image: $dev"; exit 1; }
echo "container_check: no dev tools in the image"

"$engine" run --rm "$image" campaign check ky-lua-2026
"$engine" run --rm "$image" campaign list
"$engine" image inspect "$image" --format 'container_check: image size {{.Size}} bytes'

if [ "${1:-}" = "--up" ]; then
  "$engine" compose up -d --build --wait
  "$engine" compose ps
fi
echo "container_check: ok"
