package policy

import (
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/benchutil"
)

// BenchmarkPolicyWarm measures policy requests per second on one
// connection, each request answered before the next is sent (as Postfix
// does), all for one instance: the connect..mail stages are cached and the
// rcpt stage runs per request.
//
//	go test -run '^$' -bench BenchmarkPolicyWarm -benchtime 3s ./policy/
func BenchmarkPolicyWarm(b *testing.B) {
	f := newFixture(b, Options{})
	c := f.dial(b)
	req := request("bench", "198.51.100.1", "alice@example.com", "bob@example.org")
	if got := c.ask(b, req); got != "action=DUNNO" {
		b.Fatal(got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), benchutil.CPUTime()
	for range b.N {
		if got := c.ask(b, req); got != "action=DUNNO" {
			b.Fatal(got)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	// CPU per request, client and server together: what the request costs
	// on a machine whose cores are busy with other work.
	b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
}
