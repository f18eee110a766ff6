// Package disclaimer appends a disclaimer text to mail leaving the
// organisation, as SME Server's qpsmtpd disclaimer does: one text for every
// sender domain, or one per domain; only for mail from an internal sender
// (local networks, authenticated clients, sendmail(1)) with at least one
// external recipient (a domain outside [disclaimer] local_domains and the
// per-domain keys).
//
// The body is rewritten MIME-correctly (RFC 2045/2046): the text is appended
// to text/plain parts and inserted before </body> in text/html parts (HTML
// escaped), in each part's charset (a plain part whose charset cannot carry
// the text moves to UTF-8; HTML uses character references) and transfer
// encoding (7bit parts that need 8-bit text become quoted-printable);
// both alternatives of multipart/alternative, the main part of
// multipart/mixed and multipart/related; attachments are never touched.
// Signed and encrypted messages (multipart/signed, multipart/encrypted,
// application/pkcs7-mime: S/MIME and PGP/MIME) are left alone, as a changed
// body would break their signature.
//
// It runs before DKIM signing, which signs the new body. The outcome goes to
// the tx value "disclaimer" ("added" or why not) for the log.
//
// Config keys ([disclaimer]): enabled, text, domains.DOMAIN, local_domains.
// No symbols.
package disclaimer

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/mail"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/scoring"
)

// ValueKey is the transaction value holding the outcome.
const ValueKey = "disclaimer"

// Config of the modifier.
type Config struct {
	Enabled bool
	Text    string
	// Domains maps a sender domain (lower case) to its text.
	Domains map[string]string
	// LocalDomains: recipients there are internal.
	LocalDomains []string
	Logger       hclog.Logger
}

// Modifier adds the disclaimer.
type Modifier struct {
	cfg   Config
	local map[string]bool
	log   hclog.Logger
}

var _ scoring.Modifier = (*Modifier)(nil)

// New returns the modifier.
func New(cfg Config) *Modifier {
	m := &Modifier{cfg: cfg, local: map[string]bool{}, log: cfg.Logger}
	if m.log == nil {
		m.log = hclog.NewNullLogger()
	}
	norm := map[string]string{}
	for d, t := range cfg.Domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		norm[d] = t
		m.local[d] = true
	}
	m.cfg.Domains = norm
	for _, d := range cfg.LocalDomains {
		m.local[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	return m
}

// Name implements scoring.Modifier.
func (m *Modifier) Name() string { return "disclaimer" }

// fromParser accepts display names in any charset (only the address is used).
var fromParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// Modify implements scoring.Modifier.
func (m *Modifier) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if !m.cfg.Enabled || tx.Message == nil || !(tx.NonSMTP || tx.Profile.Outbound()) {
		return nil
	}
	external := false
	for _, r := range tx.Rcpts {
		if !m.local[scoring.DomainOf(r)] {
			external = true
			break
		}
	}
	if !external {
		tx.SetValue(ValueKey, "skipped: internal recipients only")
		return nil
	}
	h := c.ApplyHeaders(tx.Message.Header)
	domain := tx.SenderDomain()
	if list, err := fromParser.ParseList(h.Get("From")); err == nil && len(list) == 1 {
		domain = scoring.DomainOf(list[0].Address)
	}
	text, ok := m.cfg.Domains[domain]
	if !ok {
		text = m.cfg.Text
	}
	if strings.TrimSpace(text) == "" {
		tx.SetValue(ValueKey, "skipped: no text for domain "+domain)
		return nil
	}
	if c.NewBody == nil && tx.Message.Body.Size() > MaxBodySize {
		tx.SetValue(ValueKey, "skipped: "+ErrTooLarge.Error())
		return nil
	}
	src, err := c.BodyReader(tx.Message.BodyReader())
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(src, MaxBodySize+1))
	if err != nil {
		return err
	}
	res, err := Rewrite(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), body, text)
	if err != nil {
		tx.SetValue(ValueKey, "skipped: "+err.Error())
		m.log.Debug("no disclaimer", "qid", tx.QueueID, "reason", err)
		return nil
	}
	if len(res.Headers) > 0 && !h.Has("MIME-Version") {
		c.Add("MIME-Version", "1.0")
	}
	for _, hc := range res.Headers {
		if h.Has(hc.Name) {
			c.Change(hc.Name, 1, " "+hc.Value)
		} else {
			c.Add(hc.Name, hc.Value)
		}
	}
	c.NewBody = bytes.NewReader(res.Body)
	tx.SetValue(ValueKey, "added")
	return nil
}
