#!/usr/bin/env bash
# Adds a mail user (or changes the password of an existing one) in STATE_DIR's Dovecot passwd-file.
# Works while the servers run: the user can log in over IMAP, POP3 and SMTP as soon as this script
# returns (it waits until both Dovecot instances answer with the new entry; at most ~1 s).
#
# Usage: add-user.sh STATE_DIR NAME PASSWORD
#   NAME: letters, digits, '.', '_', '-' (stored lowercase: Dovecot lowercases login names).
#   The mail address is NAME@localhost. PASSWORD: any characters but a newline.
# (--no-wait as the first argument skips the wait; up.sh uses it before the servers start.)
set -euo pipefail

die() { echo "add-user.sh: $*" >&2; exit 1; }

wait_visible=1
if [ "${1:-}" = --no-wait ]; then
  wait_visible=0
  shift
fi
[ $# -eq 3 ] || die "usage: add-user.sh STATE_DIR NAME PASSWORD"
S=$(cd "$1" && pwd -P) || die "no such STATE_DIR: $1"
name=${2,,}
password=$3
[[ $name =~ ^[a-z0-9._-]+$ ]] || die "invalid user name '$2' (letters, digits, . _ - only)"
[[ $password != *$'\n'* ]] || die "the password must not contain a newline"
passwd=$S/dovecot/users
[ -f "$passwd" ] || die "$passwd not found; run up.sh first"

# Stored base64-encoded, so a password may contain ':' or any other character.
entry="$name:{PLAIN.b64}$(printf %s "$password" | base64 -w0)"

# Rewrite the file atomically (Dovecot may read it at any moment), one writer at a time.
exec 9>"$S/dovecot/users.lock"
flock 9
tmp=$(mktemp "$S/dovecot/users.XXXXXX")
awk -F: -v n="$name" '$1 != n' "$passwd" >"$tmp"
printf '%s\n' "$entry" >>"$tmp"
chown root:dovecot "$tmp"
chmod 640 "$tmp"
mv -f "$tmp" "$passwd"
flock -u 9

[ $wait_visible -eq 1 ] || exit 0

# Dovecot re-reads a changed passwd-file at most once a second. Wait until each running instance
# returns the new entry (a passdb lookup through its auth socket; nothing is logged, no failure delay).
for instance in dovecot:run untrusted:run-untrusted; do
  conf=${instance%%:*}
  [ -S "$S/dovecot/${instance#*:}/auth-userdb" ] || continue
  deadline=$((SECONDS + 5))
  until doveadm -c "$S/dovecot/$conf.conf" auth lookup "$name" 2>/dev/null | grep -qF "${entry#*:}"; do
    [ $SECONDS -lt $deadline ] || die "Dovecot ($conf) does not see user $name after 5 s"
    sleep 0.05
  done
done
