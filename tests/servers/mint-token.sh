#!/usr/bin/env bash
# Prints an OAuth2 access token that STATE_DIR's servers accept for USER with SASL XOAUTH2 or
# OAUTHBEARER (IMAP, POP3, SMTP): a JWT signed with HS256 and the key of STATE_DIR/oauth2-hs256.key
# (written by up.sh), with the claims
#   {"sub":"USER","iat":NOW,"exp":NOW+SECONDS}
# Dovecot checks the signature, "exp" (not past), "iat" (not in the future) and that "sub" equals
# the login name (compared in lowercase); the user must also be one of the servers' users.
#
# Usage: mint-token.sh STATE_DIR USER [SECONDS]
#   SECONDS  validity from now, default 600. Negative: a token that expired that long ago (then
#            "iat" is set to "exp").
set -euo pipefail

die() { echo "mint-token.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: mint-token.sh STATE_DIR USER [SECONDS]"
key_file=$1/oauth2-hs256.key
user=$2
seconds=${3:-600}
[ -r "$key_file" ] || die "$key_file not found; run up.sh first"
key=$(cat "$key_file")
[[ $key =~ ^[0-9a-f]{64}$ ]] || die "$key_file does not hold 64 hex digits"
[[ $seconds =~ ^-?[0-9]+$ ]] || die "SECONDS must be a whole number: $seconds"
[[ -n $user && $user != *[\"\\]* && $user != *[[:cntrl:]]* ]] ||
  die "USER must be non-empty, without quotes, backslashes or control characters"

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
exp=$((now + seconds))
iat=$((exp < now ? exp : now))
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
claims=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$user" "$iat" "$exp" | b64url)
signature=$(printf '%s.%s' "$header" "$claims" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$claims" "$signature"
