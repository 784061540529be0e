#!/usr/bin/env bash
# Starts the Microsoft Graph test server (server.py) for STATE_DIR, a state directory of
# tests/servers/up.sh: it serves that directory's certificate (tls/server.pem, for localhost and
# 127.0.0.1; ca.pem is the CA to trust). FIXTURES_DIR is shared/fixtures/graph (the OpenAPI subset
# every request and answer is validated against). Both ports are chosen free. Once both accept
# connections, writes STATE_DIR/graph.json:
#   {"port": P, "admin_port": A, "base": "https://127.0.0.1:P"}
# P serves Graph v1.0 and the token endpoint (HTTPS), A the admin API (plain HTTP; see README.md).
# The server's pid is in STATE_DIR/graph.pid, its log in STATE_DIR/logs/graph.log. A server still
# running for STATE_DIR is stopped first (its store is in memory: a restart starts empty).
# Usage: up.sh STATE_DIR FIXTURES_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "graph/up.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: up.sh STATE_DIR FIXTURES_DIR"
state=$(cd "$1" && pwd)
fixtures=$(cd "$2" && pwd)
[ -s "$state/tls/server.pem" ] && [ -s "$state/tls/server-key.pem" ] ||
  die "$state/tls/server.pem or server-key.pem is missing; run tests/servers/up.sh $state first"
[ -s "$fixtures/graph-v1.0-subset.validation.json" ] && [ -s "$fixtures/validate.py" ] ||
  die "$fixtures has no graph-v1.0-subset.validation.json and validate.py"

python=$(bash "$here/venv.sh") || die "the test servers' virtual environment could not be set up"

bash "$here/down.sh" "$state"
mkdir -p "$state/logs"
rm -f "$state/graph.json" "$state/graph.ports"
t0=$(date +%s%N)
setsid nohup "$python" "$here/server.py" --state "$state" --fixtures "$fixtures" \
  </dev/null >>"$state/logs/graph.log" 2>&1 &
echo $! >"$state/graph.pid"

listening() { # port: is 127.0.0.1:port in LISTEN state?
  awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}
for _ in $(seq 1 300); do
  if [ -s "$state/graph.ports" ]; then
    ports=$(cat "$state/graph.ports")
    port=$(sed -E 's/.*"port": *([0-9]+).*/\1/' <<<"$ports")
    admin_port=$(sed -E 's/.*"admin_port": *([0-9]+).*/\1/' <<<"$ports")
    if listening "$port" && listening "$admin_port"; then
      base="https://127.0.0.1:$port"
      printf '{"port": %s, "admin_port": %s, "base": "%s"}\n' "$port" "$admin_port" "$base" >"$state/graph.json.new"
      mv -f "$state/graph.json.new" "$state/graph.json"
      echo "Graph test server up in $((($(date +%s%N) - t0) / 1000000)) ms: $base, admin http://127.0.0.1:$admin_port"
      exit 0
    fi
  fi
  if ! kill -0 "$(cat "$state/graph.pid")" 2>/dev/null; then
    echo "graph/up.sh: the Graph test server stopped:" >&2
    tail -n 30 "$state/logs/graph.log" >&2
    rm -f "$state/graph.pid"
    exit 1
  fi
  sleep 0.05
done
echo "graph/up.sh: the Graph test server did not start in 15 s:" >&2
tail -n 30 "$state/logs/graph.log" >&2
bash "$here/down.sh" "$state"
exit 1
