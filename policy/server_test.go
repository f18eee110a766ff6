package policy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/scoring"
)

// Engine inputs for the front-end tests: small checks with known behaviour
// (the real checks have their own packages and tests).

// connCounter counts how often the connect, helo and mail stages run.
type stageCounter struct {
	stage scoring.Stage
	n     atomic.Int64
}

func (c *stageCounter) Name() string                 { return "count_" + c.stage.String() }
func (c *stageCounter) Stage() scoring.Stage         { return c.stage }
func (c *stageCounter) Symbols() []scoring.SymbolDef { return nil }
func (c *stageCounter) Run(context.Context, *scoring.Transaction, *scoring.Result) error {
	c.n.Add(1)
	return nil
}

// envelopeRules refuses by client, sender and recipient.
type envelopeRules struct{ stage scoring.Stage }

func (c *envelopeRules) Name() string         { return "rules_" + c.stage.String() }
func (c *envelopeRules) Stage() scoring.Stage { return c.stage }
func (c *envelopeRules) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: "TEST_RULE_" + strings.ToUpper(c.stage.String()), Weight: 1, Description: "test"}}
}
func (c *envelopeRules) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	switch c.stage {
	case scoring.StageConnect:
		if tx.Client.Addr.String() == "192.0.2.66" {
			r.Force(scoring.Reject, scoring.Reply{Code: 554, Enhanced: "5.7.1", Text: "Client listed"}, "test list")
		}
	case scoring.StageMail:
		if tx.MailFrom == "spammer@bad.example" {
			r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1", Text: "Sender refused"}, "bad sender")
		}
	case scoring.StageRcpt:
		switch tx.Rcpt {
		case "nobody@example.org":
			r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.1.1", Text: "No such user"}, "bad rcpt")
		case "later@example.org":
			r.Force(scoring.Tempfail, scoring.Reply{Code: 451, Enhanced: "4.7.1", Text: "Try later"}, "greylisted")
		case "crash@example.org":
			panic("test check crashed")
		case "slow@example.org":
			time.Sleep(300 * time.Millisecond)
		}
	}
	return nil
}

type fixture struct {
	srv     *Server
	addr    string
	connect *stageCounter
	mail    *stageCounter
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	f := &fixture{connect: &stageCounter{stage: scoring.StageConnect}, mail: &stageCounter{stage: scoring.StageMail}}
	checks := []scoring.Check{
		f.connect, f.mail,
		&envelopeRules{scoring.StageConnect}, &envelopeRules{scoring.StageMail}, &envelopeRules{scoring.StageRcpt},
	}
	e, err := scoring.New(scoring.Options{OnPanic: scoring.Tempfail, Levels: scoring.Levels{TagLevel: 5}}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cur scoring.Current
	cur.Store(e)
	f.srv = New(&cur, opts, hclog.NewNullLogger())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go f.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
	})
	return f
}

type client struct {
	c  net.Conn
	br *bufio.Reader
}

func (f *fixture) dial(t testing.TB) *client {
	t.Helper()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, br: bufio.NewReader(c)}
}

// ask sends a request and returns the action line ("" when the server
// closed the connection).
func (c *client) ask(t testing.TB, req string) string {
	t.Helper()
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.c, req); err != nil {
		return ""
	}
	line, err := c.br.ReadString('\n')
	if err != nil {
		return ""
	}
	blank, err := c.br.ReadString('\n')
	if err != nil || blank != "\n" {
		t.Fatalf("reply not ended by an empty line: %q %v", blank, err)
	}
	return strings.TrimSuffix(line, "\n")
}

func request(instance, client, sender, rcpt string) string {
	return fmt.Sprintf("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"+
		"client_address=%s\nclient_name=unknown\nhelo_name=mx.example.com\nsender=%s\nrecipient=%s\n"+
		"instance=%s\nqueue_id=\nsasl_username=\nsize=0\n\n", client, sender, rcpt, instance)
}

func TestPolicyReplies(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name, instance, client, sender, rcpt string
		want                                 string
	}{
		{"clean mail", "i1", "198.51.100.1", "alice@example.com", "bob@example.org", "action=DUNNO"},
		{"listed client", "i2", "192.0.2.66", "alice@example.com", "bob@example.org", "action=REJECT 5.7.1 Client listed"},
		{"bad sender", "i3", "198.51.100.1", "spammer@bad.example", "bob@example.org", "action=REJECT 5.7.1 Sender refused"},
		{"bad recipient", "i4", "198.51.100.1", "alice@example.com", "nobody@example.org", "action=REJECT 5.1.1 No such user"},
		{"tempfail", "i5", "198.51.100.1", "alice@example.com", "later@example.org", "action=DEFER_IF_PERMIT 4.7.1 Try later"},
		{"crashing check", "i6", "198.51.100.1", "alice@example.com", "crash@example.org", "action=DEFER_IF_PERMIT 4.7.1 Temporary failure, please try again later"},
		{"null sender", "i7", "198.51.100.1", "", "bob@example.org", "action=DUNNO"},
		{"ipv6 client", "i8", "2001:db8::1", "alice@example.com", "bob@example.org", "action=DUNNO"},
	}
	c := f.dial(t) // all on one connection, as Postfix does
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.ask(t, request(tt.instance, tt.client, tt.sender, tt.rcpt))
			if got != tt.want {
				t.Fatalf("reply %q, want %q", got, tt.want)
			}
			if strings.HasPrefix(got, "action=OK") {
				t.Fatal("the policy server must never answer OK")
			}
		})
	}
}

func TestDeferAction(t *testing.T) {
	f := newFixture(t, Options{TempfailAction: Defer})
	if got := f.dial(t).ask(t, request("d1", "198.51.100.1", "a@example.com", "later@example.org")); got != "action=DEFER 4.7.1 Try later" {
		t.Fatalf("reply %q", got)
	}
}

// TestInstanceCache: Postfix sends one request per recipient with the same
// instance; the connect..mail stages must run once, the rcpt stage per
// recipient, and a refused recipient must not affect the next one.
func TestInstanceCache(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.dial(t)
	rcpts := []struct{ rcpt, want string }{
		{"a@example.org", "action=DUNNO"},
		{"nobody@example.org", "action=REJECT 5.1.1 No such user"},
		{"b@example.org", "action=DUNNO"},
		{"later@example.org", "action=DEFER_IF_PERMIT 4.7.1 Try later"},
		{"c@example.org", "action=DUNNO"},
	}
	for _, r := range rcpts {
		if got := c.ask(t, request("same", "198.51.100.1", "alice@example.com", r.rcpt)); got != r.want {
			t.Fatalf("%s: %q, want %q", r.rcpt, got, r.want)
		}
	}
	if n := f.connect.n.Load(); n != 1 {
		t.Fatalf("connect stage ran %d times for one instance", n)
	}
	if n := f.mail.n.Load(); n != 1 {
		t.Fatalf("mail stage ran %d times for one instance", n)
	}
	// A new instance (next message) runs them again.
	c.ask(t, request("other", "198.51.100.1", "alice@example.com", "a@example.org"))
	if n := f.mail.n.Load(); n != 2 {
		t.Fatalf("mail stage ran %d times for two instances", n)
	}
	// A refused sender is refused for every recipient of the message.
	for range 3 {
		if got := c.ask(t, request("spam", "198.51.100.1", "spammer@bad.example", "x@example.org")); got != "action=REJECT 5.7.1 Sender refused" {
			t.Fatalf("reply %q", got)
		}
	}
}

func TestInstanceCacheBound(t *testing.T) {
	f := newFixture(t, Options{CacheSize: 3})
	c := f.dial(t)
	for i := range 10 {
		c.ask(t, request(fmt.Sprint("inst", i), "198.51.100.1", "a@example.com", "b@example.org"))
	}
	if n := f.srv.cache.len(); n != 3 {
		t.Fatalf("cache holds %d instances, want 3", n)
	}
}

// TestBadRequestClosesOnlyItsConnection: a malformed or oversized request is
// answered by closing that connection; the server and other connections
// carry on.
func TestBadRequestClosesOnlyItsConnection(t *testing.T) {
	f := newFixture(t, Options{})
	good := f.dial(t)
	if got := good.ask(t, request("g1", "198.51.100.1", "a@example.com", "b@example.org")); got != "action=DUNNO" {
		t.Fatalf("reply %q", got)
	}
	bad := []struct{ name, req string }{
		{"no equals", "request=smtpd_access_policy\ngarbage line\n\n"},
		{"long line", "request=smtpd_access_policy\nsender=" + strings.Repeat("a", MaxLineLength+10) + "\n\n"},
		{"too many attributes", "request=smtpd_access_policy\n" + strings.Repeat("x=y\n", MaxAttributes+5) + "\n"},
		{"not a policy request", "request=junk\n\n"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			c := f.dial(t)
			if got := c.ask(t, b.req); got != "" {
				t.Fatalf("got a reply %q to a bad request; want the connection closed", got)
			}
		})
	}
	if got := good.ask(t, request("g2", "198.51.100.1", "a@example.com", "b@example.org")); got != "action=DUNNO" {
		t.Fatalf("the good connection broke: %q", got)
	}
	if got := f.dial(t).ask(t, request("g3", "198.51.100.1", "a@example.com", "b@example.org")); got != "action=DUNNO" {
		t.Fatalf("new connections broke: %q", got)
	}
}

func TestProtocolStates(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.dial(t)
	tests := []struct{ state, sender, want string }{
		{"CONNECT", "", "action=DUNNO"},
		{"MAIL", "spammer@bad.example", "action=REJECT 5.7.1 Sender refused"},
		{"VRFY", "spammer@bad.example", "action=DUNNO"},
		{"DATA", "alice@example.com", "action=DUNNO"},
	}
	for i, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			req := strings.Replace(request(fmt.Sprint("ps", i), "198.51.100.1", tt.sender, ""), "protocol_state=RCPT", "protocol_state="+tt.state, 1)
			if got := c.ask(t, req); got != tt.want {
				t.Fatalf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShutdownDrains(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.dial(t)
	if got := c.ask(t, request("s1", "198.51.100.1", "a@example.com", "b@example.org")); got != "action=DUNNO" {
		t.Fatal(got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %s with only an idle connection", d)
	}
	if _, err := net.DialTimeout("tcp", f.addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

// TestShutdownAnswersInFlight: a request being judged when Shutdown starts
// still gets its reply.
func TestShutdownAnswersInFlight(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.dial(t)
	got := make(chan string, 1)
	go func() { got <- c.ask(t, request("slow", "198.51.100.1", "a@example.com", "slow@example.org")) }()
	time.Sleep(100 * time.Millisecond) // the request is in the slow check now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-got; r != "action=DUNNO" {
		t.Fatalf("in-flight request got %q", r)
	}
}

func TestUnixSocket(t *testing.T) {
	f := newFixture(t, Options{})
	path := filepath.Join(t.TempDir(), "policy.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve(ln)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{c: conn, br: bufio.NewReader(conn)}
	if got := c.ask(t, request("u1", "198.51.100.1", "spammer@bad.example", "b@example.org")); got != "action=REJECT 5.7.1 Sender refused" {
		t.Fatalf("reply %q", got)
	}
}
