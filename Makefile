# mailwarden — see README.md. `make run` and `make test` do all set-up on a
# fresh Debian machine (test dependencies are installed through apt-get, as
# root, when missing).
GO        ?= go
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin
RUNDIR    ?= $(CURDIR)/.run
TESTFLAGS ?= -race -shuffle=on -timeout 20m
FUZZTIME  ?= 30s

.PHONY: all build run test test-deps unit fuzz bench bench-deps fmt vet clean install

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/mailwarden ./cmd/mailwarden
	$(GO) build -o $(BIN)/milterload ./cmd/milterload

# The daemon with the shipped example config, embedded storage under .run/,
# listening on loopback only.
run: build
	mkdir -p $(RUNDIR)/state
	sed -e 's|^state_dir = .*|state_dir = "$(RUNDIR)/state"|' \
	    -e 's|^# paths = \["/etc/mailwarden/rules"\]|paths = ["$(CURDIR)/contrib/rules"]|' \
	    deploy/mailwarden.toml > $(RUNDIR)/mailwarden.toml
	$(BIN)/mailwarden run -c $(RUNDIR)/mailwarden.toml

# Everything the tests need (Postfix, redis, clamd, OpenDKIM tools, ...).
test-deps:
	./scripts/install-test-deps.sh

# Every test, integration tests included (they need the packages above).
test: test-deps
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags bench ./...   # the benchmark-only tests (make bench) compile too
	$(GO) test $(TESTFLAGS) ./...

# Unit tests only: no external components.
unit:
	$(GO) test -short ./...

fuzz:
	./scripts/fuzz-all.sh $(FUZZTIME)

bench: build bench-deps
	./scripts/bench.sh

bench-deps:
	./scripts/install-test-deps.sh bench

# Bayes accuracy on the SpamAssassin public corpus, side by side with
# SpamAssassin (see BENCHMARKS.md, "Bayes accuracy").
.PHONY: bench-accuracy
bench-accuracy:
	./scripts/bench-accuracy.sh

# DKIM signing throughput against OpenDKIM and a no-op milter (BENCHMARKS.md,
# "Outbound"); needs the SpamAssassin corpus in /tmp/sa-corpus (see
# ../shared/testdata/corpus/README.md).
.PHONY: bench-dkim
bench-dkim: bench-deps
	go test -run XXX -bench 'BenchmarkSign$$' -benchtime 1s -count 5 ./scoring/dkimsign/
	./scoring/dkimsign/bench/compare-opendkim.sh

# Issue 6's target: the full inbound path (rules, Bayes, SPF/DKIM/DMARC, DNS
# lists on a loopback DNS server) against Debian's rspamd in milter mode,
# same corpus, concurrency 8 (BENCHMARKS.md, "Full inbound path against
# rspamd"); ROUNDS=3 by default.
.PHONY: bench-inbound
bench-inbound: bench-deps
	./scripts/bench-inbound.sh

# Install binary, systemd unit, example config and rules; create the
# mailwarden system user. An existing config is never overwritten.
PREFIX  ?= /usr/local
ETCDIR  ?= /etc/mailwarden
UNITDIR ?= /etc/systemd/system
install: build
	install -D -m 0755 $(BIN)/mailwarden $(DESTDIR)$(PREFIX)/bin/mailwarden
	install -D -m 0644 deploy/mailwarden.service $(DESTDIR)$(UNITDIR)/mailwarden.service
	install -d -m 0750 $(DESTDIR)$(ETCDIR) $(DESTDIR)$(ETCDIR)/rules
	install -d -m 0700 $(DESTDIR)$(ETCDIR)/dkimkeys
	[ -e $(DESTDIR)$(ETCDIR)/mailwarden.toml ] || install -m 0640 deploy/mailwarden.toml $(DESTDIR)$(ETCDIR)/mailwarden.toml
	cp -r contrib/rules/. $(DESTDIR)$(ETCDIR)/rules/
	install -d $(DESTDIR)$(PREFIX)/share/doc/mailwarden
	install -m 0644 README.md HACKING.md $(DESTDIR)$(PREFIX)/share/doc/mailwarden/
	cp -r deploy/. $(DESTDIR)$(PREFIX)/share/doc/mailwarden/deploy/
	if [ -z "$(DESTDIR)" ]; then \
	  getent passwd mailwarden >/dev/null || useradd --system --home-dir /var/lib/mailwarden --shell /usr/sbin/nologin mailwarden; \
	  chown root:mailwarden $(ETCDIR) $(ETCDIR)/mailwarden.toml; chown -R root:mailwarden $(ETCDIR)/rules; chmod -R g+rX $(ETCDIR)/rules; \
	  chown mailwarden:mailwarden $(ETCDIR)/dkimkeys; \
	  systemctl daemon-reload 2>/dev/null || true; \
	  echo "installed; edit $(ETCDIR)/mailwarden.toml, then: systemctl enable --now mailwarden"; \
	fi

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) $(RUNDIR)
