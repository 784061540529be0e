#!/usr/bin/env bash
# Stops the test server KIND (graph, ews) that KIND/up.sh started for STATE_DIR — only that one:
# the pid in STATE_DIR/KIND.pid must be KIND/server.py running for STATE_DIR — and waits until it
# is gone (TERM, then KILL). Safe to run twice; does nothing when no server runs. Its log
# (STATE_DIR/logs/KIND.log) is kept.
# Usage: stop-server.sh KIND STATE_DIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: stop-server.sh KIND STATE_DIR" >&2; exit 1; }
kind=$1
[ -d "$2" ] || exit 0
state=$(cd "$2" && pwd)
pidfile=$state/$kind.pid
if [ -f "$pidfile" ]; then
  pid=$(tr -dc 0-9 <"$pidfile")
  ours() { tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$kind/server.py --state $state "; }
  gone() {
    for _ in $(seq 1 100); do
      ours || return 0
      sleep 0.02
    done
  }
  if [ -n "$pid" ] && ours; then
    kill -TERM "$pid" 2>/dev/null || true
    gone
    if ours; then
      kill -KILL "$pid" 2>/dev/null || true
      gone
    fi
  fi
fi
rm -f "$pidfile" "$state/$kind.json" "$state/$kind.ports"
