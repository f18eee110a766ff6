// Package dkimsign signs outbound mail with DKIM (RFC 6376), RSA-SHA256 and
// Ed25519-SHA256 (RFC 8463), relaxed/relaxed canonicalization, using
// github.com/emersion/go-msgauth/dkim. It is the modifier SME's qpsmtpd
// DKIMSigning setting corresponds to.
//
// What is signed: mail from the outbound profiles (local networks,
// authenticated clients, the submission service) and mail submitted with
// sendmail(1) (Postfix non_smtpd_milters), whose single From address is in a
// domain we sign for. For an authenticated client, the From domain (or
// address) must also be one the SASL login may send as ([dkim.senders], else
// [dkim] unlisted_users): one user cannot get mail for another domain signed.
//
// The signature covers the message as it leaves: the header changes the
// earlier modifiers made (spam headers, subject tag) and the disclaimer's new
// body are applied first (scoring.Changes.ApplyHeaders, BodyReader). The
// DKIM-Signature field is inserted at the top. This modifier must run after
// every modifier that changes signed content and before none that does.
//
// Keys come from internal/dkimkeys (SME layout: KEYS_DIR/DOMAIN/selector +
// private, KEYS_DIR/default as fallback) and [dkim.domain.NAME] overrides;
// they are loaded when the engine is built (start and reload), never per
// message.
//
// Every outbound message gets a tx value "dkim.sign" for the summary log:
// "signed d=example.com s=nov2026" or why not ("no key for domain
// example.org", "signing disabled", "signing disabled for domain example.org",
// "From domain example.org not allowed for user alice", ...).
//
// Config keys ([dkim]): signing, keys_dir, domains, headers, oversign,
// unlisted_users, senders, domain.NAME.{signing,selector,key_file,
// ed25519_selector,ed25519_key_file}. No symbols: a modifier does not score.
package dkimsign

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// ValueKey is the transaction value holding the signing outcome.
const ValueKey = "dkim.sign"

// MaxSignatures bounds the signatures added to one message (RSA + Ed25519).
const MaxSignatures = 2

// Unlisted says what an authenticated user without a Senders entry may sign.
type Unlisted string

const (
	UnlistedLoginDomain Unlisted = "login_domain"
	UnlistedAny         Unlisted = "any"
	UnlistedNone        Unlisted = "none"
)

// DomainPolicy is a per-domain override.
type DomainPolicy struct {
	Disabled bool
	// Keys replace the layout's keys for the domain when not empty.
	Keys []*dkimkeys.Key
}

// Config of the signer.
type Config struct {
	Enabled bool
	Keys    *dkimkeys.Set
	// Domains we sign for (lower case). Empty: those with their own keys.
	Domains  []string
	Policies map[string]DomainPolicy
	Headers  []string
	Oversign []string
	Unlisted Unlisted
	// Senders maps a SASL login to domains or addresses (lower case).
	Senders map[string][]string
	Logger  hclog.Logger
}

// Signer is the modifier.
type Signer struct {
	cfg     Config
	domains map[string]bool
	log     hclog.Logger
}

var _ scoring.Modifier = (*Signer)(nil)

// New returns the modifier.
func New(cfg Config) *Signer {
	s := &Signer{cfg: cfg, domains: map[string]bool{}, log: cfg.Logger}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if len(cfg.Headers) == 0 {
		s.cfg.Headers = []string{"From", "Subject", "Date", "To", "Cc", "Message-ID", "MIME-Version", "Content-Type"}
	}
	for _, d := range cfg.Domains {
		s.domains[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	if len(cfg.Domains) == 0 {
		if cfg.Keys != nil {
			for d := range cfg.Keys.Domains {
				s.domains[d] = true
			}
		}
		for d, p := range cfg.Policies {
			if len(p.Keys) > 0 {
				s.domains[d] = true
			}
		}
	}
	return s
}

// Name implements scoring.Modifier.
func (s *Signer) Name() string { return "dkim_sign" }

// Outbound reports whether a transaction is outgoing mail.
func Outbound(tx *scoring.Transaction) bool { return tx.NonSMTP || tx.Profile.Outbound() }

// Modify implements scoring.Modifier.
func (s *Signer) Modify(ctx context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if tx.Message == nil || !Outbound(tx) {
		return nil
	}
	if !s.cfg.Enabled {
		tx.SetValue(ValueKey, "not signed: signing disabled")
		return nil
	}
	if tx.Message.HeaderTruncated {
		// We did not keep every field: a signature over what we kept would
		// not verify against what the MTA sends.
		tx.SetValue(ValueKey, "not signed: header too large to sign")
		return nil
	}
	hdr := c.ApplyHeaders(tx.Message.Header)
	keys, domain, why := s.decide(tx, &hdr)
	if why != "" {
		tx.SetValue(ValueKey, "not signed: "+why)
		s.log.Debug("not signing", "qid", tx.QueueID, "reason", why)
		return nil
	}
	body, err := c.BodyReader(tx.Message.BodyReader())
	if err != nil {
		tx.SetValue(ValueKey, "not signed: "+err.Error())
		return err
	}
	sigs, err := Sign(hdr, body, domain, keys, s.headerKeys(&hdr))
	if err != nil {
		tx.SetValue(ValueKey, "not signed: "+err.Error())
		return err
	}
	// Insert in reverse so the first key's signature ends on top.
	for i := len(sigs) - 1; i >= 0; i-- {
		c.Insert(0, "DKIM-Signature", sigs[i])
	}
	var sels []string
	for _, k := range keys {
		sels = append(sels, k.Selector)
	}
	tx.SetValue(ValueKey, fmt.Sprintf("signed d=%s s=%s", domain, strings.Join(sels, ",")))
	return nil
}

// decide picks the keys for a message, or says why it is not signed.
func (s *Signer) decide(tx *scoring.Transaction, h *message.Header) (keys []*dkimkeys.Key, domain, why string) {
	if n := h.Count("From"); n != 1 {
		return nil, "", fmt.Sprintf("message has %d From fields (RFC 5322 requires one)", n)
	}
	addr, err := fromAddress(h.Get("From"))
	if err != nil {
		return nil, "", "unparsable From: " + err.Error()
	}
	domain = scoring.DomainOf(addr)
	if domain == "" {
		return nil, "", "From address has no domain"
	}
	p, hasPolicy := s.cfg.Policies[domain]
	if hasPolicy && p.Disabled {
		return nil, domain, "signing disabled for domain " + domain
	}
	keys, own := s.cfg.Keys.Lookup(domain)
	if hasPolicy && len(p.Keys) > 0 {
		keys, own = p.Keys, true
	}
	if !s.domains[domain] && !(own && len(s.cfg.Domains) == 0) {
		return nil, domain, "From domain " + domain + " is not one we sign for"
	}
	if len(keys) == 0 {
		return nil, domain, "no key for domain " + domain
	}
	if user := tx.Client.AuthUser; user != "" && !s.userMay(user, addr, domain) {
		return nil, domain, fmt.Sprintf("From domain %s not allowed for user %s", domain, user)
	}
	if len(keys) > MaxSignatures {
		keys = keys[:MaxSignatures]
	}
	return keys, domain, ""
}

// userMay reports whether a SASL login may send as addr (in domain).
func (s *Signer) userMay(user, addr, domain string) bool {
	allowed, listed := s.cfg.Senders[strings.ToLower(user)]
	if !listed {
		switch s.cfg.Unlisted {
		case UnlistedAny:
			return true
		case UnlistedNone:
			return false
		default:
			return scoring.DomainOf(user) == domain
		}
	}
	for _, a := range allowed {
		a = strings.ToLower(a)
		if strings.Contains(a, "@") {
			if a == strings.ToLower(addr) {
				return true
			}
		} else if strings.TrimSuffix(a, ".") == domain {
			return true
		}
	}
	return false
}

// addressParser accepts display names in any charset: only the address
// matters here, and net/mail alone knows three charsets (a From such as
// "=?iso-2022-jp?B?...?= <a@example.com>" would otherwise go unsigned).
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// fromAddress returns the single author address of a From value.
func fromAddress(v string) (string, error) {
	list, err := addressParser.ParseList(v)
	if err != nil {
		return "", err
	}
	if len(list) != 1 {
		// RFC 5322 3.6.2 allows several authors only with a Sender; whose
		// domain signs is then ambiguous: do not sign.
		return "", fmt.Errorf("%d author addresses", len(list))
	}
	return list[0].Address, nil
}

// headerKeys lists the present signed fields, bottom-up duplicates included,
// plus one more instance of each oversigned field (RFC 6376 5.4.2, 8.15).
func (s *Signer) headerKeys(h *message.Header) []string {
	var out []string
	for _, name := range s.cfg.Headers {
		for i := h.Count(name); i > 0; i-- {
			out = append(out, name)
		}
	}
	for _, name := range s.cfg.Oversign {
		out = append(out, name)
	}
	return out
}

// Sign computes one DKIM-Signature value per key over the header fields and
// body given (body read once, shared by all signers). It returns the field
// values without the "DKIM-Signature:" name, folded with CRLF.
func Sign(h message.Header, body io.Reader, domain string, keys []*dkimkeys.Key, headerKeys []string) ([]string, error) {
	signers := make([]*dkim.Signer, 0, len(keys))
	closeAll := func() {
		for _, sg := range signers {
			sg.Close()
		}
	}
	writers := make([]io.Writer, 0, len(keys))
	for _, k := range keys {
		sg, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 domain,
			Selector:               k.Selector,
			Signer:                 k.Signer,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             headerKeys,
		})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("dkim %s/%s: %w", domain, k.Selector, err)
		}
		signers = append(signers, sg)
		writers = append(writers, sg)
	}
	w := bufio.NewWriterSize(io.MultiWriter(writers...), 32<<10)
	for _, f := range h.Fields {
		w.WriteString(f.Raw())
	}
	w.WriteString("\r\n")
	if _, err := io.Copy(w, body); err != nil {
		closeAll()
		return nil, fmt.Errorf("dkim: read body: %w", err)
	}
	if err := w.Flush(); err != nil {
		closeAll()
		return nil, fmt.Errorf("dkim: %w", err)
	}
	out := make([]string, 0, len(signers))
	for i, sg := range signers {
		if err := sg.Close(); err != nil {
			closeAll()
			return nil, fmt.Errorf("dkim %s/%s: %w", domain, keys[i].Selector, err)
		}
		field := sg.Signature()
		v := strings.TrimPrefix(field, "DKIM-Signature:")
		out = append(out, strings.TrimSuffix(v, "\r\n"))
	}
	return out, nil
}
