#!/usr/bin/env bash
# Prints the Python interpreter of the test servers' virtual environment, creating it when needed:
# Debian's python3 with its system packages (python3-cryptography, python3-lxml) plus the pinned
# packages below from PyPI. Location: $SERVERSYNC_TEST_VENV, default <repo>/target/test-venv.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
venv=${SERVERSYNC_TEST_VENV:-$repo/target/test-venv}
requirements="openapi-schema-validator==0.9.0"
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv --system-site-packages "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --disable-pip-version-check -q $requirements >&2
  echo "$requirements" >"$venv/.requirements"
fi
echo "$venv/bin/python"
