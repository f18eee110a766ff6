package policy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// rtt is the artificial DNS round trip of the latency test: large enough
// that scheduling noise on a busy machine does not blur 1 round trip and 2.
const rtt = 300 * time.Millisecond

// TestColdLatencyDNSListsInParallel: with the resolver cache off and every
// answer of both DNS lists delayed by one "round trip", a policy request for
// a new message takes about one round trip, not two: the lists of one
// request are queried in parallel. The whole-request figure with every DNS
// answer delayed is logged (it is the number of dependent lookup steps
// across the connect, helo and mail stages).
func TestColdLatencyDNSListsInParallel(t *testing.T) {
	testenv.RequireLong(t)
	addr, dns := startWiredT(t, 0)
	const client = "198.51.100.7"
	for _, z := range []string{"bl1", "bl2"} {
		dns.SetDelay("7.100.51.198."+z+".mailwarden.test.", rtt)
	}
	measure := func(instance string) time.Duration {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, wiredRequest(instance, client))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "action=DUNNO" {
			t.Fatalf("reply %q %v", line, err)
		}
		return time.Since(start)
	}
	d := measure("lat1")
	t.Logf("two DNS lists, each answer delayed %s: request took %s", rtt, d)
	if d < rtt || d >= 2*rtt-50*time.Millisecond {
		t.Fatalf("request took %s with two lists each %s away: want about one round trip (parallel), not two", d, rtt)
	}
	for _, n := range []string{"example.com.", "mx.example.com."} {
		dns.SetDelay(n, rtt)
	}
	d = measure("lat2")
	t.Logf("every DNS answer delayed %s: request took %s (%.1f round trips)", rtt, d, float64(d)/float64(rtt))
}
