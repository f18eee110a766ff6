// Package spamd asks an optional SpamAssassin spamd for its opinion over the
// spamc protocol (SPAMC/1.5, "SYMBOLS" command; spamd(1p), the protocol
// description in SpamAssassin's spamd/PROTOCOL), over TCP or a unix socket.
// spamd's score joins ours as one symbol whose options are the names of the
// SpamAssassin rules that hit, so the log and X-Spam-Status show them.
//
// It is fail-open: a spamd that is down, slow or answers nonsense adds
// SPAMD_FAIL (weight 0) and the message goes on, scored by our own checks.
// Replies are validated (status line, Spam header syntax, size cap) before
// use.
//
// Symbols:
//
//	SPAMD         1.0   scaled by spamd's score times [spamd] weight
//	SPAMD_FAIL    0     spamd unreachable, timed out or answered badly
//	SPAMD_SKIPPED 0     message over [spamd] max_size, not sent
//
// Config: [spamd] enabled, address, timeout, max_size, user, weight, profiles.
package spamd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	Symbol        = "SPAMD"
	SymbolFail    = "SPAMD_FAIL"
	SymbolSkipped = "SPAMD_SKIPPED"
)

// Limits.
const (
	// MaxReply caps what we read back: a SYMBOLS reply is one line of rule
	// names (SpamAssassin's ~3000 rules at 25 bytes stay under 80 kB).
	MaxReply = 128 << 10
	// MaxRules caps the rule names kept as options.
	MaxRules = 200
	// MaxScore bounds a believable spamd score; SA's GTUBE scores 1000.
	MaxScore = 10000
)

// Config of the check.
type Config struct {
	Network, Address string // "tcp" "127.0.0.1:783" or "unix" "/run/spamd.sock"
	Timeout          time.Duration
	MaxSize          int64
	User             string
	Weight           float64
	Profiles         []scoring.Profile
	Logger           hclog.Logger
}

// Check is the spamd check.
type Check struct {
	cfg Config
	log hclog.Logger
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 500000
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Check{cfg: cfg, log: log}
}

func (c *Check) Name() string         { return "spamd" }
func (c *Check) Stage() scoring.Stage { return scoring.StageEOM }
func (c *Check) Blocking() bool       { return true }
func (c *Check) DefaultProfiles() []scoring.Profile {
	if len(c.cfg.Profiles) == 0 {
		return scoring.AllProfiles
	}
	return c.cfg.Profiles
}
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: Symbol, Weight: 1, Description: "SpamAssassin spamd score"},
		{Name: SymbolFail, Weight: 0, Description: "spamd unreachable or failed; not consulted"},
		{Name: SymbolSkipped, Weight: 0, Description: "Message too large for spamd; not sent"},
	}
}

// Reply is spamd's answer.
type Reply struct {
	Spam      bool
	Score     float64
	Threshold float64
	Rules     []string
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	if tx.Message.Size() > c.cfg.MaxSize {
		r.Add(SymbolSkipped, strconv.FormatInt(tx.Message.Size(), 10))
		return nil
	}
	msg, err := io.ReadAll(io.LimitReader(tx.Message.Reader(), c.cfg.MaxSize+1))
	if err != nil {
		r.Add(SymbolFail, "read message")
		return nil
	}
	start := time.Now()
	rep, err := c.Ask(ctx, msg)
	c.log.Debug("spamd", "qid", tx.QueueID, "ms", time.Since(start).Milliseconds(), "error", err)
	if err != nil {
		c.log.Warn("spamd failed, going on without it", "qid", tx.QueueID, "error", err)
		r.Add(SymbolFail, failReason(err))
		return nil
	}
	opts := rep.Rules
	if len(opts) > MaxRules {
		opts = opts[:MaxRules]
	}
	opts = append([]string{fmt.Sprintf("score=%.1f", rep.Score)}, opts...)
	r.AddScaled(Symbol, rep.Score*c.cfg.Weight, opts...)
	return nil
}

func failReason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// Ask sends one message to spamd with the SYMBOLS command.
func (c *Check) Ask(ctx context.Context, msg []byte) (*Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.cfg.Network, c.cfg.Address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection if the context ends first (cancelled session).
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var req bytes.Buffer
	req.WriteString("SYMBOLS SPAMC/1.5\r\n")
	fmt.Fprintf(&req, "Content-length: %d\r\n", len(msg))
	if c.cfg.User != "" {
		fmt.Fprintf(&req, "User: %s\r\n", sanitizeUser(c.cfg.User))
	}
	req.WriteString("\r\n")
	req.Write(msg)
	if _, err := conn.Write(req.Bytes()); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("spamd: %w", ctx.Err())
		}
		return nil, fmt.Errorf("spamd: send: %w", err)
	}
	// Half-close so spamd knows we are done (spamc does the same).
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	rep, err := ParseReply(io.LimitReader(conn, MaxReply))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("spamd: %w", ctx.Err())
	}
	return rep, err
}

func sanitizeUser(u string) string {
	return strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return -1
		}
		return r
	}, u)
}

// ParseReply parses and validates a SYMBOLS reply.
func ParseReply(r io.Reader) (*Reply, error) {
	br := bufio.NewReader(r)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("spamd: no status line: %w", err)
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SPAMD/") {
		return nil, fmt.Errorf("spamd: bad status line %q", trunc(status))
	}
	if f[1] != "0" {
		return nil, fmt.Errorf("spamd: error %s", strings.Join(f[1:], " "))
	}
	rep := &Reply{}
	sawSpam := false
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil && !sawSpam {
				return nil, fmt.Errorf("spamd: reply ends before the headers do")
			}
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("spamd: bad header line %q", trunc(line))
		}
		if strings.EqualFold(strings.TrimSpace(k), "Spam") {
			if err := parseSpam(strings.TrimSpace(v), rep); err != nil {
				return nil, err
			}
			sawSpam = true
		}
		if err != nil {
			break
		}
	}
	if !sawSpam {
		return nil, fmt.Errorf("spamd: reply without a Spam header")
	}
	body, _ := io.ReadAll(br)
	for _, name := range strings.Split(strings.TrimSpace(string(body)), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !validRuleName(name) {
			return nil, fmt.Errorf("spamd: bad rule name %q", trunc(name))
		}
		rep.Rules = append(rep.Rules, name)
	}
	return rep, nil
}

// parseSpam parses "True ; 15.0 / 5.0".
func parseSpam(v string, rep *Reply) error {
	flag, rest, ok := strings.Cut(v, ";")
	if !ok {
		return fmt.Errorf("spamd: bad Spam header %q", trunc(v))
	}
	switch strings.ToLower(strings.TrimSpace(flag)) {
	case "true", "yes":
		rep.Spam = true
	case "false", "no":
	default:
		return fmt.Errorf("spamd: bad Spam flag %q", trunc(flag))
	}
	s, t, ok := strings.Cut(rest, "/")
	if !ok {
		return fmt.Errorf("spamd: bad Spam header %q", trunc(v))
	}
	score, err1 := strconv.ParseFloat(strings.TrimSpace(s), 64)
	thr, err2 := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err1 != nil || err2 != nil || score != score || score > MaxScore || score < -MaxScore {
		return fmt.Errorf("spamd: bad score in %q", trunc(v))
	}
	rep.Score, rep.Threshold = score, thr
	return nil
}

func validRuleName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
