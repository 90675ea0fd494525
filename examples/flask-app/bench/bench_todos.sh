#!/usr/bin/env bash
# Benchmark (not a test): requests per second and p99 latency of GET /todos.
#   bash examples/flask-app/bench/bench_todos.sh [DURATION_SECONDS=30] [CONNECTIONS=8] [RATE]
# With RATE, bench/rate_todos.py sends RATE requests per second on a fixed schedule instead of
# wrk's as-fast-as-possible (latency at a given load rather than the maximum rate).
#
# gunicorn runs exactly as in the image (gunicorn.conf.py: 1 worker x 16 threads, access
# log on) and alone on CPU 0 (taskset -c 0); wrk and a throwaway PostgreSQL share CPU 1, so the
# app's core measures the app only. The user has 20 todos; each request is an authenticated
# GET /todos (JWT check, count + page query, JSON). A full core is about four times a Fargate
# task's 0.25 vCPU: expect roughly a quarter of the rate there.
# Needs wrk (Debian package; installed here when run as root) and PostgreSQL server binaries.
# Everything it writes goes to a temp dir outside examples/flask-app (BENCH_OUT to keep it).
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration="${1:-30}"
connections="${2:-8}"
rate="${3:-}"
venv="${FLASK_APP_VENV:-${TMPDIR:-/tmp}/cdk-flask-serverless-flask-app-venv}"
export PYTHONDONTWRITEBYTECODE=1

# shellcheck source=tests/pg_cluster.sh
source "$app_dir/tests/pg_cluster.sh"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk not found: sudo apt-get install wrk" >&2
    exit 1
  fi
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "needs 2 CPUs (one for gunicorn, one for wrk and PostgreSQL)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/gunicorn" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$app_dir/requirements.txt" -r "$app_dir/requirements-dev.txt"
fi

out="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/flask-app-bench.XXXXXX")}"
mkdir -p "$out"
chmod 711 "$out"
gunicorn_pid=""
cleanup() {
  if [ -n "$gunicorn_pid" ]; then
    kill -TERM "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" || true
  fi
  pg_cluster_stop "$out/pg"
  rm -rf "$out/pg"
}
trap cleanup EXIT

pg_cluster_start "$out/pg" 1
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DB_HOST=127.0.0.1 DB_PORT="$PG_PORT" DB_NAME=postgres DB_USER=postgres DB_PASSWORD="$PG_PASSWORD"
JWT_SECRET="bench-secret-$(head -c 24 /dev/urandom | base64)"
export DB_SSLMODE=disable PORT="$port" JWT_SECRET

cd "$app_dir"
"$venv/bin/python" -m app.migrate
taskset -c 0 "$venv/bin/gunicorn" --config gunicorn.conf.py app.wsgi:app >"$out/gunicorn.log" 2>&1 &
gunicorn_pid=$!

token="$("$venv/bin/python" - "$port" <<'EOF'
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


for _ in range(100):
    try:
        call("GET", "/health")
        break
    except OSError:
        time.sleep(0.1)
credentials = {"username": "bench", "password": "bench-password-123"}
call("POST", "/auth/register", credentials)
token = call("POST", "/auth/login", credentials)["access_token"]
for i in range(20):
    call("POST", "/todos", {"title": f"todo number {i}", "done": i % 3 == 0}, token)
assert call("GET", "/todos", token=token)["total"] == 20
print(token)
EOF
)"

url="http://127.0.0.1:$port/todos"
echo "warm-up: 5 s"
taskset -c 1 wrk -t1 -c"$connections" -d5s -H "Authorization: Bearer $token" "$url" >/dev/null
if [ -n "$rate" ]; then
  taskset -c 1 "$venv/bin/python" "$app_dir/bench/rate_todos.py" "$url" "$token" "$rate" "$duration"
  exit 0
fi
echo "measuring: GET /todos for ${duration} s with ${connections} connections (gunicorn on CPU 0, wrk on CPU 1)"
taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $token" "$url" | tee "$out/wrk.txt"

rps="$(awk '/^Requests\/sec:/ {print $2}' "$out/wrk.txt")"
p99="$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")"
p50="$(awk '$1 == "50%" {print $2}' "$out/wrk.txt")"
errors="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out/wrk.txt")"
# Memory after the run: the arbiter plus its worker, as the task's 512 MB must hold them.
rss_kb="$(ps -o rss= -p "$gunicorn_pid" --ppid "$gunicorn_pid" | awk '{s += $1} END {print s}')"
echo
echo "gunicorn memory after the run: $((rss_kb / 1024)) MB RSS (arbiter + worker)"
echo "RESULT GET /todos: ${rps} requests/s, p50 ${p50}, p99 ${p99}, non-2xx ${errors:-0} (${connections} connections, ${duration} s, 1 core)"
echo "(wrk output and gunicorn log in $out)"
