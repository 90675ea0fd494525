#!/usr/bin/env bash
# Compiles the Go module that jsii-pacmak generated (dist/go), the way a Go user's `go build` would.
# The published go.mod is left as generated. The build runs on a copy whose go.mod may pin an
# indirect module to a version the configured Go proxy serves (GO_REPLACE="module=module@version ...");
# .ci/run sets this for a proxy that lacks the exact cloud-assembly-schema patch release.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(ls -d dist/go/*/ | head -n 1)
[ -n "$src" ] || { echo "no Go module in dist/go; run jsii-pacmak --target go first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src"/. "$work"/
cd "$work"
rm -f local.go.mod
for r in ${GO_REPLACE:-}; do go mod edit -replace "$r"; done
go mod tidy
go build ./...
go vet ./... >/dev/null
echo "go build ok: $(sed -n 1p go.mod) ($(find . -name '*.go' | wc -l) files)"
