package policy

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if got := c.ask(b, req); got != "action=DUNNO" {
			b.Fatal(got)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	// CPU per request, client and server together: what the request costs
	// on a machine whose cores are busy with other work.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
}
