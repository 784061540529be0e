#!/usr/bin/env bash
# Prints the most connections each mail service of STATE_DIR had open at the same time, read from
# the servers' own logs, as one JSON object:
#   {"imap":2,"imap_untrusted":0,"pop3":1,"pop3_untrusted":0,"smtp":2}
# imap, pop3: the main Dovecot (both ports of each protocol); *_untrusted: the Dovecot with the
# untrusted certificate; smtp: Postfix (submission and SMTPS). Every client connects from
# 127.0.0.1, so this is also the most that one client had open.
#
# Usage: max-conn.sh STATE_DIR [--reset | --all] [--verbose] [--slack-us N] [--slack-lines N]
#   (none)        count since the last --reset (up.sh resets once the servers are up); connections
#                 already open at the reset count as well
#   --reset       start a new counting window now; prints nothing
#   --all         count everything since the servers started
#   --verbose     also print, on stderr, each connection's start and end as counted
#   --slack-us N  see below (default 5000: 5 ms, far shorter than any session of ours)
#   --slack-lines N  the same for Postfix, whose log has no sub-second times: in log lines
#                 (default SLACK_LINES below)
#
# A connection is open (details in README.md):
#   IMAP, POP3  from Dovecot's "Login:" line to the "Disconnected" line with the same session id.
#               Dovecot's processes log through one log process, which may write their lines a
#               fraction of a millisecond out of order, and a session's last reply leaves just
#               before its "Disconnected" line.
#   SMTP        from Postfix's "TLS connection established" line to the "disconnect from" line of
#               the same smtpd process. Postfix's log is in event order, but its last reply ("221")
#               leaves just before "disconnect from" is logged, so a client's next connection is
#               only counted from its TLS handshake on.
#   For both, an end logged shortly after another session's start is taken as having come first:
#   a session's last reply leaves before its end is logged, and a loaded machine may deschedule
#   the server between the two. "Shortly" is less than N microseconds (--slack-us) for Dovecot,
#   whose lines carry microseconds, and at most N lines (--slack-lines) for Postfix, whose lines
#   carry whole seconds only and are counted by their place in the log.
#   A connection that ends before logging in (IMAP, POP3) or before TLS (SMTP) is counted at the
#   moment it ends only.
set -euo pipefail

usage() { echo "usage: max-conn.sh STATE_DIR [--reset | --all] [--verbose] [--slack-us N] [--slack-lines N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
S=$(cd "$1" 2>/dev/null && pwd -P) || { echo "max-conn.sh: no such STATE_DIR: $1" >&2; exit 2; }
shift
mode=count verbose=0 slack=5000 slack_lines=${SLACK_LINES:-2}
while [ $# -gt 0 ]; do
  case $1 in
    --reset) mode=reset ;;
    --all) mode=all ;;
    --verbose) verbose=1 ;;
    --slack-us)
      [[ ${2:-} =~ ^[0-9]+$ ]] || usage
      slack=$2
      shift
      ;;
    --slack-lines)
      [[ ${2:-} =~ ^[0-9]+$ ]] || usage
      slack_lines=$2
      shift
      ;;
    *) usage ;;
  esac
  shift
done

logs=("$S/logs/dovecot.log" "$S/logs/dovecot-untrusted.log" "$S/logs/postfix.log")
mark=$S/max-conn.mark

if [ $mode = reset ]; then
  # The window starts at the current end of each log file.
  for f in "${logs[@]}"; do
    if [ -f "$f" ]; then stat -c %s "$f"; else echo 0; fi
  done | paste -sd ' ' >"$mark.tmp"
  mv "$mark.tmp" "$mark"
  exit 0
fi

offsets="0 0 0"
if [ $mode = count ] && [ -s "$mark" ]; then
  offsets=$(cat "$mark")
fi

exec perl -e '
use strict;
use warnings;

my ($verbose, $slack_us, $slack_lines, $offsets, @files) = @ARGV;
my @offset = split " ", $offsets;
my %peak = map { $_ => 0 } qw(imap pop3 smtp imap_untrusted pop3_untrusted);

# Days from 1970-01-01 to a Gregorian date (Dovecot logs in UTC: up.sh starts it with TZ=UTC).
sub days {
  my ($y, $m, $d) = @_;
  $y -= $m <= 2;
  my $era = int($y / 400);
  my $yoe = $y - $era * 400;
  my $doy = int((153 * ($m + ($m > 2 ? -3 : 9)) + 2) / 5) + $d - 1;
  return $era * 146097 + $yoe * 365 + int($yoe / 4) - int($yoe / 100) + $doy - 719468;
}

for my $i (0 .. $#files) {
  my $file = $files[$i];
  open(my $fh, "<", $file) or next;
  my $from = $offset[$i] // 0;
  my $suffix = $file =~ /untrusted/ ? "_untrusted" : "";
  my $dovecot = $file =~ /dovecot/;
  my (%conn, @keys, %smtpd);   # connections by key, keys in log order, smtpd pid -> current key
  my ($pos, $n, $window) = (0, 0, undef);
  my $get = sub {
    my ($key, $svc) = @_;
    return $conn{$key} //= do { push @keys, $key; { svc => $svc } };
  };
  while (my $line = <$fh>) {
    my $at = $pos;
    $pos += length $line;
    $n++;
    my $t = $n;   # Postfix: the line number; its log is written in the order of events
    if ($dovecot) {
      $line =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) / or next;
      $t = (((days($1, $2, $3) * 24 + $4) * 60 + $5) * 60 + $6) * 1000000 + $7;
    }
    $window //= $t if $at >= $from;
    if ($line =~ m{ (imap|pop3)-login: Info: (.*)session=<([^>]+)>}) {
      my $c = $get->($3, "$1$suffix");
      $c->{start} //= $t;
      $c->{line} //= $line;
      if ($2 !~ /^Login: /) {   # ended before logging in
        $c->{end} //= $t;
        $c->{endline} //= $line;
      }
    } elsif ($line =~ m{ (imap|pop3)\([^)]*\)<\d+><([^>]+)>: \w+: Disconnected}) {
      my $c = $get->($2, "$1$suffix");
      $c->{end} //= $t;
      $c->{endline} //= $line;
    } elsif ($line =~ m{ postfix/[\w/]*smtpd\[(\d+)\]: (connect from|\S+ TLS connection established from|disconnect from) }) {
      my ($pid, $what) = ($1, $2);
      if ($what eq "connect from") {
        # A new session of this smtpd process (if the last one logged no end, it ended here).
        if (defined(my $last = $smtpd{$pid})) {
          $conn{$last}{end} //= $t if $conn{$last};
        }
        $smtpd{$pid} = "smtpd $pid $n";
        next;
      }
      my $key = $smtpd{$pid} // next;
      my $c = $get->($key, "smtp");
      if ($what eq "disconnect from") {
        $c->{start} //= $t;   # never completed TLS
        $c->{line} //= $line;
        $c->{end} = $t;
        $c->{endline} = $line;
        delete $smtpd{$pid};
      } else {
        $c->{start} //= $t;
        $c->{line} //= $line;
      }
    }
  }
  close $fh;

  # Each connection: +1 at its start, -1 at its end moved back by the slack.
  # One whose end comes at or before its start is open only at its start. At equal times, ends
  # come first.
  my @events;
  for my $key (@keys) {
    my $c = $conn{$key};
    next unless defined $c->{start};   # its login is before the log begins, or not logged yet
    push @events, [$c->{start}, 1, $c, 1];
    next unless defined $c->{end};     # still open
    my $end = $c->{end} - ($dovecot ? $slack_us : $slack_lines);
    if ($end > $c->{start}) {
      push @events, [$end, 0, $c, -1];
    } else {
      $events[-1][3] = 0;   # open only at that moment: counts there, but is not held
    }
  }
  my (%count, $in_window);
  my $enter = sub {
    $in_window = 1;
    for (keys %count) { $peak{$_} = $count{$_} if $count{$_} > $peak{$_} }
  };
  for my $e (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @events) {
    my ($t, undef, $c, $delta) = @$e;
    $enter->() if !$in_window && defined $window && $t >= $window;
    my $svc = $c->{svc};
    $count{$svc} += $delta;
    next unless $in_window;
    my $now = $count{$svc} + ($delta == 0 ? 1 : 0);
    $peak{$svc} = $now if $now > $peak{$svc};
    next unless $verbose;
    if ($delta == 0) { print STDERR "+- $svc at $now: $c->{line}" }
    elsif ($delta > 0) { print STDERR "+  $svc now $now: $c->{line}" }
    else { print STDERR "-  $svc now $now: $c->{endline}" }
  }
  $enter->() if !$in_window;
}
print "{", join(",", map { "\"$_\":$peak{$_}" } sort keys %peak), "}\n";
' "$verbose" "$slack" "$slack_lines" "$offsets" "${logs[@]}"
