# shellcheck shell=bash
# Throwaway PostgreSQL cluster for run-tests.sh and bench/bench_todos.sh (source this file).
#   pg_cluster_start DIR [CPU]  -> sets PG_BIN, PG_PORT, PG_PASSWORD; server on 127.0.0.1 (pinned to CPU)
#   pg_cluster_stop DIR
# DIR must not exist yet; its parent must be traversable by the postgres user when run as root.
# initdb and postgres refuse to run as root: as root they run as the postgres system user, in a
# directory that user owns. Password (SCRAM) authentication over TCP, as on a real server.

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_cluster_start() {
  local dir="$1" cpu="${2:-}"
  PG_BIN="${PG_BIN:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)}"
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server not found (install the Debian package postgresql, or set PG_BIN)" >&2
    return 1
  fi
  export PG_BIN
  PG_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$dir/sockets"
  printf '%s\n' "$PG_PASSWORD" >"$dir/pwfile"
  chmod 600 "$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$dir"; fi
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile "$dir/pwfile" \
    --auth-host scram-sha-256 --auth-local trust -E UTF8 --locale C --no-sync >/dev/null
  rm -f "$dir/pwfile"
  local pin=()
  [ -z "$cpu" ] || pin=(taskset -c "$cpu")
  as_postgres "${pin[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir/sockets -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $dir)"
}

pg_cluster_stop() {
  local dir="$1"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}
