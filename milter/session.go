package milter

import (
	"context"
	"fmt"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

var sessionSeq atomic.Uint64

// session handles one MTA connection (one SMTP connection, or several when
// the MTA reuses it).
type session struct {
	srv *Server
	id  uint64
	msg int // messages begun on this connection

	// conn holds the connection-level data; tx is the message in progress.
	conn   *scoring.Transaction
	tx     *scoring.Transaction
	engine *scoring.Engine
	// connDone is set once the connect and helo stages ran.
	connDone bool
	// rcptObserved is set once a recipient refusal of the current message
	// was given to the observers.
	rcptObserved bool
}

var _ gomilter.Milter = (*session)(nil)

func newSession(s *Server) *session {
	return &session{srv: s, id: sessionSeq.Add(1)}
}

// guard runs a callback, turning a panic into the configured reply.
func (s *session) guard(what string, f func() (*gomilter.Response, error)) (resp *gomilter.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			qid := ""
			if s.tx != nil {
				qid = s.tx.QueueID
			}
			s.srv.log.Error("milter session panicked", "callback", what, "qid", qid, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = replyFor(s.srv.opts.OnPanic, scoring.DefaultReply(s.srv.opts.OnPanic)), nil
			s.endMessage()
		}
	}()
	return f()
}

func (s *session) NewConnection(m gomilter.Modifier) error {
	s.endMessage()
	s.conn, s.tx, s.engine, s.connDone, s.msg = nil, nil, nil, false, 0
	return nil
}

func (s *session) Connect(host string, family string, port uint16, addr string, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("connect", func() (*gomilter.Response, error) {
		tx := &scoring.Transaction{Front: scoring.FrontMilter, Macros: map[string]string{}}
		if a, err := netip.ParseAddr(addr); err == nil {
			tx.Client.Addr = a.Unmap()
		} else if a, err := netip.ParseAddr(m.Get(gomilter.MacroClientAddr)); err == nil {
			tx.Client.Addr = a.Unmap()
		}
		tx.Client.Name = host
		if n := m.Get(gomilter.MacroClientName); n != "" {
			tx.Client.Name = n
		}
		tx.Client.DaemonName = m.Get(gomilter.MacroDaemonName)
		tx.Client.DaemonAddr = m.Get(gomilter.MacroDaemonAddr)
		copyMacros(tx, m, gomilter.MacroMTAFQDN, gomilter.MacroDaemonName, gomilter.MacroDaemonAddr)
		// Postfix non_smtpd_milters (sendmail(1) via pickup): cleanup emulates
		// a connect from "localhost" [127.0.0.1] port 0 (cleanup_milter.c,
		// cleanup_milter_client_init); an SMTP client always has a port.
		tx.NonSMTP = port == 0 && host == "localhost" && tx.Client.Addr.IsLoopback()
		s.conn = tx
		s.connDone = false
		return gomilter.RespContinue, nil
	})
}

func (s *session) Helo(name string, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("helo", func() (*gomilter.Response, error) {
		s.ensureConn()
		s.conn.Client.HELO = name
		s.conn.Client.TLS = m.Get(gomilter.MacroTlsVersion) != ""
		return gomilter.RespContinue, nil
	})
}

func (s *session) ensureConn() {
	if s.conn == nil {
		s.conn = &scoring.Transaction{Front: scoring.FrontMilter, Macros: map[string]string{}}
	}
}

func (s *session) MailFrom(from string, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("mail", func() (*gomilter.Response, error) {
		s.ensureConn()
		s.endMessage()
		// A transaction takes the engine in force when it starts and keeps it.
		s.engine = s.srv.engines.Load()
		ctx := context.Background()
		if auth := m.Get(gomilter.MacroAuthAuthen); auth != "" {
			s.conn.Client.AuthUser = auth
		}
		if d := m.Get(gomilter.MacroDaemonName); d != "" {
			s.conn.Client.DaemonName = d
		}
		if !s.connDone {
			// First message: run the connection stages now that the client's
			// authentication (and so its profile) is known.
			s.engine.Classify(s.conn)
			s.conn.Start = time.Now()
			for _, st := range []scoring.Stage{scoring.StageConnect, scoring.StageHelo} {
				s.engine.RunStage(ctx, st, s.conn)
			}
			s.connDone = true
		}
		s.msg++
		s.rcptObserved = false
		tx := s.conn.NextMessage()
		tx.Client = s.conn.Client
		s.engine.Classify(tx)
		tx.ID = strconv.FormatUint(s.id, 36) + "." + strconv.Itoa(s.msg)
		tx.Start = time.Now()
		tx.MailFrom = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(from), "<"), ">")
		tx.MailArgs = esmtpArgs
		tx.QueueID = m.Get(gomilter.MacroQueueId)
		s.tx = tx
		if f := tx.Forced(); f != nil && f.Action >= scoring.Tempfail {
			// A connect/helo check refused the client; say so at the first
			// command that can carry a reply.
			s.logSummary(s.engine.Verdict(tx))
			return s.refuse(f.Action, f.Reply, "connect/helo")
		}
		o := s.engine.RunStage(ctx, scoring.StageMail, tx)
		if o.Forced != nil && o.Forced.Action >= scoring.Tempfail {
			s.logSummary(s.engine.Verdict(tx))
			return s.refuse(o.Forced.Action, o.Forced.Reply, "mail")
		}
		return gomilter.RespContinue, nil
	})
}

func (s *session) RcptTo(rcptTo string, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("rcpt", func() (*gomilter.Response, error) {
		if s.tx == nil {
			return gomilter.RespContinue, nil
		}
		rcpt := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(rcptTo), "<"), ">")
		s.tx.Rcpt = rcpt
		o := s.engine.RunStage(context.Background(), scoring.StageRcpt, s.tx)
		s.tx.Rcpt = ""
		if o.Forced != nil && o.Forced.Action >= scoring.Tempfail {
			s.srv.log.Info("recipient refused", "qid", s.tx.QueueID, "client", s.tx.Client.Addr.String(), "from", "<"+s.tx.MailFrom+">",
				"rcpt", rcpt, "check", o.Forced.Check, "reason", o.Forced.Reason)
			if !s.rcptObserved {
				// Statistics, metrics and karma see a refusal at RCPT once
				// per message, with the refusing check's findings.
				s.rcptObserved = true
				v := s.engine.Verdict(s.tx)
				v.Action, v.Reply, v.Forced, v.Reason = o.Forced.Action, o.Forced.Reply, o.Forced, o.Forced.Check+": "+o.Forced.Reason
				v.Symbols = append(v.Symbols, o.Symbols...)
				s.engine.Observe(context.Background(), s.tx, v)
			}
			// Refuse this recipient only; the transaction goes on.
			return replyFor(o.Forced.Action, o.Forced.Reply), nil
		}
		s.tx.AcceptRcpt(rcpt, o)
		return gomilter.RespContinue, nil
	})
}

func (s *session) Data(m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("data", func() (*gomilter.Response, error) {
		if s.tx != nil {
			if q := m.Get(gomilter.MacroQueueId); q != "" {
				s.tx.QueueID = q
			}
			s.tx.Message = message.New(s.srv.opts.SpoolThreshold, s.srv.opts.SpoolDir)
		}
		return gomilter.RespContinue, nil
	})
}

func (s *session) Header(name string, value string, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("header", func() (*gomilter.Response, error) {
		if s.tx == nil {
			return gomilter.RespContinue, nil
		}
		if s.tx.Message == nil {
			s.tx.Message = message.New(s.srv.opts.SpoolThreshold, s.srv.opts.SpoolDir)
		}
		s.tx.Message.AddField(name, toCRLF(value))
		return gomilter.RespContinue, nil
	})
}

func (s *session) Headers(m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("eoh", func() (*gomilter.Response, error) {
		if s.tx == nil {
			return gomilter.RespContinue, nil
		}
		if q := m.Get(gomilter.MacroQueueId); q != "" {
			s.tx.QueueID = q
		}
		if s.tx.Message == nil {
			s.tx.Message = message.New(s.srv.opts.SpoolThreshold, s.srv.opts.SpoolDir)
		}
		o := s.engine.RunStage(context.Background(), scoring.StageHeaders, s.tx)
		if o.Forced != nil && o.Forced.Action >= scoring.Tempfail {
			v := s.engine.Verdict(s.tx)
			s.logSummary(v)
			return s.refuse(v.Action, v.Reply, "headers")
		}
		return gomilter.RespContinue, nil
	})
}

func (s *session) BodyChunk(chunk []byte, m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("body", func() (*gomilter.Response, error) {
		if s.tx == nil || s.tx.Message == nil {
			return gomilter.RespContinue, nil
		}
		if _, err := s.tx.Message.Body.Write(chunk); err != nil {
			// Cannot keep the body: never accept what we could not see.
			s.srv.log.Error("cannot spool body", "qid", s.tx.QueueID, "error", err)
			s.tx.SetValue("milter.spool_error", err.Error())
		}
		return gomilter.RespContinue, nil
	})
}

func (s *session) EndOfMessage(m gomilter.Modifier) (*gomilter.Response, error) {
	return s.guard("eom", func() (*gomilter.Response, error) {
		if s.tx == nil {
			return gomilter.RespContinue, nil
		}
		defer s.endMessage()
		tx := s.tx
		if q := m.Get(gomilter.MacroQueueId); q != "" {
			tx.QueueID = q
		}
		if tx.Message == nil {
			tx.Message = message.New(s.srv.opts.SpoolThreshold, s.srv.opts.SpoolDir)
		}
		if e, ok := tx.Value("milter.spool_error"); ok {
			s.srv.log.Error("tempfailing message whose body could not be stored", "qid", tx.QueueID, "error", e)
			return s.refuse(scoring.Tempfail, scoring.DefaultReply(scoring.Tempfail), "spool")
		}
		ctx := context.Background()
		s.engine.RunStage(ctx, scoring.StageEOM, tx)
		v := s.engine.Verdict(tx)
		switch v.Action {
		case scoring.Reject, scoring.Tempfail:
			s.logSummary(v)
			return replyFor(v.Action, v.Reply), nil
		case scoring.Discard:
			s.logSummary(v)
			return gomilter.RespDiscard, nil
		}
		ch := s.engine.Modify(ctx, tx, v)
		if err := apply(m, ch); err != nil {
			// The MTA connection is broken; it will apply its default action.
			s.srv.log.Error("applying modifications failed", "qid", tx.QueueID, "error", err)
			return nil, err
		}
		s.logSummary(v)
		return gomilter.RespAccept, nil
	})
}

func (s *session) Abort(m gomilter.Modifier) error {
	s.endMessage()
	return nil
}

func (s *session) Unknown(cmd string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) Cleanup(m gomilter.Modifier) { s.endMessage() }

// endMessage releases the message in progress.
func (s *session) endMessage() {
	if s.tx != nil && s.tx.Message != nil {
		s.tx.Message.Close()
	}
	s.tx = nil
}

// refuse ends the message with a reject or tempfail.
func (s *session) refuse(a scoring.Action, r scoring.Reply, stage string) (*gomilter.Response, error) {
	return replyFor(a, r), nil
}

func (s *session) logSummary(v *scoring.Verdict) {
	fields := scoring.SummaryFields(s.tx, v)
	fields = append(fields, "ms", time.Since(s.tx.Start).Milliseconds())
	s.srv.log.Info("message", fields...)
	// Checks that learn from outcomes (karma) see every final verdict.
	s.engine.Observe(context.Background(), s.tx, v)
}

// replyFor maps an action and reply to a milter response.
func replyFor(a scoring.Action, r scoring.Reply) *gomilter.Response {
	switch a {
	case scoring.Reject, scoring.Tempfail:
		if r.Code == 0 {
			r = scoring.DefaultReply(a)
		}
		text := r.Text
		if r.Enhanced != "" {
			text = r.Enhanced + " " + text
		}
		resp, err := gomilter.RejectWithCodeAndReason(uint16(r.Code), text)
		if err != nil {
			if a == scoring.Reject {
				return gomilter.RespReject
			}
			return gomilter.RespTempFail
		}
		return resp
	case scoring.Discard:
		return gomilter.RespDiscard
	}
	return gomilter.RespContinue
}

// leadSpace gives a header value its leading space. We negotiate
// SMFIP_HDR_LEADSPC, so the MTA (Sendmail and Postfix alike) writes values we
// send verbatim after the colon: without it "X-Spam-Flag: YES" would leave as
// "X-Spam-Flag:YES". Values that start with a space or tab are kept, and an
// empty value (deletion, for ChangeHeader) stays empty. This is the same rule
// Changes.ApplyHeaders uses for the header DKIM signs.
func leadSpace(v string) string {
	if v != "" && v[0] != ' ' && v[0] != '\t' {
		return " " + v
	}
	return v
}

// apply sends the modifications to the MTA (only legal at end of message).
func apply(m gomilter.Modifier, c *scoring.Changes) error {
	for _, h := range c.Headers {
		var err error
		switch h.Op {
		case scoring.AddHeader:
			err = m.AddHeader(h.Name, leadSpace(h.Value))
		case scoring.InsertHeader:
			err = m.InsertHeader(h.Index, h.Name, leadSpace(h.Value))
		case scoring.ChangeHeader:
			err = m.ChangeHeader(h.Index, h.Name, leadSpace(h.Value))
		}
		if err != nil {
			return fmt.Errorf("header %s: %w", h.Name, err)
		}
	}
	for _, r := range c.DelRcpts {
		if err := m.DeleteRecipient(r); err != nil {
			return fmt.Errorf("delete recipient: %w", err)
		}
	}
	for _, r := range c.AddRcpts {
		if err := m.AddRecipient(r, ""); err != nil {
			return fmt.Errorf("add recipient: %w", err)
		}
	}
	if c.NewBody != nil {
		if err := m.ReplaceBody(c.NewBody); err != nil {
			return fmt.Errorf("replace body: %w", err)
		}
	}
	if c.Quarantine != "" {
		if err := m.Quarantine(c.Quarantine); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	return nil
}

func copyMacros(tx *scoring.Transaction, m gomilter.Modifier, names ...string) {
	for _, n := range names {
		if v := m.Get(n); v != "" {
			tx.Macros[n] = v
		}
	}
}

// toCRLF turns the bare LF line breaks of folded header values (as Postfix
// and Sendmail send them) into CRLF.
func toCRLF(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	v = strings.ReplaceAll(v, "\r\n", "\n")
	return strings.ReplaceAll(v, "\n", "\r\n")
}
