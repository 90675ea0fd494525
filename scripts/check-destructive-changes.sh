#!/usr/bin/env bash
# Fails when the code would replace or delete a resource of the committed integ snapshots of a
# base (a git ref, default `main`, or a folder holding integ.*.snapshot folders), unless the integ
# test lists the resource type in `allowDestroy`.
#
# integ-runner does the detection itself: run without --update-on-failed, it synthesizes each
# test, diffs it against the snapshot it finds and reports every resource the diff would replace
# (WILL_REPLACE, MAY_REPLACE), orphan or remove as "destructive changes". Here it runs in a copy
# of the working tree whose snapshots are the base's, so a branch that updated its own snapshots
# is still compared with what is deployed from the base. Other snapshot differences are expected
# on a branch and are checked by `integ:verify`.
#
# Usage: scripts/check-destructive-changes.sh [base] [integ test files...]
set -euo pipefail

root=$(git rev-parse --show-toplevel)
base="${1:-main}"
shift || true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The working tree's tracked files (with uncommitted edits), not its snapshots.
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
  | grep -zv '^integ/[^/]*\.snapshot/' \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work"
ln -s "$root/node_modules" "$work/node_modules"

# The base's snapshots.
if [ -d "$base" ]; then
  cp -R "$base"/integ.*.snapshot "$work/integ/"
else
  snapshots=$(git -C "$root" ls-tree -d --name-only "$base" integ/ | grep '\.snapshot$' || true)
  if [ -z "$snapshots" ]; then
    echo "No integ snapshots at $base: nothing deployed to compare with."
    exit 0
  fi
  # shellcheck disable=SC2086
  git -C "$root" archive "$base" $snapshots | tar -x -C "$work"
fi

export FORCE_COLOR=0
log="$work/integ-runner.log"
status=0
(cd "$work" && ./node_modules/.bin/integ-runner --directory integ --language typescript \
  --parallel-regions ap-southeast-1 "$@") >"$log" 2>&1 || status=$?

if grep -q 'destructive changes' "$log"; then
  cat "$log"
  echo
  echo "The code would replace or delete resources deployed from $base (listed above)."
  echo "If that is intended and safe, add the resource type to the integ test's allowDestroy with a comment saying why."
  exit 1
fi
if [ "$status" -ne 0 ] && ! grep -q 'Some tests failed' "$log" && ! grep -q 'Failed: ' "$log"; then
  cat "$log"
  echo "integ-runner failed before it could compare the snapshots."
  exit "$status"
fi
grep -E '^ *(UNCHANGED|CHANGED|ERROR) ' "$log" || true
echo "No destructive changes against $base."
