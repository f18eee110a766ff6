#!/usr/bin/env bash
# make bench-inbound: issue 6's target for the full inbound path. mailwarden
# with the shipped config (rules, Bayes trained, SPF/DKIM/DMARC, HELO, DNS
# lists on a loopback DNS server, karma, attachments) against Debian's rspamd
# in milter mode, same corpus, same DNS server, concurrency 8, alternating
# rounds (milter/inbound_bench_test.go, TestInboundVsRspamd, -tags bench). Prints the
# milterload table, what each system did, and the BENCH lines.
#   ROUNDS=3 CONC=8 CORPUS=/tmp/sa-corpus MAX_FILES=0 (all)
#   MILTERLOAD=bin/milterload (the load tool; make build's by default)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-/tmp/sa-corpus}
SHARED=${SHARED:-$PWD/../shared}

[ -f "$CORPUS/index.tsv" ] || "$SHARED/testdata/corpus/fetch-sa-corpus.sh" "$CORPUS"
make -s build

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
status=0
MAILWARDEN_BENCH=1 MAILWARDEN_BENCH_CORPUS="$CORPUS" MAILWARDEN_BENCH_MILTERLOAD="${MILTERLOAD:-$PWD/bin/milterload}" \
  BENCH_ROUNDS="${ROUNDS:-3}" BENCH_CONCURRENCY="${CONC:-8}" BENCH_MAX_FILES="${MAX_FILES:-0}" \
  go test -tags bench -count=1 -timeout 30m -run '^TestInboundVsRspamd$' -v ./milter/ >"$log" 2>&1 || status=$?
# The test's own lines, without the daemons' logs (printed only on failure).
grep -vE '^[[:space:]]+20[0-9]{2}-[0-9]{2}-[0-9]{2}[ T]' "$log" || true
if [ "$status" != 0 ]; then
  echo "bench-inbound: the test failed (status $status); full output:" >&2
  cat "$log" >&2
  exit "$status"
fi
echo
grep '^BENCH ' "$log"
