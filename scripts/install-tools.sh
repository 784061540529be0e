#!/usr/bin/env bash
# Installs the Rust-side tools the tests need, from crates.io: tauri-driver (WebDriver for the
# desktop window) and, where a nightly toolchain is installed, cargo-fuzz (the POP3 parser's
# fuzz target). Idempotent.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --version '^2' --locked
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly' && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
