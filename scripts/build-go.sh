#!/usr/bin/env bash
# Compiles the Go module that jsii-pacmak generated (dist/go), the way a Go user's `go build` would.
# The published go.mod is left as generated; the build runs on a copy.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(ls -d dist/go/*/ | head -n 1)
[ -n "$src" ] || { echo "no Go module in dist/go; run jsii-pacmak --target go first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src"/. "$work"/
cd "$work"
rm -f local.go.mod
# aws-cdk-go v2.257.0 asks for cloud-assembly-schema v53.28.0, which the Go module proxy does not
# serve (403 "This module version is not available"); v53.25.0 is served and compiles the same API.
# Override with GO_REPLACE="module=module@version ..." (empty string: no replacement).
default_replace="github.com/cdklabs/cloud-assembly-schema-go/awscdkcloudassemblyschema/v53=github.com/cdklabs/cloud-assembly-schema-go/awscdkcloudassemblyschema/v53@v53.25.0"
for r in ${GO_REPLACE-$default_replace}; do go mod edit -replace "$r"; done
go mod tidy
go build ./...
go vet ./... >/dev/null
echo "go build ok: $(sed -n 1p go.mod) ($(find . -name '*.go' | wc -l) files)"
