#!/usr/bin/env bash
# `make bench-accuracy`: mailwarden's Bayes (alone, and with the default
# rules) against SpamAssassin (its Bayes trained by sa-learn on the same
# messages, network tests off) on the SpamAssassin public corpus, on one
# fixed, seeded split with no message and no near-duplicate on both sides.
# Prints a Markdown report (also saved as $WORK/report.md) for BENCHMARKS.md.
#
#   CORPUS=dir  where the corpus is fetched (default /tmp/mailwarden-sa-corpus)
#   WORK=dir    stores, SpamAssassin files, report (default /tmp/mailwarden-bench-accuracy)
#   extra arguments go to the tool: -seed N, -test 0.4, -bigrams, -sa=false, -tune
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-/tmp/mailwarden-sa-corpus}
WORK=${WORK:-/tmp/mailwarden-bench-accuracy}
FETCH=../shared/testdata/corpus/fetch-sa-corpus.sh
if [ ! -f "$FETCH" ]; then
  echo "bench-accuracy: $FETCH not found (the shared test data lives beside the repository)" >&2
  exit 1
fi
bash "$FETCH" "$CORPUS"
./scripts/install-test-deps.sh bench
mkdir -p "$WORK"
go build -o "$WORK/benchaccuracy" ./scoring/bayes/benchaccuracy
"$WORK/benchaccuracy" -corpus "$CORPUS" -work "$WORK" -rules contrib/rules "$@" | tee "$WORK/report.md"
