#!/usr/bin/env bash
# A Python CDK user's path: a fresh virtualenv, the built wheel plus aws-cdk-lib and constructs from
# PyPI, the Python example app synthesized and its template checked with pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=$(ls dist/python/*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "no wheel in dist/python; run 'npx projen package:python' first" >&2
  exit 1
fi
venv="${PYTHON_CONSUMER_VENV:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "$wheel" aws-cdk-lib==2.257.0 constructs==10.5.1 pytest==8.3.4
echo "installed $(basename "$wheel") into $venv"
cd examples/python
"$venv/bin/python" -m pytest -q -p no:cacheprovider test_app.py
