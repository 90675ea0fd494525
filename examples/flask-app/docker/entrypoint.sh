#!/usr/bin/env bash
# Container entry point: check the image, wake the database, migrate, then serve with gunicorn.
#
# python -m app.boot (app/boot.py) imports and builds the app (a broken image or a bad setting
# fails here at once, exit 2), waits for DB_HOST:DB_PORT and for SELECT 1 to succeed (this is what
# resumes a paused Aurora Serverless v2) at most DB_WAKE_DEADLINE_SECONDS (default 120, exit 124),
# applies new migrations/NNNN_*.sql under an advisory lock (SKIP_MIGRATIONS=1 skips that), then
# runs gunicorn in the same process. exec makes that process PID 1: ECS's SIGTERM reaches it
# directly, stopping the boot at once or gunicorn gracefully (gunicorn.conf.py has the budget).
# Arguments are passed on to gunicorn.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$app_dir"
exec python3 -m app.boot serve --config "$app_dir/gunicorn.conf.py" "$@" app.wsgi:app
