#!/usr/bin/env bash
# Starts real mail servers on 127.0.0.1 for the integration tests, all state under STATE_DIR:
#   Dovecot  (IMAP + STARTTLS, IMAPS, POP3 + STLS, POP3S, LMTP, SASL socket for Postfix)
#   Dovecot  (a second instance: IMAPS and POP3S with a certificate from an unrelated CA)
#   Postfix  (SMTP submission with STARTTLS, SMTPS with implicit TLS; AUTH through Dovecot;
#             mail for @localhost is delivered to Dovecot over LMTP)
# Sign-in with a password (PLAIN, LOGIN) or an OAuth2 bearer token (XOAUTH2, OAUTHBEARER: an HS256
# JWT signed with the key in STATE_DIR/oauth2-hs256.key and checked by Dovecot itself; see
# mint-token.sh).
# Every port is chosen free at start. When this script exits 0, every port accepts connections and
# STATE_DIR/ports.env and STATE_DIR/ports.json describe them (see README.md).
#
# Usage: up.sh STATE_DIR
#   STATE_DIR/users.txt (optional, lines "name:password") lists the users; without it the users are
#   alice/alice-pass and bob/bob-pass. Running up.sh again on the same STATE_DIR restarts the servers
#   (processes still running from that STATE_DIR are stopped first) and keeps mail, users, certificates
#   and, when they are still free, ports.
# Environment (optional): AUTH_FAILURE_DELAY (Dovecot's delay before a failed login is answered,
#   default "2 secs"), MAIL_MAX_USERIP_CONNECTIONS (per user and IP, IMAP and POP3 each, default 10),
#   AUTH_MECHANISMS (the SASL mechanisms offered by Dovecot and, through it, Postfix; default
#   "plain login xoauth2 oauthbearer"; "login" alone makes clients fall back to IMAP LOGIN, POP3
#   USER/PASS and SMTP AUTH LOGIN).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
t0=$(date +%s%N)

die() { echo "up.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: up.sh STATE_DIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (Dovecot and Postfix switch to their own users)"
for tool in dovecot doveconf postfix openssl perl; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
done

mkdir -p "$1"
S=$(cd "$1" && pwd -P)
# The path goes into configuration files unquoted.
[[ $S =~ ^[A-Za-z0-9/._+-]+$ ]] || die "STATE_DIR must be a plain path (letters, digits, / . _ + -): $S"
# Unix sockets live under STATE_DIR; their paths must stay under the kernel limit of 107 bytes.
[ ${#S} -le 60 ] || die "STATE_DIR path is too long for unix sockets (${#S} > 60 characters): $S"
# The servers' own users (mail, dovecot, postfix) must be able to walk down to STATE_DIR.
d=$S
while [ "$d" != / ]; do
  d=$(dirname "$d")
  perm=$(stat -c %A "$d")
  [ "${perm:9:1}" = x ] || [ "${perm:9:1}" = t ] ||
    die "directory $d is not searchable by other users (mode $perm); put STATE_DIR elsewhere (e.g. under /tmp)"
done

auth_failure_delay=${AUTH_FAILURE_DELAY:-2 secs}
auth_mechanisms=${AUTH_MECHANISMS:-plain login xoauth2 oauthbearer}
max_userip=${MAIL_MAX_USERIP_CONNECTIONS:-10}

# ---------------------------------------------------------------- stop what still runs from STATE_DIR
bash "$here/down.sh" "$S" >/dev/null
# From here on, a failure stops whatever was started.
started_ok=0
trap '[ $started_ok = 1 ] || bash "$here/down.sh" "$S" >/dev/null 2>&1' EXIT

chmod 755 "$S"
# Dovecot's runtime directories hold sockets of the previous run: start clean.
rm -rf "$S/dovecot/run" "$S/dovecot/run-untrusted"
mkdir -p "$S/tls" "$S/pids" "$S/logs" "$S/mail" \
  "$S/dovecot/run" "$S/dovecot/run-untrusted" "$S/dovecot/state" "$S/dovecot/state-untrusted" \
  "$S/postfix/etc" "$S/postfix/spool" "$S/postfix/data"
chmod 700 "$S/tls"
chown mail:mail "$S/mail"
chown postfix:postfix "$S/postfix/data"
rm -f "$S/ports.env" "$S/ports.json"

# ---------------------------------------------------------------- certificates
# CA (ca.pem) -> server certificate for localhost / 127.0.0.1 / 127.0.0.2; an unrelated CA -> the "untrusted"
# server certificate. EC P-256, valid 2 days. Kept across restarts while valid for another hour.
make_ca() { # cert key CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$3" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$2" -out "$1" 2>/dev/null
}
make_server() { # cert key ca-cert ca-key
  local csr ext
  csr=$(mktemp) ext=$(mktemp)
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$2" -out "$csr" 2>/dev/null
  openssl x509 -req -in "$csr" -CA "$3" -CAkey "$4" -set_serial "0x$(openssl rand -hex 16)" \
    -days 2 -extfile "$ext" -out "$1" 2>/dev/null
  rm -f "$csr" "$ext"
}
fresh() { # valid for another hour, and (a server certificate) naming 127.0.0.2 too
  [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend 3600 >/dev/null 2>&1 &&
    { openssl x509 -in "$1" -noout -ext basicConstraints 2>/dev/null | grep -q 'CA:TRUE' ||
      openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -q '127.0.0.2'; }
}
if ! fresh "$S/ca.pem" || ! fresh "$S/tls/server.pem"; then
  make_ca "$S/ca.pem" "$S/ca-key.pem" "ServerSync test CA"
  make_server "$S/tls/server.pem" "$S/tls/server-key.pem" "$S/ca.pem" "$S/ca-key.pem"
fi
if ! fresh "$S/tls/untrusted-ca.pem" || ! fresh "$S/tls/untrusted-server.pem"; then
  make_ca "$S/tls/untrusted-ca.pem" "$S/tls/untrusted-ca-key.pem" "Untrusted test CA"
  make_server "$S/tls/untrusted-server.pem" "$S/tls/untrusted-server-key.pem" \
    "$S/tls/untrusted-ca.pem" "$S/tls/untrusted-ca-key.pem"
fi
chmod 600 "$S"/ca-key.pem "$S"/tls/*key.pem
chmod 644 "$S/ca.pem" "$S/tls/server.pem" "$S/tls/untrusted-ca.pem" "$S/tls/untrusted-server.pem"

# ---------------------------------------------------------------- OAuth2 token key
# A random HS256 key (32 bytes), kept across restarts so that tokens minted earlier stay valid.
# oauth2-hs256.key holds it as 64 hex digits and a newline (for mint-token.sh and the tests);
# Dovecot reads it base64-encoded from its key dictionary, a directory laid out as
# <azp>/<alg>/<kid>: tokens without "azp" and "kid" claims use default/HS256/default.
oauth2_key=$S/oauth2-hs256.key
if ! grep -qxE '[0-9a-f]{64}' "$oauth2_key" 2>/dev/null; then
  openssl rand -hex 32 >"$oauth2_key.new"
  mv -f "$oauth2_key.new" "$oauth2_key"
fi
chmod 644 "$oauth2_key"
rm -rf "$S/dovecot/oauth2-keys"
mkdir -p "$S/dovecot/oauth2-keys/default/HS256"
perl -e 'print pack("H*", $ARGV[0])' "$(cat "$oauth2_key")" | openssl base64 -A \
  >"$S/dovecot/oauth2-keys/default/HS256/default"
chown -R root:dovecot "$S/dovecot/oauth2-keys"
chmod -R u=rwX,g=rX,o= "$S/dovecot/oauth2-keys"

# ---------------------------------------------------------------- users (Dovecot passwd-file)
# The users of users.txt (or alice and bob when there is neither users.txt nor a passwd-file yet)
# are set in the passwd-file; users added earlier with add-user.sh stay. Passwords are stored
# hex-encoded ({PLAIN.HEX}), so they may contain ':' or any other character but a newline.
passwd=$S/dovecot/users
if [ -f "$S/users.txt" ]; then
  users_file=$S/users.txt
elif [ ! -s "$passwd" ]; then
  users_file=$S/dovecot/default-users.txt
  printf '%s\n' alice:alice-pass bob:bob-pass >"$users_file"
else
  users_file=/dev/null
fi
touch "$passwd"
perl -e '
  my ($passwd, $users) = @ARGV;
  my (@order, %entry);
  for my $file ($passwd, $users) {
    open(my $fh, "<", $file) or die "$file: $!\n";
    while (my $line = <$fh>) {
      $line =~ s/\r?\n\z//;
      next if $line eq "" || $line =~ /^#/;
      my ($name, $rest) = split /:/, $line, 2;
      die "users.txt: expected name:password, got: $line\n" unless defined $rest;
      $name = lc $name;
      die "users.txt: invalid user name \"$name\" (letters, digits, . _ - only)\n"
        unless $name =~ /^[a-z0-9._-]+\z/;
      $rest = "{PLAIN.HEX}" . unpack("H*", $rest) if $file eq $users;
      push @order, $name unless exists $entry{$name};
      $entry{$name} = $rest;
    }
  }
  open(my $out, ">", "$passwd.new") or die "$passwd.new: $!\n";
  print $out "$_:$entry{$_}\n" for @order;
  close $out or die "$passwd.new: $!\n";
' "$passwd" "$users_file" || die "could not write the users"
chown root:dovecot "$passwd.new"
chmod 640 "$passwd.new"
mv -f "$passwd.new" "$passwd"

# ---------------------------------------------------------------- ports
# Random free ports below the kernel's ephemeral range (so outgoing connections never hold them),
# all bound at once so they are distinct, then released for the servers. The previous ports of this
# STATE_DIR are reused when they are all still free.
port_names=(IMAP_PORT IMAPS_PORT POP3_PORT POP3S_PORT SMTP_PORT SMTPS_PORT LMTP_PORT
  UNTRUSTED_IMAPS_PORT UNTRUSTED_POP3S_PORT)
pick_ports() { # [preferred ports...]
  perl -MIO::Socket::INET -e '
    my $n = 9; my @want = @ARGV; my (@held, @ports);
    open(my $fh, "<", "/proc/sys/net/ipv4/ip_local_port_range") or die;
    my ($elo, $ehi) = split " ", <$fh>;
    my ($lo, $hi) = $elo - 1 > 11000 ? (10000, $elo - 1) : ($ehi + 1, 65535);
    my %taken;
    my $try = sub {
      my $p = shift; return 0 if $taken{$p};
      my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $p, Proto => "tcp",
                                    Listen => 1, ReuseAddr => 1) or return 0;
      push @held, $s; push @ports, $p; $taken{$p} = 1; return 1;
    };
    if (@want == $n) { for (@want) { last unless $try->($_) } }
    if (@ports != $n) { @held = (); @ports = (); %taken = ();
      for (1 .. 10000) { last if @ports == $n; $try->($lo + int(rand($hi - $lo + 1))) } }
    die "no free ports\n" unless @ports == $n;
    print "@ports\n";' -- "$@"
}

# ---------------------------------------------------------------- configuration files
write_configs() {
  # Shared by both Dovecot instances: users, mail storage, authentication, logging.
  cat >"$S/dovecot/common.conf" <<EOF
# Included by dovecot.conf and untrusted.conf. 127.0.0.2 too: Dovecot counts a client whose
# address is the server's own as secure, and a client of 127.0.0.2 comes from 127.0.0.1, so there
# plaintext sign-ins are refused as on a real server (LOGINDISABLED, no USER in CAPA).
listen = 127.0.0.1, 127.0.0.2
hostname = localhost
default_internal_user = dovecot
default_login_user = dovenull
import_environment = TZ

# One log file per instance, with microseconds (tests/servers/max-conn.sh reads it).
log_timestamp = "%Y-%m-%d %H:%M:%S.%{usecs} "
login_log_format_elements = user=<%u> method=%m rip=%r lip=%l lport=%a mpid=%e %c session=<%{session}>

ssl = yes
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2

# Passwords only inside TLS (STARTTLS/STLS or implicit TLS), as on a real server. Dovecot counts a
# client whose address is the server's own as secure, though: on 127.0.0.1 plaintext logins pass;
# on 127.0.0.2 they do not.
disable_plaintext_auth = yes
auth_mechanisms = $auth_mechanisms
auth_failure_delay = $auth_failure_delay
mail_max_userip_connections = $max_userip

# Virtual users from the passwd-file, all stored as Debian's 'mail' user (uid/gid 8).
first_valid_uid = 8
first_valid_gid = 8
# Passwords (PLAIN, LOGIN) are checked by the passwd-file alone: the oauth2 passdb is skipped for
# them. A token (XOAUTH2, OAUTHBEARER) is checked by the oauth2 passdb (signature, expiry, "sub"
# equal to the login name); a bad token ends there. A good one goes on to the passwd-file, which
# then skips the password check but still fails for a user it does not list.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $S/dovecot/oauth2.conf.ext
  result_success = continue-ok
  result_failure = return-fail
  result_internalfail = return-fail
}
passdb {
  driver = passwd-file
  args = username_format=%u $S/dovecot/users
  result_failure = return-fail
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$S/mail/%u
}
mail_location = maildir:~/Maildir

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
}

# No extra delay for everyone from an IP after a failed login (tests share 127.0.0.1; a failed
# login is still answered only after auth_failure_delay).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

# One login process serves many connections.
service imap-login {
  service_count = 0
  process_min_avail = 1
}
# An IMAP process serves one connection at a time, then the next (every mailbox belongs to the
# one system user that runs the tests), instead of a new process for each login.
service imap {
  service_count = 1000
  process_min_avail = 2
}
service pop3-login {
  service_count = 0
  process_min_avail = 1
}
EOF

  # The oauth2 passdb: JWTs validated locally with the keys of oauth2-keys/ (no token server).
  cat >"$S/dovecot/oauth2.conf.ext" <<EOF
# Settings of the oauth2 passdb (common.conf). A token is an HS256 JWT with the claims "sub" (the
# login name) and "exp" (optionally "iat", "nbf"), signed with oauth2-keys/default/HS256/default.
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$S/dovecot/oauth2-keys/
username_attribute = sub
username_format = %Lu
EOF

  cat >"$S/dovecot/dovecot.conf" <<EOF
# Dovecot for the tests: IMAP, IMAPS, POP3, POP3S, LMTP on 127.0.0.1, SASL socket for Postfix.
# Start: TZ=UTC dovecot -F -c $S/dovecot/dovecot.conf
!include common.conf
instance_name = serversync-test
base_dir = $S/dovecot/run
state_dir = $S/dovecot/state
log_path = $S/logs/dovecot.log
protocols = imap pop3 lmtp

ssl_cert = <$S/tls/server.pem
ssl_key = <$S/tls/server-key.pem

service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = $POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = $LMTP_PORT
  }
}
service auth {
  # SASL for Postfix (smtpd_sasl_type = dovecot)
  unix_listener $S/dovecot/auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@localhost
  # RCPT TO:<alice@localhost> is user alice
  auth_username_format = %Ln
}
EOF

  cat >"$S/dovecot/untrusted.conf" <<EOF
# Second Dovecot for the tests: IMAPS and POP3S only, with a certificate from a CA the clients do
# not trust (tls/untrusted-ca.pem). Same users and mail as dovecot.conf. (A second instance because
# Dovecot 2.3 picks certificates by local IP or SNI name, never by listener.)
# Start: TZ=UTC dovecot -F -c $S/dovecot/untrusted.conf
!include common.conf
instance_name = serversync-test-untrusted
base_dir = $S/dovecot/run-untrusted
state_dir = $S/dovecot/state-untrusted
log_path = $S/logs/dovecot-untrusted.log
protocols = imap pop3

ssl_cert = <$S/tls/untrusted-server.pem
ssl_key = <$S/tls/untrusted-server-key.pem

service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $UNTRUSTED_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = $UNTRUSTED_POP3S_PORT
    ssl = yes
  }
}
EOF

  # Two recipients every sender meets a refusal at: for good (5xx) and for now (4xx), at RCPT.
  cat >"$S/postfix/etc/recipient_access" <<'ACCESS'
/^refused@localhost$/   REJECT 5.1.1 refused for the tests
/^deferred@localhost$/  DEFER 4.2.0 try again later
ACCESS

  cat >"$S/postfix/etc/main.cf" <<EOF
# Postfix for the tests: submission on 127.0.0.1:$SMTP_PORT (STARTTLS, then AUTH), SMTPS on
# 127.0.0.1:$SMTPS_PORT (implicit TLS). AUTH goes to Dovecot; sending needs AUTH. Mail for
# @localhost goes to Dovecot LMTP (127.0.0.1:$LMTP_PORT); mail for any other domain bounces.
# Start: postfix -c $S/postfix/etc start
compatibility_level = 3.6
queue_directory = $S/postfix/spool
data_directory = $S/postfix/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $S
maillog_file = $S/logs/postfix.log
myhostname = localhost
mydomain = localhost
myorigin = localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
smtpd_banner = \$myhostname ESMTP
biff = no
append_dot_mydomain = no

smtpd_tls_cert_file = $S/tls/server.pem
smtpd_tls_key_file = $S/tls/server-key.pem
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $S/dovecot/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access regexp:$S/postfix/etc/recipient_access, permit_sasl_authenticated, reject

virtual_mailbox_domains = localhost
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
default_transport = error:mail to other domains is disabled in the test setup
relay_transport = error:mail to other domains is disabled in the test setup

# Retry soon when Dovecot was briefly down.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 10s
delay_warning_time = 0
EOF

  cat >"$S/postfix/etc/master.cf" <<EOF
# Postfix services for the tests: no chroot; two smtpd listeners on 127.0.0.1.
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  # Postfix waits until a configuration file is more than a second old (it could still be being
  # written); these are complete, so date them back.
  touch -d '-10 seconds' "$S/postfix/etc/main.cf" "$S/postfix/etc/master.cf" "$S/postfix/etc/recipient_access"
}

# ---------------------------------------------------------------- start and wait
listening() { # port: is 127.0.0.1:port in LISTEN state? (reads /proc, so the servers log nothing)
  awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

show_logs() {
  local f
  for f in "$S"/logs/*.log; do
    [ -s "$f" ] || continue
    echo "----- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

start_all() { # returns 0 when up, 2 when a port was taken meanwhile, 1 on other failures
  : >"$S/logs/dovecot.stderr.log"
  TZ=UTC dovecot -F -c "$S/dovecot/dovecot.conf" >>"$S/logs/dovecot.stderr.log" 2>&1 &
  echo $! >"$S/pids/dovecot.pid"
  TZ=UTC dovecot -F -c "$S/dovecot/untrusted.conf" >>"$S/logs/dovecot.stderr.log" 2>&1 &
  echo $! >"$S/pids/dovecot-untrusted.pid"
  # postfix prints nothing useful when stderr is not a terminal; its log file says why.
  if ! TZ=UTC postfix -c "$S/postfix/etc" start >"$S/logs/postfix.stderr.log" 2>&1; then
    echo "up.sh: postfix start failed" >&2
  fi
  if [ -s "$S/postfix/spool/pid/master.pid" ]; then
    tr -d ' \n' <"$S/postfix/spool/pid/master.pid" >"$S/pids/postfix.pid"
  fi

  local deadline=$((SECONDS + 10)) name missing
  while :; do
    missing=
    for name in "${port_names[@]}"; do
      listening "${!name}" || missing+=" $name=${!name}"
    done
    [ -S "$S/dovecot/auth-postfix" ] || missing+=" dovecot-auth-socket"
    [ -z "$missing" ] && return 0
    if grep -qs 'Address already in use' "$S"/logs/*.log; then
      return 2
    fi
    if ! alive "$(cat "$S/pids/dovecot.pid")" || ! alive "$(cat "$S/pids/dovecot-untrusted.pid")" ||
      ! alive "$(cat "$S/pids/postfix.pid" 2>/dev/null)" || [ $SECONDS -ge $deadline ]; then
      echo "up.sh: servers did not come up; not listening:$missing" >&2
      return 1
    fi
    sleep 0.02
  done
}

previous_ports=()
if [ -f "$S/ports.last" ]; then
  read -r -a previous_ports <"$S/ports.last" || true
fi
for attempt in 1 2 3; do
  ports=$(pick_ports "${previous_ports[@]}") || die "could not find free ports"
  read -r -a ports <<<"$ports"
  for i in "${!port_names[@]}"; do
    printf -v "${port_names[$i]}" %s "${ports[$i]}"
  done
  write_configs
  rm -f "$S"/logs/*.log
  rc=0
  start_all || rc=$?
  [ $rc -eq 0 ] && break
  show_logs
  bash "$here/down.sh" "$S" >/dev/null
  [ $rc -eq 2 ] && [ $attempt -lt 3 ] || die "start failed (logs above, all files in $S/logs)"
  echo "up.sh: a port was taken meanwhile; retrying with other ports" >&2
  previous_ports=()
done
echo "${ports[*]}" >"$S/ports.last"

# ---------------------------------------------------------------- ports.env / ports.json
{
  echo "# Mail servers of $S (tests/servers/up.sh). Host: 127.0.0.1 / localhost."
  for name in "${port_names[@]}"; do echo "$name=${!name}"; done
  echo "CA_FILE=$S/ca.pem"
  echo "UNTRUSTED_CA_FILE=$S/tls/untrusted-ca.pem"
  echo "OAUTH2_KEY_FILE=$S/oauth2-hs256.key"
  echo "STATE_DIR=$S"
} >"$S/ports.env.tmp"
{
  printf '{'
  for name in "${port_names[@]}"; do printf '"%s":%s,' "$name" "${!name}"; done
  printf '"CA_FILE":"%s","UNTRUSTED_CA_FILE":"%s","OAUTH2_KEY_FILE":"%s","STATE_DIR":"%s"}\n' \
    "$S/ca.pem" "$S/tls/untrusted-ca.pem" "$S/oauth2-hs256.key" "$S"
} >"$S/ports.json.tmp"
mv "$S/ports.env.tmp" "$S/ports.env"
mv "$S/ports.json.tmp" "$S/ports.json"

# Connection counting (max-conn.sh) starts from here, after the start-up.
bash "$here/max-conn.sh" "$S" --reset

started_ok=1
t1=$(date +%s%N)
echo "mail servers up in $(((t1 - t0) / 1000000)) ms ($S/ports.env): $(grep -v '^#' "$S/ports.env" | paste -sd ' ')"
