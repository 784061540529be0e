#!/usr/bin/env bash
# Stops the mail servers started by up.sh for STATE_DIR (and only those: the processes are found
# through STATE_DIR/pids and must belong to STATE_DIR's configuration), and waits until every one
# of their processes is gone. Does nothing when nothing runs. Mail, users and logs are kept.
#
# Usage: down.sh STATE_DIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: down.sh STATE_DIR" >&2; exit 1; }
[ -d "$1" ] || exit 0
S=$(cd "$1" && pwd -P)

starttime() { # pid -> kernel start time of the process; empty when it is gone (or a zombie)
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
  stat=${stat##*) }
  set -- $stat # $1 = state, $2 = parent pid, ${20} = start time
  [ "$1" = Z ] || echo "${20}"
}
children() { # pid -> pids of its direct children
  local parent=$1 f stat
  for f in /proc/[0-9]*/stat; do
    read -r stat 2>/dev/null <"$f" || continue
    stat=${stat##*) }
    set -- $stat
    if [ "$2" = "$parent" ]; then
      f=${f#/proc/}
      echo "${f%/stat}"
    fi
  done
}
ours() { # pid kind -> does the process run STATE_DIR's configuration?
  local pid=$1 kind=$2
  case $kind in
    dovecot*) tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-c $S/dovecot/" ;;
    postfix) tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "MAIL_CONFIG=$S/postfix/etc" ;;
  esac
}

# pid:starttime of every process to wait for: each master and its children.
victims=()
# (The masters' own pid files are the fallback when up.sh was interrupted before writing pids/.)
for kind in postfix:postfix/spool/pid/master.pid dovecot:dovecot/run/master.pid \
  dovecot-untrusted:dovecot/run-untrusted/master.pid; do
  pidfile=$S/pids/${kind%%:*}.pid
  [ -s "$pidfile" ] || pidfile=$S/${kind#*:}
  kind=${kind%%:*}
  [ -s "$pidfile" ] || continue
  pid=$(tr -dc 0-9 <"$pidfile")
  if [ -n "$pid" ] && [ -n "$(starttime "$pid")" ] && ours "$pid" "$kind"; then
    victims+=("$pid:$(starttime "$pid")")
    for child in $(children "$pid"); do
      victims+=("$child:$(starttime "$child")")
    done
    kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$S/pids/$kind.pid"
done

still_running() {
  local v pid st
  for v in "${victims[@]}"; do
    pid=${v%%:*} st=${v#*:}
    [ -n "$st" ] && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
  done
  return 0
}

# Masters stop their children on SIGTERM; give them 10 s, then SIGKILL what is left.
if [ ${#victims[@]} -gt 0 ]; then
  for _ in $(seq 1 500); do
    [ -z "$(still_running)" ] && break
    sleep 0.02
  done
  left=$(still_running)
  if [ -n "$left" ]; then
    echo "down.sh: killing processes that ignored SIGTERM: $left" >&2
    kill -KILL $left 2>/dev/null || true
    for _ in $(seq 1 250); do
      [ -z "$(still_running)" ] && break
      sleep 0.02
    done
  fi
fi
rm -f "$S/dovecot/auth-postfix"
echo "mail servers of $S stopped"
