#!/usr/bin/env bash
# Container entry point: check the image, wake the database, migrate, then hand PID 1 to gunicorn.
#
#   1. python -m app.boot (app/boot.py) imports and builds the app (a broken image or a bad setting
#      fails here at once, exit 2), waits for DB_HOST:DB_PORT and for SELECT 1 to succeed (this is
#      what resumes a paused Aurora Serverless v2) at most DB_WAKE_DEADLINE_SECONDS (default 120,
#      exit 124), then applies new migrations/NNNN_*.sql under an advisory lock (SKIP_MIGRATIONS=1
#      skips that).
#   2. exec gunicorn: it replaces this shell as PID 1, so ECS's SIGTERM reaches it directly and
#      it stops gracefully (gunicorn.conf.py has the shutdown budget).
# Arguments are passed on to gunicorn.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$app_dir"

# Before gunicorn runs, this shell is PID 1 and would ignore SIGTERM: stop promptly instead.
child=""
on_signal() {
  [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
  echo "entrypoint: stopped by a signal before the app started"
  exit 143
}
trap on_signal TERM INT
run() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

run python3 -m app.boot

trap - TERM INT
echo "entrypoint: starting gunicorn on port ${PORT:-8000}"
exec gunicorn --config "$app_dir/gunicorn.conf.py" "$@" app.wsgi:app
