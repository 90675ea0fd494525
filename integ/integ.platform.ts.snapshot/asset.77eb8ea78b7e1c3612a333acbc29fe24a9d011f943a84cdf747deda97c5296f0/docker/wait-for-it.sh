#!/usr/bin/env bash
# Wait until PostgreSQL at HOST:PORT answers a real query, then (optionally) run a command.
#
#   wait-for-it.sh HOST:PORT [-t|--timeout SECONDS] [--tcp-only] [-q|--quiet] [-- COMMAND [ARGS...]]
#
# Like the classic wait-for-it.sh it first waits for the TCP port. A port that accepts is not
# a database that answers, though: a paused Aurora Serverless v2 accepts the connection and
# only resumes (about 15 s) once a client logs in, and a starting PostgreSQL accepts before it
# can serve. So it then runs SELECT 1 in a retry loop with backoff (0.5 s doubling to 5 s) until
# it succeeds or the overall deadline passes. The query step uses the app's own driver
# (`python3 -m app.ping`, reading DB_NAME, DB_USER, DB_PASSWORD, DB_SSLMODE), as the slim image
# has no psql; set WAIT_QUERY_CMD to use something else.
#
# Exit status: 0 the database answered; 124 gave up at the deadline; 2 bad usage or settings.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
timeout="${DB_WAKE_DEADLINE_SECONDS:-120}"
connect_timeout="${DB_CONNECT_TIMEOUT:-20}"
quiet=0
tcp_only=0
target=""
cmd=()

usage() {
  echo "usage: $0 HOST:PORT [-t|--timeout SECONDS] [--tcp-only] [-q|--quiet] [-- COMMAND [ARGS...]]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    -t | --timeout) [ $# -ge 2 ] || usage; timeout="$2"; shift 2 ;;
    --timeout=*) timeout="${1#*=}"; shift ;;
    --tcp-only) tcp_only=1; shift ;;
    -q | --quiet) quiet=1; shift ;;
    --) shift; cmd=("$@"); break ;;
    -h | --help) usage ;;
    *:*) [ -z "$target" ] || usage; target="$1"; shift ;;
    *) usage ;;
  esac
done
[ -n "$target" ] || usage
host="${target%:*}"
port="${target##*:}"
[[ "$port" =~ ^[0-9]+$ ]] || { echo "wait-for-it: bad port in '$target'" >&2; exit 2; }
if ! [[ "$timeout" =~ ^[0-9]+$ ]] || [ "$timeout" -eq 0 ]; then
  echo "wait-for-it: timeout must be a positive number of seconds, got '$timeout'" >&2
  exit 2
fi

log() { echo "wait-for-it: $*"; }
info() { [ "$quiet" -eq 1 ] || log "$@"; }

# Elapsed time in tenths of a second from EPOCHREALTIME (bash 5), printed as N.N.
start_us="${EPOCHREALTIME/./}"
elapsed_ds() { echo $(((${EPOCHREALTIME/./} - start_us) / 100000)); }
elapsed() { local ds; ds="$(elapsed_ds)"; echo "$((ds / 10)).$((ds % 10))"; }
remaining_s() { echo $((timeout - $(elapsed_ds) / 10)); }

# A SIGTERM while waiting (ECS stopping the task) ends the wait at once; bash as PID 1 would
# otherwise ignore it. Children run in the background so the trap fires without waiting for them.
child=""
on_signal() {
  [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
  log "stopped by a signal after $(elapsed) s"
  exit 143
}
trap on_signal TERM INT
run_bg() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}
pause() { run_bg sleep "$1"; }

give_up() {
  log "gave up after $(elapsed) s: $1"
  exit 124
}

info "waiting up to ${timeout} s for PostgreSQL at ${host}:${port}"

# 1. The TCP port.
tcp_attempts=0
# shellcheck disable=SC2016 # $0 and $1 are the inner shell's arguments
until run_bg timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; do
  tcp_attempts=$((tcp_attempts + 1))
  if [ "$(remaining_s)" -le 0 ]; then
    give_up "${host}:${port} never accepted a TCP connection"
  fi
  if [ $((tcp_attempts % 10)) -eq 1 ]; then info "${host}:${port} not accepting connections yet ($(elapsed) s)"; fi
  pause 1
done
info "${host}:${port} accepts TCP connections after $(elapsed) s"

if [ "$tcp_only" -eq 1 ]; then
  info "ready after $(elapsed) s (TCP only)"
else
  # 2. A real query, which is what wakes a paused Aurora Serverless v2.
  if [ -n "${WAIT_QUERY_CMD:-}" ]; then
    read -r -a query_cmd <<<"$WAIT_QUERY_CMD"
  else
    query_cmd=(python3 -m app.ping --host "$host" --port "$port")
  fi
  export PYTHONPATH="${app_dir}${PYTHONPATH:+:$PYTHONPATH}"
  # The query command prints why an attempt failed straight into the log (no temp file, so a
  # read-only root filesystem is fine).
  query() {
    if [ "$quiet" -eq 1 ]; then run_bg "$@" >/dev/null 2>&1; else run_bg "$@" 2>&1; fi
  }
  delay_ds=5 # 0.5 s, doubling up to 5 s
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    left="$(remaining_s)"
    [ "$left" -ge 2 ] || left=2
    # One attempt may last connect_timeout, but not much past the deadline.
    this_timeout=$((connect_timeout < left ? connect_timeout : left))
    status=0
    query "${query_cmd[@]}" --timeout "$this_timeout" || status=$?
    if [ "$status" -eq 0 ]; then
      log "database answered SELECT 1: woke after $(elapsed) s (attempt ${attempt})"
      break
    fi
    if [ "$status" -eq 2 ]; then
      log "cannot query the database with these settings; not retrying"
      exit 2
    fi
    now_ds="$(elapsed_ds)"
    if [ "$now_ds" -ge $((timeout * 10)) ]; then
      give_up "the database did not answer SELECT 1 (${attempt} attempts)"
    fi
    # The last pause ends at the deadline, for one final attempt.
    sleep_ds=$((timeout * 10 - now_ds < delay_ds ? timeout * 10 - now_ds : delay_ds))
    info "attempt ${attempt}: SELECT 1 failed at $(elapsed) s; retrying in $((sleep_ds / 10)).$((sleep_ds % 10)) s"
    pause "$((sleep_ds / 10)).$((sleep_ds % 10))"
    delay_ds=$((delay_ds * 2 > 50 ? 50 : delay_ds * 2))
  done
fi

if [ "${#cmd[@]}" -gt 0 ]; then
  trap - TERM INT
  exec "${cmd[@]}"
fi
