#!/usr/bin/env bash
# Builds every workspace binary in release with the given [profile.release]
# overrides (already exported as CARGO_PROFILE_RELEASE_*), zips each as
# bootstrap (zip -9) and prints name, binary size and zip size in bytes.
# Usage: CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
#          infra/bench/release_zips.sh            Env: CARGO_TARGET_DIR (default /tmp/perf-target/ws)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/perf-target/ws}"
TIMES="$(mktemp)"
(cd "$ROOT" && /usr/bin/time -f '%e %U %S' -o "$TIMES" cargo build --release --locked --workspace --bins)
read -r wall user sys <"$TIMES"
echo "release workspace build: wall ${wall}s cpu $(echo "$user + $sys" | bc)s"
printf 'binary\tsize_bytes\tzip_bytes\n'
for bin in $(cd "$ROOT" && cargo metadata --no-deps --locked --format-version 1 \
        | python3 -c 'import json,sys; print("\n".join(sorted(t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "bin" in t["kind"])))'); do
    tmp=$(mktemp -d)
    cp "$CARGO_TARGET_DIR/release/$bin" "$tmp/bootstrap"
    (cd "$tmp" && zip -q -9 bootstrap.zip bootstrap)
    printf '%s\t%s\t%s\n' "$bin" "$(stat -c %s "$tmp/bootstrap")" "$(stat -c %s "$tmp/bootstrap.zip")"
    rm -rf "$tmp"
done
