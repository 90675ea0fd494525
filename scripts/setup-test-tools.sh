#!/usr/bin/env bash
# First step of `npx projen test:all`: installs the Python gate tools (cfn-lint, checkov) into .venv,
# and stops at once, naming what to install, if a system tool the later steps need is missing.
# `bash .ci/run` installs the Debian packages on a clean machine; Go 1.25+ is not a Debian 12 package.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v java >/dev/null || missing+=(default-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test:all needs: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}   (or run: bash .ci/run)" >&2
  exit 1
fi

# jsii-pacmak writes `go 1.25` into the generated go.mod.
go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)
if [ -z "$go_minor" ] || [ "$go_minor" -lt 25 ]; then
  echo "test:all needs Go 1.25 or newer on PATH (found: $(go env GOVERSION 2>/dev/null || echo none))." >&2
  echo "install it from https://go.dev/dl/ (Debian 12's golang-go is 1.19, too old for the generated module)" >&2
  exit 1
fi

stamp="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements-dev 2>/dev/null || true)" != "$stamp" ]; then
  echo "Python tools (cfn-lint, checkov) into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$stamp" >.venv/.requirements-dev
fi
echo "test tools ready: $(java -version 2>&1 | head -n 1), $(mvn -v 2>/dev/null | head -n 1 | sed 's/\x1b\[[0-9;]*m//g'), $(go env GOVERSION), $(.venv/bin/cfn-lint --version)"
