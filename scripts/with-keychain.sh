#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring Secret Service,
# all its state in a throwaway directory. Nothing of the caller's own keychain is touched.
#   scripts/with-keychain.sh cargo test
set -euo pipefail
root=$(mktemp -d "${TMPDIR:-/tmp}/serversync-keychain.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/data" "$root/run"
chmod 700 "$root/run"
export XDG_DATA_HOME="$root/data" XDG_RUNTIME_DIR="$root/run"
exec dbus-run-session -- bash -c '
  set -euo pipefail
  # --unlock reads the login keyring password from stdin and creates the default collection.
  eval "$(printf %s "serversync-test-keyring" | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  export GNOME_KEYRING_CONTROL
  "$@"' _ "$@"
