#!/usr/bin/env bash
# Clean dev (debug profile) build of every binary in the workspace, timed
# (wall and user+sys CPU), then the size of each debug binary.
# Usage: infra/bench/dev_build.sh        Env: PERF_DEV_TARGET (default /tmp/perf-target-dev)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${PERF_DEV_TARGET:-/tmp/perf-target-dev}"
rm -rf "$CARGO_TARGET_DIR"
echo "loadavg before: $(cat /proc/loadavg)"

TIMES="$(mktemp)"
(cd "$ROOT" && /usr/bin/time -f '%e %U %S' -o "$TIMES" cargo build --locked --workspace --bins)
read -r wall user sys <"$TIMES"
echo "dev build: wall ${wall}s cpu $(echo "$user + $sys" | bc)s   loadavg after: $(cat /proc/loadavg)"
find "$CARGO_TARGET_DIR/debug" -maxdepth 1 -type f -perm -u+x -printf '%f\t%s\n' | sort
