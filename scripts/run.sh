#!/usr/bin/env bash
# Installs what ServerSync needs (Debian 12, as root), builds it, and starts it.
# Today ServerSync runs as the headless `serversync` command; arguments are passed to it
# (without any, it shows where its data lives and what it can do).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cargo build --release --locked -p serversync
bin=target/release/serversync

if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
"$bin" status
echo
"$bin" --help
