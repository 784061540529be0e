#!/usr/bin/env bash
# Runs every test of ServerSync: formatting, lints, binding drift, unit and integration tests,
# the UI's tests, and the end-to-end tests of the real desktop window (Xvfb + WebKitWebDriver)
# against a real Secret Service. Installs what it needs first (Debian 12, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"
out="${SERVERSYNC_TEST_OUTPUT:-$root/test-output}"
mkdir -p "$out"

bash scripts/install-deps.sh
bash scripts/install-tools.sh

echo "== UI: install, typecheck, unit tests, build"
(cd ui && npm install --no-audit --no-fund --loglevel=error && npx tsc --noEmit && npx vitest run && npx vite build)
(cd tests/e2e && npm install --no-audit --no-fund --loglevel=error)

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== the engine does not depend on Tauri; the shell does not depend on storage, keychain or protocol crates"
if cargo tree -p serversync --locked --edges normal,build --prefix none | grep -qiE '^tauri'; then
  echo "the serversync engine depends on a tauri crate" >&2
  exit 1
fi
if cargo tree -p serversync-app --locked --edges normal --depth 1 --prefix none | grep -qiE '^(rusqlite|keyring|dbus-secret|async-imap|lettre) '; then
  echo "src-tauri depends directly on a storage, keychain or protocol crate" >&2
  exit 1
fi

echo "== cargo build"
cargo build --workspace --all-targets --locked

echo "== cargo test (bindings drift included; a private gnome-keyring Secret Service)"
bash scripts/with-keychain.sh cargo test --workspace --locked --no-fail-fast

echo "== fuzz: the parsers of what servers send (POP3, Graph, EWS; bounded time; needs a nightly toolchain)"
bash scripts/fuzz.sh

echo "== end-to-end: the desktop app under Xvfb, driven through tauri-driver and WebKitWebDriver"
export SERVERSYNC_TEST_OUTPUT="$out"
(cd tests/e2e && xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  bash "$root/scripts/with-keychain.sh" node --test --test-concurrency=1 ./app.test.mjs ./mail.test.mjs ./exchange.test.mjs ./incoming.test.mjs ./monitoring.test.mjs ./window.test.mjs)
echo "screenshots: $out/screenshots"
