#!/usr/bin/env bash
# Adds a mail user to STATE_DIR's servers, or changes an existing user's password. Works while the
# servers run: when this script returns, the user can sign in over IMAP, POP3 and SMTP (it waits,
# at most about a second, until each running Dovecot answers with the new entry).
#
# Usage: add-user.sh STATE_DIR NAME PASSWORD
#   NAME      letters, digits, '.', '_', '-'; stored lowercase (Dovecot lowercases login names).
#             The mail address is NAME@localhost.
#   PASSWORD  any characters but a newline.
set -euo pipefail

die() { echo "add-user.sh: $*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: add-user.sh STATE_DIR NAME PASSWORD"
S=$(cd "$1" 2>/dev/null && pwd -P) || die "no such STATE_DIR: $1"
name=${2,,}
password=$3
[[ $name =~ ^[a-z0-9._-]+$ ]] || die "invalid user name '$2' (letters, digits, . _ - only)"
[[ $password != *$'\n'* ]] || die "the password must not contain a newline"
passwd=$S/dovecot/users
[ -f "$passwd" ] || die "$passwd not found; run up.sh first"

# Stored hex-encoded, so a password may contain ':' or any other character.
scheme="{PLAIN.HEX}$(printf %s "$password" | od -An -v -tx1 | tr -d ' \n')"

# Rewrite the file atomically (Dovecot may read it at any moment), one writer at a time.
exec 9>"$S/dovecot/users.lock"
flock 9
tmp=$(mktemp "$S/dovecot/users.XXXXXX")
awk -F: -v n="$name" '$1 != n' "$passwd" >"$tmp"
printf '%s:%s\n' "$name" "$scheme" >>"$tmp"
chown root:dovecot "$tmp"
chmod 640 "$tmp"
# Dovecot notices a new passwd-file by its size or modification second: make that second new.
old=$(stat -c %Y "$passwd")
now=${EPOCHREALTIME%.*}
touch -d "@$((now > old ? now : old + 1))" "$tmp"
mv -f "$tmp" "$passwd"
exec 9>&-

# Dovecot looks at the file at most once a second: from the next second on, every lookup sees it.
left=$((1000000 - 10#${EPOCHREALTIME#*.} + 10000)) # microseconds to the next second, and 10 ms
sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
