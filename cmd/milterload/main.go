// Command milterload replays a folder of .eml files through any milter with N
// concurrent sessions, as an MTA would (connect, helo, mail, rcpt, headers,
// body, end of message), and reports msgs/s and latency percentiles.
//
//	milterload -addr inet:127.0.0.1:8891 -dir corpus/ -c 8 -n 5000
//	milterload -serve-noop inet:127.0.0.1:9999    # a do-nothing go-milter server (the ceiling)
//
// Messages are read into memory first, so only the milter path is measured.
// Each message uses a new milter session unless -per-conn is above 1 (then
// that many messages share one session, as with one SMTP connection).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/benchutil"
	"github.com/mailwarden/mailwarden/internal/config"
	mwmilter "github.com/mailwarden/mailwarden/milter"
)

type result struct {
	Addr        string         `json:"addr"`
	Messages    int            `json:"messages"`
	Errors      int            `json:"errors"`
	Concurrency int            `json:"concurrency"`
	Seconds     float64        `json:"seconds"`
	MsgsPerSec  float64        `json:"msgs_per_sec"`
	P50ms       float64        `json:"p50_ms"`
	P99ms       float64        `json:"p99_ms"`
	Actions     map[string]int `json:"actions"`
}

func main() {
	addr := flag.String("addr", "inet:127.0.0.1:8891", "milter address (inet:host:port or unix:/path)")
	dir := flag.String("dir", "", "folder of messages (.eml or any regular file), read recursively")
	conc := flag.Int("c", 8, "concurrent sessions")
	n := flag.Int("n", 0, "messages to send (default: each file once)")
	perConn := flag.Int("per-conn", 1, "messages per milter session")
	ip := flag.String("ip", "192.0.2.10", "client IP address to present")
	helo := flag.String("helo", "client.example.net", "HELO name to present")
	from := flag.String("from", "sender@example.com", "envelope sender")
	rcpt := flag.String("rcpt", "user@example.org", "envelope recipient")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	maxFiles := flag.Int("max-files", 0, "read at most this many files")
	noop := flag.String("serve-noop", "", "instead: serve a do-nothing go-milter on this address")
	targets := flag.String("compare", "", "instead of -addr: NAME=ADDR,NAME=ADDR,... measured in alternating rounds")
	rounds := flag.Int("rounds", 3, "with -compare: rounds per target (medians are reported)")
	baseline := flag.String("baseline", "", "with -compare: the target the others are reported as a ratio of")
	noopLike := flag.Bool("noop-mailwarden-options", false, "with -serve-noop: negotiate as mailwarden does (no replies for connect/helo/header/body, its macros, one write per frame)")
	flag.Parse()
	if *noop != "" {
		serveNoop(*noop, *noopLike)
		return
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "milterload: -dir is required")
		os.Exit(2)
	}
	mails, err := benchutil.LoadCorpus(*dir, *maxFiles)
	if err != nil {
		fmt.Fprintln(os.Stderr, "milterload:", err)
		os.Exit(1)
	}
	if len(mails) == 0 {
		fmt.Fprintln(os.Stderr, "milterload: no messages in", *dir)
		os.Exit(1)
	}
	if *n <= 0 {
		*n = len(mails)
	}
	if *targets != "" {
		compare(*targets, *rounds, *baseline, mails, *n, *conc, *perConn, *ip, *helo, *from, *rcpt)
		return
	}
	network, address, err := config.ParseListen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "milterload:", err)
		os.Exit(2)
	}
	res := run(network, address, mails, *n, *conc, *perConn, *ip, *helo, *from, *rcpt)
	res.Addr = *addr
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("%d messages (%d errors) in %.2fs with %d sessions: %.0f msgs/s, p50 %.2f ms, p99 %.2f ms, actions %v\n",
		res.Messages, res.Errors, res.Seconds, res.Concurrency, res.MsgsPerSec, res.P50ms, res.P99ms, res.Actions)
}

func run(network, address string, mails []benchutil.Mail, total, conc, perConn int, ip, helo, from, rcpt string) result {
	client := benchutil.MilterClient(network, address)
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, total)
	actions := map[string]int{}
	errs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(int64(perConn))) - perConn
				if i >= total {
					return
				}
				k := min(perConn, total-i)
				ds, acts, err := session(client, mails, i, k, ip, helo, from, rcpt)
				mu.Lock()
				lat = append(lat, ds...)
				for _, a := range acts {
					actions[a]++
				}
				if err != nil {
					errs++
					if errs <= 3 {
						fmt.Fprintln(os.Stderr, "milterload:", err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	return result{Messages: len(lat), Errors: errs, Concurrency: conc, Seconds: el.Seconds(),
		MsgsPerSec: float64(len(lat)) / el.Seconds(), P50ms: pct(0.50), P99ms: pct(0.99), Actions: actions}
}

// session sends k messages starting at index i over one milter session.
func session(client *gomilter.Client, mails []benchutil.Mail, i, k int, ip, helo, from, rcpt string) ([]time.Duration, []string, error) {
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mta.example.org")
	macros.Set(gomilter.MacroDaemonName, "smtpd")
	macros.Set(gomilter.MacroClientAddr, ip)
	var out []time.Duration
	var acts []string
	t0 := time.Now()
	s, err := client.Session(macros)
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	stop := func(a *gomilter.Action, err error) (bool, error) {
		if err != nil {
			return true, err
		}
		return a.StopProcessing() || a.Type == gomilter.ActionDiscard, nil
	}
	if st, err := stop(s.Conn("client.example.net", gomilter.FamilyInet, 25, ip)); st {
		return nil, nil, err
	}
	if st, err := stop(s.Helo(helo)); st {
		return nil, nil, err
	}
	for j := 0; j < k; j++ {
		m := mails[(i+j)%len(mails)]
		if j > 0 {
			t0 = time.Now()
		}
		macros.Set(gomilter.MacroQueueId, fmt.Sprintf("Q%X", i+j))
		act, err := func() (string, error) {
			if st, err := stop(s.Mail(from, "")); st {
				return "refused-mail", err
			}
			if st, err := stop(s.Rcpt(rcpt, "")); st {
				return "refused-rcpt", err
			}
			if st, err := stop(s.DataStart()); st {
				return "refused-data", err
			}
			for _, f := range m.Fields {
				if st, err := stop(s.HeaderField(f.Name, f.Value, nil)); st {
					return "refused-header", err
				}
			}
			if st, err := stop(s.HeaderEnd()); st {
				return "refused-eoh", err
			}
			mods, a, err := s.BodyReadFrom(bytes.NewReader(m.Body))
			if err != nil {
				return "error", err
			}
			_ = mods
			return benchutil.MilterAction(a), nil
		}()
		out = append(out, time.Since(t0))
		acts = append(acts, act)
		if err != nil {
			return out, acts, fmt.Errorf("%s: %w", m.Name, err)
		}
		if strings.HasPrefix(act, "refused") {
			// The MTA would RSET; the milter expects a new MAIL after an
			// end-of-transaction reply.
			s.Abort(nil)
		}
	}
	return out, acts, nil
}

// serveNoop runs a go-milter server that accepts everything.
func serveNoop(addr string, likeMailwarden bool) {
	network, address, err := config.ParseListen(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := []gomilter.Option{gomilter.WithActions(gomilter.OptAddHeader | gomilter.OptChangeHeader)}
	if likeMailwarden {
		opts = mwmilter.ServerOptions(0)
		ln = mwmilter.CoalescingListener(ln)
	}
	opts = append(opts, gomilter.WithMilter(func() gomilter.Milter { return gomilter.NoOpMilter{} }))
	srv := gomilter.NewServer(opts...)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; srv.Close() }()
	fmt.Println("noop milter listening on", ln.Addr())
	srv.Serve(ln)
}

// compare measures several milters in alternating rounds (so drift on a
// shared machine hits all alike) and prints a Markdown table of medians.
func compare(spec string, rounds int, baseline string, mails []benchutil.Mail, n, conc, perConn int, ip, helo, from, rcpt string) {
	type target struct{ name, network, addr string }
	var ts []target
	for _, part := range strings.Split(spec, ",") {
		name, a, ok := strings.Cut(part, "=")
		if !ok {
			fmt.Fprintln(os.Stderr, "milterload: -compare wants NAME=ADDR pairs")
			os.Exit(2)
		}
		network, address, err := config.ParseListen(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "milterload:", err)
			os.Exit(2)
		}
		ts = append(ts, target{name, network, address})
	}
	rate := map[string][]float64{}
	p50 := map[string][]float64{}
	p99 := map[string][]float64{}
	errs := map[string]int{}
	for r := 0; r < rounds; r++ {
		for _, t := range ts {
			res := run(t.network, t.addr, mails, n, conc, perConn, ip, helo, from, rcpt)
			rate[t.name] = append(rate[t.name], res.MsgsPerSec)
			p50[t.name] = append(p50[t.name], res.P50ms)
			p99[t.name] = append(p99[t.name], res.P99ms)
			errs[t.name] += res.Errors
			fmt.Fprintf(os.Stderr, "round %d %s: %.0f msgs/s p50 %.2f ms p99 %.2f ms errors %d\n", r+1, t.name, res.MsgsPerSec, res.P50ms, res.P99ms, res.Errors)
		}
	}
	med := func(v []float64) float64 {
		w := append([]float64(nil), v...)
		sort.Float64s(w)
		return w[len(w)/2]
	}
	fmt.Printf("| milter | msgs/s (median of %d) | p50 ms | p99 ms | errors | vs %s |\n|---|---|---|---|---|---|\n", rounds, baseline)
	base := 0.0
	if baseline != "" {
		base = med(rate[baseline])
	}
	for _, t := range ts {
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*med(rate[t.name])/base)
		}
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %d | %s |\n", t.name, med(rate[t.name]), med(p50[t.name]), med(p99[t.name]), errs[t.name], ratio)
	}
}
