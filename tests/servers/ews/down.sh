#!/usr/bin/env bash
# Stops the EWS test server started by up.sh for STATE_DIR (see ../stop-server.sh).
# Usage: down.sh STATE_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: down.sh STATE_DIR" >&2; exit 1; }
exec bash "$(dirname "${BASH_SOURCE[0]}")/../stop-server.sh" ews "$1"
