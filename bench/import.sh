#!/usr/bin/env bash
# Import benchmark: `serversync mailbox sync` of one IMAP mailbox of N generated messages (default
# 10,000, about 200 MB) against the real local Dovecot (tests/servers/), release build, beside a
# raw `UID FETCH 1:* BODY.PEEK[]` of the same mailbox measured in the same run. Prints wall time,
# messages/s, MB/s, the sync's peak RSS and the ratio of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/install-deps.sh >/dev/null
cargo build --release --locked -p serversync-cli
exec bash scripts/with-keychain.sh python3 bench/import.py "${1:-10000}"
