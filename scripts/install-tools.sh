#!/usr/bin/env bash
# Installs the Rust-side tools the tests need, from crates.io: tauri-driver (WebDriver for the
# desktop window). Idempotent.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --version '^2' --locked
fi
