#!/usr/bin/env bash
# Container entry point: wake the database, apply migrations, then hand PID 1 to gunicorn.
#
#   1. docker/wait-for-it.sh waits for DB_HOST:DB_PORT and for SELECT 1 to succeed (this is what
#      resumes a paused Aurora Serverless v2), at most DB_WAKE_DEADLINE_SECONDS (default 120).
#   2. python -m app.migrate applies new migrations/NNNN_*.sql under an advisory lock.
#   3. exec gunicorn: it replaces this shell as PID 1, so ECS's SIGTERM reaches it directly and
#      it stops gracefully (in-flight requests get graceful_timeout, 20 s).
# Arguments are passed on to gunicorn. SKIP_MIGRATIONS=1 skips step 2.
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

: "${DB_HOST:?DB_HOST must be set}"
run "$app_dir/docker/wait-for-it.sh" "${DB_HOST}:${DB_PORT:-5432}" --timeout "${DB_WAKE_DEADLINE_SECONDS:-120}"

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
  run python3 -m app.migrate
fi

trap - TERM INT
echo "entrypoint: starting gunicorn on port ${PORT:-8000}"
exec gunicorn --config "$app_dir/gunicorn.conf.py" "$@" app.wsgi:app
