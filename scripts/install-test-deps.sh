#!/usr/bin/env bash
# Installs the Debian packages the integration tests (and, with "bench", the
# benchmarks) drive for real. Runs apt-get only for what is missing; needs root
# for that (CI and the developer machines run as root).
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
want() { for p in "$@"; do have "$p" || need+=("$p"); done; }

# Test components: a private Postfix, redis-server, clamd, OpenDKIM's tools.
want postfix redis-server clamav-daemon clamav opendkim opendkim-tools
# The daily statistics report is rendered in headless Chromium; systemd-analyze
# verifies the unit.
want chromium systemd
# unshare (util-linux) gives opendkim-testmsg a private /etc/resolv.conf
# pointing at the loopback test DNS server (scoring/dkimsign tests).
want util-linux
# xmllint validates DMARC aggregate reports against the RFC 7489 schema.
want libxml2-utils
# spamd (spamassassin 4) for scoring/spamd's test against a real spamd.
want spamassassin spamd spamc
# The junk-folder recipes (deploy/recipes) run by the real delivery tools.
want procmail maildrop dovecot-sieve dovecot-core
# Sendmail end to end (milter/sendmail_test.go): m4 builds its sendmail.cf;
# sendmail-bin itself conflicts with postfix, see below.
want m4
if [ "${1:-}" = "bench" ]; then
  want spamassassin spamc rspamd opendkim
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks no questions with this preset; "No configuration" leaves
  # /etc/postfix alone (tests run private instances).
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# sendmail-bin conflicts with postfix, so it is not installed: the test
# unpacks its .debs (and sendmail-cf's m4 tree) from this cache, filled here
# once; the binary's shared libraries are installed from sendmail-bin's
# dependencies (names differ between Debian releases).
sm_cache="${MAILWARDEN_TEST_CACHE:-/var/cache/mailwarden-test}/sendmail"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$sm_cache"
  for p in sendmail-bin sendmail-cf; do
    ls "$sm_cache/${p}_"*.deb >/dev/null 2>&1 || (cd "$sm_cache" && apt-get download -q "$p")
  done
  sm_need=()
  for l in $(apt-cache depends sendmail-bin | awk '$1 == "Depends:" && $2 ~ /^lib/ {print $2}'); do
    have "$l" || sm_need+=("$l")
  done
  if [ ${#sm_need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${sm_need[@]}"
  fi
fi
# The distribution's own services are not needed (tests start private ones);
# stop them so they do not hold ports or CPU.
for svc in postfix clamav-daemon clamav-freshclam redis-server opendkim rspamd spamd spamassassin; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" 2>/dev/null || true
  fi
done
echo "test dependencies present"
