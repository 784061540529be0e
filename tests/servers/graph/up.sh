#!/usr/bin/env bash
# Starts the Microsoft Graph test server (server.py) for STATE_DIR, a state directory of
# tests/servers/up.sh (its certificate, tls/server.pem, is the one served; ca.pem is the CA to
# trust). Writes STATE_DIR/graph.json ({"port", "admin_port", "base"}) once both ports accept
# connections. FIXTURES_DIR is shared/fixtures/graph (the OpenAPI subset every request is checked
# against).
# Usage: up.sh STATE_DIR FIXTURES_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 2 ] || { echo "usage: up.sh STATE_DIR FIXTURES_DIR" >&2; exit 1; }
state=$(cd "$1" && pwd)
fixtures=$(cd "$2" && pwd)
[ -s "$state/tls/server.pem" ] || { echo "up.sh: $state/tls/server.pem missing; run tests/servers/up.sh first" >&2; exit 1; }
python=$(bash "$here/venv.sh")
bash "$here/down.sh" "$state"
mkdir -p "$state/logs"
rm -f "$state/graph.json"
setsid "$python" "$here/server.py" --state "$state" --fixtures "$fixtures" >"$state/logs/graph.log" 2>&1 &
echo $! >"$state/graph.pid"
for _ in $(seq 1 300); do
  if [ -s "$state/graph.json" ]; then
    exit 0
  fi
  if ! kill -0 "$(cat "$state/graph.pid")" 2>/dev/null; then
    echo "up.sh: the Graph test server stopped:" >&2
    tail -n 30 "$state/logs/graph.log" >&2
    exit 1
  fi
  sleep 0.05
done
echo "up.sh: the Graph test server did not start in 15 s" >&2
exit 1
