#!/usr/bin/env bash
# Tests of the data import program against two real, throwaway PostgreSQL servers: a source of
# the Debian package's major (older than Aurora's) and a PostgreSQL 16 target (the pgserver wheel's
# binaries, installed in the virtualenv).
#   bash assets/data-import/run-tests.sh [pytest arguments...]
# Needs python3 (3.11+) with venv and the PostgreSQL server binaries (Debian package postgresql).
# Writes nothing inside assets/data-import: the virtualenv, the clusters and every test file live
# outside it, so running the tests never changes the image's asset hash.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$(date +%s)
venv="${DATA_IMPORT_VENV:-${TMPDIR:-/tmp}/cdk-flask-serverless-data-import-venv}"
export PYTHONDONTWRITEBYTECODE=1

echo "== virtualenv $venv"
requirements=("$here/requirements.txt" "$here/requirements-dev.txt" "$repo/examples/flask-app/requirements.txt")
stamp="$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
if [ "$(cat "$venv/.data-import-requirements" 2>/dev/null || true)" != "$stamp" ]; then
  # The reference app's own packages: the tests run the app on the imported database.
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]/#/-r}"
  echo "$stamp" >"$venv/.data-import-requirements"
fi

echo "== ruff"
# The benchmark (scripts/) uses the tests' helpers and is held to the same rules. From this
# folder, so the per-file settings' paths resolve.
(
  cd "$here"
  "$venv/bin/ruff" check --no-cache --config pyproject.toml . ../../scripts/bench-data-import.py
  "$venv/bin/ruff" format --check --no-cache --config pyproject.toml . ../../scripts/bench-data-import.py
)

echo "== pytest (the servers start and stop inside the session)"
work="$(mktemp -d "${TMPDIR:-/tmp}/data-import-tests.XXXXXX")"
trap 'rm -rf "$work"' EXIT
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
[ "$paths" -eq 1 ] || args+=("$here/tests")
cd "$work"
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$here" -c "$here/pyproject.toml" \
  --basetemp "$work/pytest" "${args[@]}" || status=$?
echo "== data-import tests finished in $(($(date +%s) - started))s (exit $status)"
exit "$status"
