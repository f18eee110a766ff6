package policy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/benchutil"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/policy"
	"github.com/mailwarden/mailwarden/scoring"
)

// The wired benchmarks run the policy server with the engine the daemon
// builds (internal/app.BuildEngine: every check in wiring.go that the
// config enables) against the loopback DNS server, the DNSBL enabled on two
// lists, and the embedded store with karma and greylisting... off, so that
// every request is answered DUNNO and measured the same way.
const wiredConfig = `
[profiles]
local_networks = []
[dns]
servers = ["%s"]
cache_size = %d
[envelope.dnsbl]
enabled = true
zones = ["bl1.mailwarden.test", "bl2.mailwarden.test"]
budget = "3s"
[karma]
enabled = true
`

func startWired(b *testing.B, cacheSize int) (addr string, dns *dnstest.Server) {
	b.Helper()
	return startWiredT(b, cacheSize)
}

func startWiredT(b testing.TB, cacheSize int) (addr string, dns *dnstest.Server) {
	b.Helper()
	dns = dnstest.New(b)
	dns.AddRR(b, "example.com. 300 IN A 192.0.2.1", "example.com. 300 IN MX 10 mx.example.com.", "mx.example.com. 300 IN A 192.0.2.1")
	cfg, err := config.Parse("bench.toml", fmt.Appendf(nil, wiredConfig, dns.Addr(), cacheSize))
	if err != nil {
		b.Fatal(err)
	}
	log := hclog.NewNullLogger()
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "state.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	res, err := app.NewResolver(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	e, err := app.BuildEngine(cfg, app.Deps{Logger: log, Store: st, Resolver: res})
	if err != nil {
		b.Fatal(err)
	}
	var cur scoring.Current
	cur.Store(e)
	srv := policy.New(&cur, policy.Options{}, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String(), dns
}

func wiredRequest(instance, client string) string {
	return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=" + client +
		"\nclient_name=unknown\nhelo_name=mx.example.com\nsender=alice@example.com\nrecipient=bob@example.org\n" +
		"instance=" + instance + "\nqueue_id=\nsasl_username=\nsize=0\n\n"
}

func runWired(b *testing.B, cacheSize int, next func(i int) string) {
	addr, _ := startWired(b, cacheSize)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func(req string) string {
		io.WriteString(c, req)
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		br.ReadString('\n')
		return strings.TrimSpace(line)
	}
	if got := ask(next(-1)); got != "action=DUNNO" {
		b.Fatalf("warm-up reply %q", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), benchutil.CPUTime()
	for i := range b.N {
		if got := ask(next(i)); got != "action=DUNNO" {
			b.Fatalf("reply %q", got)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
}

// BenchmarkPolicyWired:
//
//   - warm: one message, recipient after recipient (Postfix's case for a
//     multi-recipient message): cached connect..mail, rcpt stage only.
//
//   - new-message-warm-dns: each request a new message from the same
//     client: every stage runs, DNS answers come from the resolver cache.
//
//   - cold: each request a new message from a new client address with the
//     resolver cache off: every DNS query (two DNSBLs in parallel, SPF,
//     the sender domain) goes to the loopback DNS server.
//
//     go test -run '^$' -bench BenchmarkPolicyWired -benchtime 3s ./policy/
func BenchmarkPolicyWired(b *testing.B) {
	b.Run("warm", func(b *testing.B) {
		runWired(b, 10000, func(int) string { return wiredRequest("same", "198.51.100.7") })
	})
	b.Run("new-message-warm-dns", func(b *testing.B) {
		runWired(b, 10000, func(i int) string { return wiredRequest(fmt.Sprint("m", i), "198.51.100.7") })
	})
	b.Run("cold", func(b *testing.B) {
		runWired(b, 0, func(i int) string {
			n := i + 2
			return wiredRequest(fmt.Sprint("c", i), fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
		})
	})
}
