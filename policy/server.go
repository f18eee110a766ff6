package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/scoring"
)

// Options configure a Server.
type Options struct {
	// TempfailAction answers a tempfail: DeferIfPermit (default) or Defer.
	TempfailAction Action
	// IdleTimeout closes a connection with no request for this long.
	IdleTimeout time.Duration
	// CacheSize bounds the instances (messages) whose results are kept.
	CacheSize int
}

// writeTimeout bounds the write of one reply: Postfix reads it at once.
const writeTimeout = 30 * time.Second

// Server is the policy-delegation server.
type Server struct {
	engines *scoring.Current
	opts    Options
	log     hclog.Logger
	cache   *instanceCache

	mu      sync.Mutex
	lns     map[net.Listener]bool
	conns   map[net.Conn]bool // true while a request is being handled
	closing bool
	wg      sync.WaitGroup
}

// New returns a server judging with the engine in force in engines.
func New(engines *scoring.Current, opts Options, log hclog.Logger) *Server {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.TempfailAction != Defer {
		opts.TempfailAction = DeferIfPermit
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	return &Server{
		engines: engines, opts: opts, log: log, cache: newInstanceCache(opts.CacheSize),
		lns: make(map[net.Listener]bool), conns: make(map[net.Conn]bool),
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("policy: server closed")

// Serve accepts connections on ln until Shutdown or a listener error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[ln] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscallEMFILE) {
				// Out of descriptors or a transient error: back off, go on.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		s.conns[c] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight be answered, and closes what is left when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.lns {
		ln.Close()
	}
	for c, busy := range s.conns {
		if !busy {
			// Wake the reader; serveConn sees closing and returns.
			c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) setBusy(c net.Conn, busy bool) (closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = busy
	return s.closing
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	peer := c.RemoteAddr().String()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("policy connection crashed; closing it", "peer", peer, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	br := NewReader(c)
	for {
		if s.setBusy(c, false) {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		req, err := ReadRequest(br)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				s.mu.Lock()
				closing := s.closing
				s.mu.Unlock()
				if !closing {
					s.log.Debug("policy connection idle; closing", "peer", peer)
				}
			default:
				// SMTPD_POLICY_README: in case of trouble, log and disconnect
				// without a reply.
				s.log.Warn("bad policy request; closing the connection", "peer", peer, "error", err)
			}
			return
		}
		s.setBusy(c, true)
		reply, err := s.Handle(context.Background(), req)
		if err != nil {
			s.log.Warn("bad policy request; closing the connection", "peer", peer, "error", err)
			return
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(reply.Bytes()); err != nil {
			s.log.Warn("writing policy reply failed", "peer", peer, "error", err)
			return
		}
	}
}

// Handle answers one request. An error means the request is not a policy
// request we can answer (the connection should be closed).
func (s *Server) Handle(ctx context.Context, req *Request) (Reply, error) {
	if r := req.Get("request"); r != "smtpd_access_policy" {
		return Reply{}, fmt.Errorf("request=%q, want smtpd_access_policy", r)
	}
	final, ok := stateStage(req.Get("protocol_state"))
	if !ok {
		return Reply{Action: Dunno}, nil
	}
	e := s.engines.Load()
	if e == nil {
		return Reply{}, errors.New("no engine")
	}
	now := time.Now()
	key := req.Get("instance")
	if key == "" {
		// No instance (not sent before Postfix 2.2): a message of its own.
		key = "noinstance:" + strconv.FormatInt(now.UnixNano(), 36)
	}
	key += "|" + req.Get("client_address")
	in := s.cache.get(key, now, func() *instance {
		tx := newTransaction(req, now)
		e.Classify(tx)
		return &instance{engine: e, tx: tx}
	})
	in.mu.Lock()
	defer in.mu.Unlock()
	e, tx := in.engine, in.tx
	if q := req.Get("queue_id"); q != "" {
		tx.QueueID = q
	}
	// A message's first request may come from an earlier protocol state
	// (check_policy_service in smtpd_client_restrictions) than its later
	// ones: fill in what was not known then.
	if tx.MailFrom == "" && in.stages <= scoring.StageMail {
		tx.MailFrom = req.Get("sender")
	}
	if tx.Client.HELO == "" && in.stages <= scoring.StageHelo {
		tx.Client.HELO = req.Get("helo_name")
	}
	// The stages before the rcpt stage run once per instance.
	for ; in.stages <= min(final, scoring.StageMail); in.stages++ {
		if f := tx.Forced(); f != nil && f.Action >= scoring.Tempfail {
			break
		}
		e.RunStage(ctx, in.stages, tx)
	}
	if f := tx.Forced(); f != nil && f.Action >= scoring.Tempfail {
		return s.refuse(ctx, in, req, f), nil
	}
	if final != scoring.StageRcpt {
		return Reply{Action: Dunno}, nil
	}
	rcpt := req.Get("recipient")
	tx.Rcpt = rcpt
	o := e.RunStage(ctx, scoring.StageRcpt, tx)
	tx.Rcpt = ""
	if o.Forced != nil && o.Forced.Action >= scoring.Tempfail {
		return s.refuse(ctx, in, req, o.Forced), nil
	}
	tx.AcceptRcpt(rcpt, o)
	if s.log.IsDebug() {
		s.log.Debug("recipient passed", "instance", tx.ID, "qid", tx.QueueID, "client", req.Get("client_address"),
			"from", "<"+tx.MailFrom+">", "rcpt", rcpt)
	}
	return Reply{Action: Dunno}, nil
}

// refuse logs a refusal, gives the verdict to the observers once per
// instance and renders the reply.
func (s *Server) refuse(ctx context.Context, in *instance, req *Request, f *scoring.Forced) Reply {
	e, tx := in.engine, in.tx
	v := e.Verdict(tx)
	if v.Forced == nil || f.Action > v.Forced.Action {
		v.Action, v.Reply, v.Forced, v.Reason = f.Action, f.Reply, f, f.Check+": "+f.Reason
	}
	fields := scoring.SummaryFields(tx, v)
	fields = append(fields, "rcpt", req.Get("recipient"), "instance", tx.ID, "ms", time.Since(tx.Start).Milliseconds())
	s.log.Info("policy refusal", fields...)
	if !in.observed {
		in.observed = true
		e.Observe(ctx, tx, v)
	}
	return replyFor(f, s.opts.TempfailAction)
}

// stateStage maps protocol_state to the last engine stage to run. States
// after RCPT (DATA, END-OF-MESSAGE) run up to the mail stage only: the
// recipients were judged at RCPT, and the content is the milter's.
func stateStage(state string) (scoring.Stage, bool) {
	switch strings.ToUpper(state) {
	case "CONNECT":
		return scoring.StageConnect, true
	case "EHLO", "HELO":
		return scoring.StageHelo, true
	case "MAIL":
		return scoring.StageMail, true
	case "RCPT", "":
		return scoring.StageRcpt, true
	case "DATA", "END-OF-MESSAGE", "BDAT":
		return scoring.StageMail, true
	}
	return 0, false // VRFY, ETRN: not ours
}

// newTransaction builds the message's transaction from its first request.
func newTransaction(req *Request, now time.Time) *scoring.Transaction {
	cl := scoring.Client{
		Name:       req.Get("client_name"),
		HELO:       req.Get("helo_name"),
		AuthUser:   req.Get("sasl_username"),
		TLS:        req.Get("encryption_protocol") != "",
		DaemonAddr: req.Get("server_address"),
	}
	if a, err := netip.ParseAddr(req.Get("client_address")); err == nil {
		cl.Addr = a.Unmap()
	}
	tx := &scoring.Transaction{
		ID:       req.Get("instance"),
		QueueID:  req.Get("queue_id"),
		Front:    scoring.FrontPolicy,
		Client:   cl,
		MailFrom: req.Get("sender"),
		Macros:   map[string]string{},
		Start:    now,
	}
	if sz := req.Get("size"); sz != "" && sz != "0" {
		tx.MailArgs = "SIZE=" + sz
	}
	return tx
}
