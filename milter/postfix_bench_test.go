//go:build bench

package milter_test

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestPostfixThroughput is the Postfix part of `make bench`; it builds only
// with -tags bench (so a plain `go test` has no skipped benchmark in it) and
// runs with MAILWARDEN_BENCH=1: smtp-source -> a private Postfix -> sink, with no
// milter and with mailwarden, in the same run, alternating rounds. It prints
// msgs/s medians and the ratio, and the per-message time with one session
// (a ~40 ms delayed-ACK stall per message would show there).
func TestPostfixThroughput(t *testing.T) {
	if os.Getenv("MAILWARDEN_BENCH") != "1" {
		t.Skip("benchmark: set MAILWARDEN_BENCH=1 (make bench)")
	}
	source := testenv.RequireBinary(t, "smtp-source")
	rounds, _ := strconv.Atoi(os.Getenv("BENCH_ROUNDS"))
	if rounds <= 0 {
		rounds = 3
	}
	const msgs = 2000
	// make bench passes the foundation config it measured with milterload
	// (MAILWARDEN_BENCH_CONFIG, with {{MILTER}} and {{STATE}} for the
	// listener and state directory); alone, the built-in defaults.
	conf := "[log]\nlevel = \"warn\"\n"
	if p := os.Getenv("MAILWARDEN_BENCH_CONFIG"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		conf = string(b)
	}
	d := testenv.StartDaemon(t, conf)
	plain := testenv.StartPostfix(t, testenv.PostfixOptions{})
	filtered := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})
	// MAILWARDEN_BENCH_NOOP_MILTER: a do-nothing milter (make bench starts
	// milterload -serve-noop -noop-mailwarden-options) measured the same
	// way: the ceiling of any milter through Postfix on this machine.
	var noop *testenv.Postfix
	if addr := os.Getenv("MAILWARDEN_BENCH_NOOP_MILTER"); addr != "" {
		noop = testenv.StartPostfix(t, testenv.PostfixOptions{Milter: addr})
	}

	run := func(pf *testenv.Postfix, sessions, n int) time.Duration {
		before := len(pf.Sink.Messages())
		start := time.Now()
		// -d: disconnect after each message's QUIT is not sent; -s parallel
		// sessions; -m messages; -l size; -c prints a counter to stderr.
		cmd := exec.Command(source, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(n), "-l", "4096",
			"-f", "bench@example.com", "-t", "rcpt@example.org", "-M", "client.example.net", pf.SMTPAddr)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("smtp-source: %v\n%s", err, out)
		}
		pf.Sink.Wait(t, before+n, 5*time.Minute)
		return time.Since(start)
	}
	median := func(v []float64) float64 {
		sort.Float64s(v)
		return v[len(v)/2]
	}
	var plainRate, mwRate, noopRate []float64
	for r := 0; r < rounds; r++ {
		plainRate = append(plainRate, msgs/run(plain, 8, msgs).Seconds())
		mwRate = append(mwRate, msgs/run(filtered, 8, msgs).Seconds())
		if noop != nil {
			noopRate = append(noopRate, msgs/run(noop, 8, msgs).Seconds())
		}
	}
	var plainOne, mwOne, noopOne []float64
	const one = 200
	for r := 0; r < rounds; r++ {
		plainOne = append(plainOne, float64(run(plain, 1, one).Microseconds())/1000/one)
		mwOne = append(mwOne, float64(run(filtered, 1, one).Microseconds())/1000/one)
		if noop != nil {
			noopOne = append(noopOne, float64(run(noop, 1, one).Microseconds())/1000/one)
		}
	}
	pr, mr := median(plainRate), median(mwRate)
	po, mo := median(plainOne), median(mwOne)
	fmt.Printf("BENCH postfix-8-sessions plain=%.0f msgs/s mailwarden=%.0f msgs/s ratio=%.2f (rounds=%d, %d msgs each)\n", pr, mr, mr/pr, rounds, msgs)
	if noop != nil {
		nr := median(noopRate)
		fmt.Printf("BENCH postfix-8-sessions noop-milter=%.0f msgs/s ratio=%.2f; mailwarden/noop-milter=%.2f\n", nr, nr/pr, mr/nr)
	}
	fmt.Printf("BENCH postfix-1-session plain=%.2f ms/msg mailwarden=%.2f ms/msg added=%.2f ms/msg\n", po, mo, mo-po)
	if noop != nil {
		no := median(noopOne)
		fmt.Printf("BENCH postfix-1-session noop-milter=%.2f ms/msg added=%.2f ms/msg\n", no, no-po)
	}
}
