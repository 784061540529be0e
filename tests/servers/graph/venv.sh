#!/usr/bin/env bash
# Prints the Python interpreter of the test servers' virtual environment, creating or completing it
# when needed: Debian's python3 (its system packages stay visible, python3-lxml for the EWS test
# server among them) plus the pinned packages below from PyPI. Location: $SERVERSYNC_TEST_VENV,
# default <repo>/target/test-venv. Needs python3-venv (scripts/install-deps.sh).
#
# Fast when already done: the pinned list is kept in <venv>/.requirements and compared. Concurrent
# callers (tests start servers in parallel) wait for each other on <venv>.lock. An existing venv is
# completed in place, never deleted (a running server may use it), unless its interpreter is broken.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
venv=${SERVERSYNC_TEST_VENV:-$repo/target/test-venv}
requirements=("openapi-schema-validator==0.9.0" "PyJWT[crypto]==2.10.1")
stamp="${requirements[*]}"

ready() { [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$stamp" ]; }

if ! ready; then
  mkdir -p "$(dirname "$venv")"
  exec 9>"$venv.lock"
  flock 9
  if ! ready; then
    python=/usr/bin/python3
    [ -x "$python" ] || python=$(command -v python3) || { echo "venv.sh: python3 is missing" >&2; exit 1; }
    if ! "$venv/bin/python" -c "" 2>/dev/null; then
      rm -rf "$venv"
      "$python" -m venv --system-site-packages "$venv" >&2 ||
        { echo "venv.sh: '$python -m venv' failed; install python3-venv (scripts/install-deps.sh)" >&2; exit 1; }
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "${requirements[@]}" >&2
    echo "$stamp" >"$venv/.requirements"
  fi
  exec 9>&-
fi
echo "$venv/bin/python"
