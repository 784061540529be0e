#!/usr/bin/env bash
# Stops the Graph test server of STATE_DIR (safe to run twice).
set -euo pipefail
pidfile="$1/graph.pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
