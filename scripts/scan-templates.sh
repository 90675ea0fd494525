#!/usr/bin/env bash
# cfn-lint and checkov on every CloudFormation template in the integ snapshots.
# Both come from PyPI; .ci/run installs them into .venv (override with VENV=...).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
# The *DeployAssert* stacks are @aws-cdk/integ-tests-alpha's own assertion harness (its Lambda
# providers), deployed only while an integ test runs; they are not part of what the library builds.
mapfile -t templates < <(find integ -path '*.snapshot/*.template.json' -not -path '*/asset.*' -not -name '*DeployAssert*' | sort)
if [ "${#templates[@]}" -eq 0 ]; then
  echo "no snapshot templates under integ/; run 'npx projen integ:snapshot' first" >&2
  exit 1
fi
echo "cfn-lint on ${#templates[@]} templates"
"$VENV/bin/cfn-lint" --regions ap-southeast-1 -- "${templates[@]}"
echo "cfn-lint: no errors or warnings"
echo "checkov on ${#templates[@]} templates (config: .checkov.yaml)"
args=()
for t in "${templates[@]}"; do args+=(--file "$t"); done
"$VENV/bin/checkov" --config-file .checkov.yaml "${args[@]}"
