#!/usr/bin/env bash
# Starts the Exchange Web Services test server (server.py) for STATE_DIR, a state directory of
# tests/servers/up.sh: it serves that directory's certificate (tls/server.pem, for localhost and
# 127.0.0.1; ca.pem is the CA to trust). FIXTURES_DIR is shared/fixtures/ews (the schemas every EWS
# request and answer is validated against). Both ports are chosen free. Once both accept connections,
# writes STATE_DIR/ews.json:
#   {"port": P, "admin_port": A, "base": "https://127.0.0.1:P", "ews_url": "https://127.0.0.1:P/EWS/Exchange.asmx"}
# The server's pid is in STATE_DIR/ews.pid, its log in STATE_DIR/logs/ews.log. A server still running
# for STATE_DIR is stopped first (its mail store is in memory: a restart starts empty).
# Usage: up.sh STATE_DIR FIXTURES_DIR
# Environment (optional): EWS_AUTODISCOVER_PORT=443 also serves everything on that port of 127.0.0.1,
#   where Autodiscover's standard URLs (https://<domain>/autodiscover/…) reach it for a domain that
#   resolves to 127.0.0.1 (localhost). Only one server at a time can have it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "ews/up.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: up.sh STATE_DIR FIXTURES_DIR"
state=$(cd "$1" && pwd)
fixtures=$(cd "$2" && pwd)
[ -s "$state/tls/server.pem" ] && [ -s "$state/tls/server-key.pem" ] ||
  die "$state/tls/server.pem or server-key.pem is missing; run tests/servers/up.sh $state first"
[ -s "$fixtures/ews-soap-envelope.xsd" ] || die "$fixtures/ews-soap-envelope.xsd is missing"

# The test servers' Python: the virtual environment of tests/servers/graph (Debian's python3 with its
# system packages, python3-lxml among them) when it can be set up, else Debian's python3 itself.
python=
if [ -f "$here/../graph/venv.sh" ]; then
  python=$(bash "$here/../graph/venv.sh") || {
    echo "ews/up.sh: the test servers' virtual environment could not be set up; using the system python3" >&2
    python=
  }
fi
if [ -z "$python" ]; then
  python=/usr/bin/python3
  [ -x "$python" ] || python=$(command -v python3) || die "python3 is missing; run scripts/install-deps.sh"
fi

bash "$here/down.sh" "$state"
mkdir -p "$state/logs"
rm -f "$state/ews.json" "$state/ews.ports"
t0=$(date +%s%N)
setsid "$python" "$here/server.py" --state "$state" --fixtures "$fixtures" \
  --autodiscover-port "${EWS_AUTODISCOVER_PORT:-0}" </dev/null >"$state/logs/ews.log" 2>&1 &
echo $! >"$state/ews.pid"

listening() { # port: is 127.0.0.1:port in LISTEN state?
  awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}
for _ in $(seq 1 300); do
  if [ -s "$state/ews.ports" ]; then
    ports=$(cat "$state/ews.ports")
    port=$(sed -E 's/.*"port": *([0-9]+).*/\1/' <<<"$ports")
    admin_port=$(sed -E 's/.*"admin_port": *([0-9]+).*/\1/' <<<"$ports")
    if listening "$port" && listening "$admin_port"; then
      base="https://127.0.0.1:$port"
      printf '{"port": %s, "admin_port": %s, "base": "%s", "ews_url": "%s/EWS/Exchange.asmx"}\n' \
        "$port" "$admin_port" "$base" "$base" >"$state/ews.json.new"
      mv -f "$state/ews.json.new" "$state/ews.json"
      echo "EWS test server up in $((($(date +%s%N) - t0) / 1000000)) ms: $base/EWS/Exchange.asmx, admin http://127.0.0.1:$admin_port"
      exit 0
    fi
  fi
  if ! kill -0 "$(cat "$state/ews.pid")" 2>/dev/null; then
    echo "ews/up.sh: the EWS test server stopped:" >&2
    tail -n 30 "$state/logs/ews.log" >&2
    rm -f "$state/ews.pid"
    exit 1
  fi
  sleep 0.05
done
echo "ews/up.sh: the EWS test server did not start in 15 s:" >&2
tail -n 30 "$state/logs/ews.log" >&2
bash "$here/down.sh" "$state"
exit 1
