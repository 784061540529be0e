#!/usr/bin/env bash
# Test & Enable Mailboxes of N mailboxes (default 200; `test-enable.sh N LIMIT…` picks the limits) against the real local Dovecot and
# Postfix (tests/servers/), release build. Prints wall time and mailboxes per second for
# Maximum Concurrent Connections 1, 2 and 10. The peak connection counts are cumulative over the
# runs of one server start (each run's peak cannot exceed its limit; the largest limit wins).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/install-deps.sh >/dev/null
cargo build --release --locked -p serversync-tests --bin bench-test-enable
exec target/release/bench-test-enable "${1:-200}" "${@:2}"
