#!/usr/bin/env bash
# Signing milter throughput: mailwarden (DKIM signing, RSA-2048,
# relaxed/relaxed) against Debian's OpenDKIM with the same key and a
# do-nothing go-milter, over unix sockets, concurrency 8, the SpamAssassin
# public corpus with every From rewritten to alice@example.com (so that both
# signers sign every message). Alternating rounds; medians reported by
# milterload -compare.
#
#   scoring/dkimsign/bench/compare-opendkim.sh [CORPUS_DIR] [N_MESSAGES]
#
# CORPUS_DIR defaults to /tmp/sa-corpus (fetch it with
# ../shared/testdata/corpus/fetch-sa-corpus.sh). Needs opendkim (Debian
# package opendkim) and root (opendkim's key ownership checks).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
corpus=${1:-/tmp/sa-corpus}
n=${2:-3000}
# OpenDKIM refuses config and key paths under a world-writable directory
# (/tmp): work below $HOME.
work=$(mktemp -d "${BENCH_DIR:-$HOME}/mw-dkim-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

[ -d "$corpus" ] || { echo "no corpus at $corpus (run ../shared/testdata/corpus/fetch-sa-corpus.sh $corpus)" >&2; exit 1; }
command -v opendkim >/dev/null || { echo "opendkim missing (apt-get install opendkim)" >&2; exit 1; }

cd "$root"
go build -o "$work/mailwarden" ./cmd/mailwarden
go build -o "$work/milterload" ./cmd/milterload

# Corpus copy: mbox line dropped, From replaced, at most N messages.
mkdir "$work/corpus"
python3 - "$corpus" "$work/corpus" "$n" <<'PY'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for d, _, fs in os.walk(src):
    files += [os.path.join(d, f) for f in sorted(fs) if f.endswith(".eml")]
files.sort()
for i, p in enumerate(files[:n]):
    raw = open(p, "rb").read().replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    head, sep, body = raw.partition(b"\n\n")
    out, skip = [], False
    for line in head.split(b"\n"):
        if skip and line[:1] in (b" ", b"\t"):
            continue
        skip = False
        if line.lower().startswith(b"from:"):
            out.append(b"From: Alice <alice@example.com>")
            skip = True
            continue
        out.append(line)
    open(os.path.join(dst, "%05d.eml" % i), "wb").write(b"\n".join(out) + sep + body)
PY

"$work/mailwarden" dkim keygen example.com --dir "$work/keys" --selector bench >/dev/null

cat > "$work/opendkim.conf" <<CONF
Mode s
Syslog no
Background no
Socket local:$work/opendkim.sock
UMask 000
Domain example.com
Selector bench
KeyFile $work/keys/example.com/private
Canonicalization relaxed/relaxed
OversignHeaders From
InternalHosts 127.0.0.1
PidFile $work/opendkim.pid
CONF
opendkim -f -x "$work/opendkim.conf" -P "$work/opendkim.pid" &
pids+=($!)

# Two mailwarden daemons: "mailwarden" signs only (the content checks that run
# for the local profile by default are disabled), "mailwarden-full" is the
# default filter (Bayes, attachments, GTUBE, lists) plus signing.
start_mw() { # NAME EXTRA_TOML
  mkdir "$work/state-$1"
  cat > "$work/$1.toml" <<CONF
[server]
milter_listen = "unix:$work/$1.sock"
state_dir = "$work/state-$1"
[log]
level = "info"   # the normal one line per message; proves each was signed
[profiles]
local_networks = ["127.0.0.0/8"]
$2
[spam]
headers = false
[dkim]
keys_dir = "$work/keys"
domains = ["example.com"]
oversign = ["From"]
CONF
  "$work/mailwarden" run -c "$work/$1.toml" 2>"$work/$1.log" &
  pids+=($!)
}
start_mw mailwarden '[profiles.local]
disable = ["max_size_declared", "max_size", "attachments", "wblist", "gtube", "bayes"]'
start_mw mailwarden-full ''

"$work/milterload" -serve-noop "unix:$work/noop.sock" &
pids+=($!)

for s in opendkim.sock mailwarden.sock mailwarden-full.sock noop.sock; do
  for _ in $(seq 100); do [ -S "$work/$s" ] && break; sleep 0.1; done
  [ -S "$work/$s" ] || { echo "$s did not appear" >&2; cat "$work"/mailwarden*.log >&2; exit 1; }
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
"$work/milterload" -dir "$work/corpus" -c 8 -ip 127.0.0.1 -from alice@example.com -rcpt bob@example.org \
  -compare "opendkim=unix:$work/opendkim.sock,mailwarden=unix:$work/mailwarden.sock,mailwarden-full=unix:$work/mailwarden-full.sock,noop=unix:$work/noop.sock" \
  -rounds "${ROUNDS:-3}" -baseline opendkim
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in mailwarden mailwarden-full; do
  echo "$m: summary lines $(grep -c 'message:' "$work/$m.log"), signed $(grep -c 'dkim="signed d=example.com s=bench"' "$work/$m.log")"
  grep -v 'message:' "$work/$m.log" | grep -E 'ERROR|WARN' | head -5 || true
done
