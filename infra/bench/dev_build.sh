#!/usr/bin/env bash
# Clean dev (debug profile) build of every binary in the workspace, timed
# (wall and user+sys CPU), then the size of each debug binary.
# Usage: infra/bench/dev_build.sh        Env: PERF_DEV_TARGET (default /tmp/perf-target-dev)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${PERF_DEV_TARGET:-/tmp/perf-target-dev}"
rm -rf "$CARGO_TARGET_DIR"
echo "loadavg before: $(cat /proc/loadavg)"
TIMEFORMAT='%R %U %S'
{ time (cd "$ROOT" && cargo build --locked --workspace --bins) 2>&1 ; } 2>/tmp/dev_build.time
read -r wall user sys </tmp/dev_build.time
echo "dev build: wall ${wall}s cpu $(echo "$user + $sys" | bc)s   loadavg after: $(cat /proc/loadavg)"
find "$CARGO_TARGET_DIR/debug" -maxdepth 1 -type f -perm -u+x -printf '%f\t%s\n' | sort
