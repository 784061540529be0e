#!/usr/bin/env bash
# Runs every test of ServerSync: formatting, lints, unit tests, and the end-to-end tests
# against a real Secret Service. Installs what it needs first (Debian 12, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== the engine does not depend on Tauri"
if cargo tree -p serversync --locked --edges normal,build --prefix none | grep -qiE '^tauri'; then
  echo "the serversync engine depends on a tauri crate" >&2
  exit 1
fi

echo "== cargo build"
cargo build --workspace --all-targets --locked

echo "== cargo test (with a private gnome-keyring Secret Service)"
bash scripts/with-keychain.sh cargo test --workspace --locked --no-fail-fast
