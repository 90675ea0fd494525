#!/usr/bin/env bash
# Tests of the reference Flask app against a real, throwaway PostgreSQL server.
#   bash examples/flask-app/run-tests.sh [pytest arguments...]
# Needs python3 (3.11+) with venv and the PostgreSQL server binaries (Debian package postgresql).
# Writes nothing inside examples/flask-app: the virtualenv, the cluster and every test file live
# outside it, so running the tests never changes the container image's asset hash.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=$(date +%s)
venv="${FLASK_APP_VENV:-${TMPDIR:-/tmp}/cdk-flask-serverless-flask-app-venv}"
export PYTHONDONTWRITEBYTECODE=1

# shellcheck source=tests/pg_cluster.sh
source "$app_dir/tests/pg_cluster.sh"

echo "== virtualenv $venv"
stamp="$(cat "$app_dir/requirements.txt" "$app_dir/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
if [ "$(cat "$venv/.flask-app-requirements" 2>/dev/null || true)" != "$stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r "$app_dir/requirements.txt" -r "$app_dir/requirements-dev.txt"
  echo "$stamp" >"$venv/.flask-app-requirements"
fi

echo "== ruff"
"$venv/bin/ruff" check --no-cache "$app_dir"
"$venv/bin/ruff" format --check --no-cache "$app_dir"

echo "== PostgreSQL"
work="$(mktemp -d "${TMPDIR:-/tmp}/flask-app-tests.XXXXXX")"
chmod 711 "$work" # the postgres user (as root) must reach $work/pg
cleanup() {
  pg_cluster_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
pg_cluster_start "$work/pg"
export FLASK_APP_TEST_PGHOST=127.0.0.1 FLASK_APP_TEST_PGPORT="$PG_PORT"
export FLASK_APP_TEST_PGUSER=postgres FLASK_APP_TEST_PGPASSWORD="$PG_PASSWORD"

echo "== pytest"
# pytest runs from a directory outside the app so nothing (caches, Hypothesis data) lands in it;
# test paths given as arguments are made absolute first.
args=()
paths=0
for arg in "$@"; do
  path="${arg%%::*}"
  if [ -e "$path" ]; then
    args+=("$(cd "$(dirname "$path")" && pwd)/$(basename "$path")${arg:${#path}}")
    paths=1
  else
    args+=("$arg")
  fi
done
[ "$paths" -eq 1 ] || args+=("$app_dir/tests")
mkdir "$work/run"
cd "$work/run"
export HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis"
# The contract test runs the schemathesis CLI; its pytest plugin (and Hypothesis') is not needed.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$app_dir" -c "$app_dir/pyproject.toml" "${args[@]}" || status=$?
echo "== flask-app tests finished in $(($(date +%s) - started))s (exit $status)"
exit "$status"
