#!/usr/bin/env bash
# Stops the Graph test server started by up.sh for STATE_DIR (only that one: the pid in
# STATE_DIR/graph.pid must be a server.py running for STATE_DIR) and waits until it is gone. Safe to
# run twice; does nothing when no server runs. The log (STATE_DIR/logs/graph.log) is kept.
# Usage: down.sh STATE_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: down.sh STATE_DIR" >&2; exit 1; }
[ -d "$1" ] || exit 0
state=$(cd "$1" && pwd)
pidfile=$state/graph.pid
if [ -f "$pidfile" ]; then
  pid=$(tr -dc 0-9 <"$pidfile")
  ours() { tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "graph/server.py --state $state "; }
  if [ -n "$pid" ] && ours; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      ours || break
      sleep 0.02
    done
    if ours; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        ours || break
        sleep 0.02
      done
    fi
  fi
fi
rm -f "$pidfile" "$state/graph.json" "$state/graph.ports"
