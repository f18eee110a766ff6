package scoring

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Client is what the front-end knows about the SMTP client.
type Client struct {
	Addr       netip.Addr // zero when unknown (e.g. local submission)
	Name       string     // verified reverse name, "unknown" when none
	HELO       string
	AuthUser   string // SASL login name, "" when not authenticated
	TLS        bool
	DaemonName string // Postfix {daemon_name} / Sendmail daemon name
	DaemonAddr string // the MTA's listening address
}

// Front-ends, as Transaction.Front names them.
const (
	FrontMilter = "milter" // milter/ (Postfix smtpd_milters, Sendmail)
	FrontPolicy = "policy" // policy/ (Postfix check_policy_service)
	FrontCheck  = "check"  // mailwarden check (offline)
)

// Transaction is one message attempt as a front-end sees it. Front-ends fill
// the fields; checks read them and write only through Result and Values.
type Transaction struct {
	ID      string // mailwarden's id, known before the queue id
	QueueID string // MTA queue id (Postfix: from DATA on)
	Front   string // FrontMilter, FrontPolicy or FrontCheck
	Client  Client
	Profile Profile
	// LocalNetworks are the networks the engine counts as ours
	// (profiles.local_networks), set with Profile by Engine.Classify: checks
	// that read the hops of mail judged after it arrived pass over them.
	LocalNetworks []netip.Prefix
	// NonSMTP marks mail submitted locally through sendmail(1) (Postfix
	// non_smtpd_milters): it must never be rejected or tempfailed at RCPT.
	NonSMTP bool

	MailFrom string   // envelope sender without angle brackets, "" for <>
	MailArgs string   // ESMTP arguments of MAIL FROM
	Rcpts    []string // accepted recipients so far
	Rcpt     string   // the recipient being judged during StageRcpt

	Macros  map[string]string
	Message *message.Message // header from StageHeaders, body at StageEOM; nil in the policy path

	Start time.Time

	mu          sync.Mutex
	values      map[string]any
	symbols     []Symbol
	forced      *Forced
	whitelisted bool

	connSymbols     []Symbol
	connForced      *Forced
	connWhitelisted bool
}

// Forced is an action a check forced, with the reply and a reason for the log.
type Forced struct {
	Action Action
	Reply  Reply
	Check  string
	Reason string
}

// SenderDomain returns the domain of the envelope sender, lower-cased.
func (tx *Transaction) SenderDomain() string { return DomainOf(tx.MailFrom) }

// DomainOf returns the lower-cased domain part of an address.
func DomainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}

// SetValue stores a result for later checks (e.g. SPF's result for DMARC).
// Keys are namespaced by the check that writes them: "spf.result".
func (tx *Transaction) SetValue(key string, v any) {
	tx.mu.Lock()
	if tx.values == nil {
		tx.values = make(map[string]any)
	}
	tx.values[key] = v
	tx.mu.Unlock()
}

// Value returns a stored result.
func (tx *Transaction) Value(key string) (any, bool) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	v, ok := tx.values[key]
	return v, ok
}

// Symbols returns a copy of the symbols gathered so far.
func (tx *Transaction) Symbols() []Symbol {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return append([]Symbol(nil), tx.symbols...)
}

// HasSymbol reports whether a symbol has been added.
func (tx *Transaction) HasSymbol(name string) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for _, s := range tx.symbols {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Forced returns the most severe forced action so far, or nil.
func (tx *Transaction) Forced() *Forced {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.forced
}

// merge adds a stage's outcome to the message: symbols are de-duplicated by
// name (the first occurrence is kept), and the more severe forced action wins.
func (tx *Transaction) merge(o *Outcome) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for _, s := range o.Symbols {
		dup := false
		for _, have := range tx.symbols {
			if have.Name == s.Name {
				dup = true
				break
			}
		}
		if !dup {
			tx.symbols = append(tx.symbols, s)
		}
	}
	if o.Forced != nil && (tx.forced == nil || o.Forced.Action > tx.forced.Action) {
		f := *o.Forced
		tx.forced = &f
	}
	if o.Whitelist {
		tx.whitelisted = true
	}
}

// NextMessage returns a new transaction for the next message on the same
// SMTP connection: it carries the client data, the macros and what the
// connect and helo stages found, and nothing of the previous message.
func (tx *Transaction) NextMessage() *Transaction {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	macros := make(map[string]string, len(tx.Macros))
	for k, v := range tx.Macros {
		macros[k] = v
	}
	n := &Transaction{
		Front:       tx.Front,
		Client:      tx.Client,
		Profile:     tx.Profile,
		NonSMTP:     tx.NonSMTP,
		Macros:      macros,
		connSymbols: tx.connSymbols,
		connForced:  tx.connForced,
		whitelisted: tx.connWhitelisted,
	}
	n.connWhitelisted = tx.connWhitelisted
	n.symbols = append(n.symbols, tx.connSymbols...)
	n.forced = tx.connForced
	return n
}

// markConnectionDone records the connection-level state (after the connect
// and helo stages) that NextMessage carries over.
func (tx *Transaction) markConnectionDone() {
	tx.mu.Lock()
	tx.connSymbols = append([]Symbol(nil), tx.symbols...)
	tx.connForced = tx.forced
	tx.connWhitelisted = tx.whitelisted
	tx.mu.Unlock()
}

// Whitelisted reports whether a check whitelisted this message (the rest of
// the checks are skipped, but for those that always run).
func (tx *Transaction) Whitelisted() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.whitelisted
}

// AcceptRcpt records a recipient as accepted and merges what the rcpt stage
// found for it into the message.
func (tx *Transaction) AcceptRcpt(rcpt string, o *Outcome) {
	tx.mu.Lock()
	tx.Rcpts = append(tx.Rcpts, rcpt)
	tx.mu.Unlock()
	if o != nil {
		tx.merge(o)
	}
}

// memoEntry computes a shared per-message value once.
type memoEntry struct {
	once sync.Once
	v    any
}

// Memo returns the value stored under key, computing it with f the first
// time. Concurrent callers wait for the one computation. Use it for work
// several checks share, such as the decoded MIME structure ("mime.parsed").
func (tx *Transaction) Memo(key string, f func() any) any {
	tx.mu.Lock()
	if tx.values == nil {
		tx.values = make(map[string]any)
	}
	e, ok := tx.values["memo:"+key].(*memoEntry)
	if !ok {
		e = &memoEntry{}
		tx.values["memo:"+key] = e
	}
	tx.mu.Unlock()
	e.once.Do(func() { e.v = f() })
	return e.v
}
