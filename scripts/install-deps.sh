#!/usr/bin/env bash
# Installs every system package ServerSync needs to build, run and test on Debian 12 (as root).
# Idempotent: packages already present are skipped quickly. Nothing is downloaded outside apt.
set -euo pipefail

packages=(
  # build (the engine, and the Tauri desktop shell: WebKitGTK 4.1)
  build-essential pkg-config libdbus-1-dev libssl-dev file
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  # the desktop app under test: a virtual display and WebKit's WebDriver
  xvfb xauth webkit2gtk-driver imagemagick x11-utils
  # fonts for every language of the UI (Japanese and Vietnamese included)
  fonts-noto-cjk
  # OS keychain for tests: a real Secret Service under a private D-Bus session
  dbus dbus-bin gnome-keyring libsecret-tools
  # real mail servers for the protocol tests, started on 127.0.0.1 by tests/servers/ (never as system services)
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl
  # Microsoft's EWS schemas are checked with xmllint
  libxml2-utils
  # the mail corpus generator and the benchmarks
  python3 python3-lxml
  # the Exchange test servers (tests/servers/graph, tests/servers/ews): a venv with Debian's packages
  python3-venv python3-cryptography
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks what kind of mail system this is; the tests configure their own instance.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Do not let the packages start system daemons: the tests run their own on free loopback ports.
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
  fi
  trap '[ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: installed ${missing[*]}"
else
  echo "install-deps: all system packages present"
fi
