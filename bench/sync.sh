#!/usr/bin/env bash
# Continuous-sync benchmark against the real local Dovecot and Postfix (tests/servers/), release
# build: push latency through IMAP IDLE (20 mailboxes, 200 messages) beside a raw IDLE client,
# sending (emails/s beside a raw pipelined SMTP injection in the same run, with and without the
# Sent copy), the wall time and logins of one polling pass over N idle mailboxes beside a raw
# client's pass, and the idle RSS of the running scheduler.
# Usage: bench/sync.sh [MAILBOXES (1000)] [EMAILS (1000)]; BENCH_PARTS=push,sending,idle picks parts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/install-deps.sh >/dev/null
cargo build --release --locked -p serversync-tests --bin bench-sync
exec target/release/bench-sync "${1:-1000}" "${2:-1000}"
