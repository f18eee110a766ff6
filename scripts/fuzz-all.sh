#!/usr/bin/env bash
# make fuzz: runs every Fuzz* target of the module for FUZZTIME each
# (default 30s), one after another. New interesting inputs stay in each
# package's testdata/fuzz/ (commit the ones that found bugs).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-30s}
fail=0
while IFS=: read -r file fn; do
  pkg="./$(dirname "$file")"
  echo "== $pkg $fn ($t)"
  go test -run XXX_NONE -fuzz "^${fn}\$" -fuzztime "$t" "$pkg" || fail=1
done < <(grep -rHo --include='*_test.go' -E '^func (Fuzz[A-Za-z0-9_]+)\(' . | sed -E 's/^\.\///; s/:func (Fuzz[A-Za-z0-9_]+)\(/:\1/' | sort)
exit $fail
