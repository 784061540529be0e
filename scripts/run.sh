#!/usr/bin/env bash
# Installs what ServerSync needs (Debian 12, as root), builds it, and starts the desktop app.
# `bash scripts/run.sh cli ARGS…` runs the headless `serversync` command instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/install-deps.sh
(cd ui && npm install --no-audit --no-fund --loglevel=error && npx vite build)
cargo build --release --locked -p serversync-cli -p serversync-app

if [ "${1:-}" = "cli" ]; then
  shift
  exec target/release/serversync "$@"
fi
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: starting ServerSync on a virtual one (Xvfb :97). For the command line: bash scripts/run.sh cli --help" >&2
  Xvfb :97 -screen 0 1280x800x24 -nolisten tcp &
  export DISPLAY=:97
  sleep 1
fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec dbus-run-session -- target/release/serversync-app
fi
exec target/release/serversync-app
