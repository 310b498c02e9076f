#!/usr/bin/env bash
# Builds identity-register and notifications-welcome-email from a clean target
# dir under one or more [profile.release] variants, applied only through
# CARGO_PROFILE_RELEASE_* environment overrides (Cargo.toml is not edited),
# and records wall-clock build time, binary size, zip -9 size (as bootstrap)
# and the argon2id hash time of infra/bench/argon2-bench built the same way.
#
# Usage: infra/bench/profile_variants.sh [A|B|C|D ...]     (default: A B C D)
# Env:   PERF_TARGET (default /tmp/perf-target)  - variant V builds in
#                                                  $PERF_TARGET/V, wiped first
#                                                  and kept afterwards
#        PERF_OUT    (default /tmp/perf-results) - binaries + results.tsv
#
#   A  opt-level=3  lto=thin cgu=16 strip=symbols   (current Cargo.toml)
#   B  opt-level=3  lto=fat  cgu=1  strip=symbols
#   C  opt-level=s  lto=fat  cgu=1  strip=symbols
#   D  opt-level=z  lto=fat  cgu=1  strip=symbols
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${PERF_TARGET:-/tmp/perf-target}"
OUT="${PERF_OUT:-/tmp/perf-results}"
BINS=(identity-register notifications-welcome-email)
mkdir -p "$OUT"
[ -f "$OUT/results.tsv" ] || printf 'variant\tbuild_wall_s\tbuild_cpu_s\tbinary\tsize_bytes\tzip_bytes\n' >"$OUT/results.tsv"

variant_env() {
    case "$1" in
        A) echo "3 thin 16" ;;
        B) echo "3 fat 1" ;;
        C) echo "s fat 1" ;;
        D) echo "z fat 1" ;;
        *) echo "unknown variant $1" >&2; exit 2 ;;
    esac
}

for v in "${@:-A B C D}"; do
  for V in $v; do
    read -r opt lto cgu <<<"$(variant_env "$V")"
    export CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt"
    export CARGO_PROFILE_RELEASE_LTO="$lto"
    export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$cgu"
    export CARGO_PROFILE_RELEASE_STRIP=symbols
    export CARGO_PROFILE_RELEASE_PANIC=unwind
    export CARGO_TARGET_DIR="$TARGET/$V"
    echo "=== variant $V: opt-level=$opt lto=$lto codegen-units=$cgu strip=symbols"
    echo "loadavg before: $(cat /proc/loadavg)"
    rm -rf "${TARGET:?}/$V"
    # Wall time, and CPU time (user+sys of cargo and every rustc/cc/linker
    # it ran), which is far less sensitive to other load on the machine.
    TIMEFORMAT='%R %U %S'
    (cd "$ROOT" && /usr/bin/time -f '%e %U %S' -o "$OUT/$V.time" \
        cargo build --release --locked -p identity-register -p notifications-welcome-email)
    read -r build_s user_s sys_s <"$OUT/$V.time"
    cpu_s=$(echo "$user_s + $sys_s" | bc)
    echo "variant $V build: wall ${build_s}s cpu ${cpu_s}s   loadavg after: $(cat /proc/loadavg)"
    mkdir -p "$OUT/$V"
    for b in "${BINS[@]}"; do
        cp "$CARGO_TARGET_DIR/release/$b" "$OUT/$V/$b"
        tmp=$(mktemp -d)
        cp "$CARGO_TARGET_DIR/release/$b" "$tmp/bootstrap"
        (cd "$tmp" && zip -q -9 bootstrap.zip bootstrap)
        size=$(stat -c %s "$tmp/bootstrap")
        zsize=$(stat -c %s "$tmp/bootstrap.zip")
        rm -rf "$tmp"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$V" "$build_s" "$cpu_s" "$b" "$size" "$zsize" | tee -a "$OUT/results.tsv"
    done
    # argon2id timing harness, same profile overrides (not included in build time).
    (cd "$ROOT/infra/bench/argon2-bench" && cargo build --release)
    cp "$CARGO_TARGET_DIR/release/argon2-bench" "$OUT/$V/argon2-bench"
  done
done
