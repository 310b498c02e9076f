# Shared by infra/up, infra/test and infra/down. Sourced, not executed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
VENV="$ROOT/.venv"
mkdir -p "$LOCAL"

export STACK_NAME="${STACK_NAME:-serverless-commerce}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="$AWS_DEFAULT_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export EMULATOR_PORT="${EMULATOR_PORT:-4566}"
export GATEWAY_LISTEN="${GATEWAY_LISTEN:-127.0.0.1:3000}"
export API_URL="${API_URL:-http://$GATEWAY_LISTEN}"
# Functions are built with the profile the tests use, so CI compiles once.
export BUILD_PROFILE="${BUILD_PROFILE:-dev}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

target_dir() {
  case "$BUILD_PROFILE" in
    dev) echo "$ROOT/target/debug" ;;
    *) echo "$ROOT/target/$BUILD_PROFILE" ;;
  esac
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha"
  local want
  want="$(sha256sum "$ROOT/infra/requirements.txt" | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  step "Installing Python tools into $VENV (ministack, cargo-lambda, cfn-lint, boto3)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
  echo "$want" > "$stamp"
}

emulator_ready() {
  curl -sf -o /dev/null --max-time 2 "$1/_ministack/ready" \
    || curl -sf -o /dev/null --max-time 2 "$1/_localstack/health"
}
