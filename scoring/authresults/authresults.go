// Package authresults is the modifier that writes the Authentication-Results
// header field (RFC 8601) with mailwarden's SPF, DKIM and DMARC results, and
// removes incoming Authentication-Results fields that claim our authserv-id
// (RFC 8601 5: a forged field with our id would make downstream filters and
// MUAs trust a result we never produced). Fields of other authserv-ids are
// kept.
//
// It must run first among the modifiers (before spam headers and DKIM
// signing): internal/app/wiring.go lists it first. The field is inserted at
// the top of the header, as RFC 8601 5 asks, one result per folded line:
//
//	Authentication-Results: mx.example.org;
//		spf=pass smtp.mailfrom=sender@example.com;
//		dkim=pass header.d=example.com header.s=sel header.b=AbCdEfGh;
//		dmarc=pass (p=reject dis=none) header.from=example.com
//
// Formatting and parsing use github.com/emersion/go-msgauth/authres.
//
// Config: [dmarc] authserv_id (default: [server] hostname).
package authresults

import (
	"context"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// FieldName is the header field name.
const FieldName = "Authentication-Results"

// Config of the modifier.
type Config struct {
	// AuthservID names this host in the field (RFC 8601 2.5).
	AuthservID string
}

// Modifier adds Authentication-Results.
type Modifier struct{ cfg Config }

var _ scoring.Modifier = (*Modifier)(nil)

// New returns the modifier.
func New(cfg Config) *Modifier { return &Modifier{cfg: cfg} }

// Name implements scoring.Modifier.
func (m *Modifier) Name() string { return "auth_results" }

// Modify implements scoring.Modifier.
func (m *Modifier) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if tx.Message == nil || m.cfg.AuthservID == "" {
		return nil
	}
	h := &tx.Message.Header
	// Delete from the last so the 1-based indexes stay valid.
	var idx []int
	n := 0
	for _, f := range h.Fields {
		if !strings.EqualFold(f.Name, FieldName) {
			continue
		}
		n++
		if ClaimsID(f.Value, m.cfg.AuthservID) {
			idx = append(idx, n)
		}
	}
	for i := len(idx) - 1; i >= 0; i-- {
		c.Delete(FieldName, idx[i])
	}
	value, ok := Value(m.cfg.AuthservID, tx)
	if !ok {
		return nil
	}
	c.Insert(0, FieldName, value)
	return nil
}

// ClaimsID reports whether an Authentication-Results value names authservID
// as its authserv-id (compared case-insensitively, RFC 8601 2.5). A value
// go-msgauth cannot parse is judged by the text before its first ";".
func ClaimsID(value, authservID string) bool {
	id, _, err := authres.Parse(message2Line(value))
	if err != nil || id == "" {
		id = strings.TrimSpace(mime.StripComments(strings.SplitN(message2Line(value), ";", 2)[0]))
		// "id version": the authserv-id is the first word.
		if f := strings.Fields(id); len(f) > 0 {
			id = f[0]
		}
	}
	return strings.EqualFold(strings.TrimSuffix(id, "."), strings.TrimSuffix(authservID, "."))
}

func message2Line(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	return strings.TrimSpace(strings.ReplaceAll(v, "\n", ""))
}

// Value renders the field value for a transaction's results; ok is false
// when no authentication check ran.
func Value(authservID string, tx *scoring.Transaction) (string, bool) {
	var parts []string
	if spf, ok := authresult.SPFSummaryFrom(tx.Value); ok {
		r := &authres.SPFResult{Value: authres.ResultValue(spf.Result)}
		if spf.Scope == "helo" {
			r.Helo = spf.Domain
			if spf.Identity != "" {
				r.Helo = spf.Identity
			}
		} else {
			r.From = tx.MailFrom
			if r.From == "" {
				r.From = spf.Domain
			}
		}
		parts = append(parts, format(r, ""))
	}
	if v, ok := tx.Value(authresult.KeyDKIM); ok {
		list, _ := v.([]authresult.DKIM)
		if len(list) == 0 {
			parts = append(parts, "dkim=none")
		}
		for _, d := range list {
			params := map[string]string{"header.d": d.Domain, "header.i": d.Identifier, "header.s": d.Selector,
				"header.a": d.Algorithm, "header.b": d.HeaderB}
			comment := ""
			if d.Result != authresult.DKIMPass && d.Reason != "" {
				comment = d.Reason
			}
			parts = append(parts, format(&authres.GenericResult{Method: "dkim", Value: authres.ResultValue(d.Result), Params: params}, comment))
		}
	}
	if d := authresult.DMARCFrom(tx.Value); d != nil {
		comment := ""
		if d.Published != nil {
			sp := d.Published.SP
			if sp == "" {
				sp = d.Published.P
			}
			comment = "p=" + d.Published.P + " sp=" + sp + " dis=" + string(d.Applied)
		}
		parts = append(parts, format(&authres.DMARCResult{Value: authres.ResultValue(d.Result), From: d.FromDomain}, comment))
	}
	if len(parts) == 0 {
		return "", false
	}
	return authservID + ";\r\n\t" + strings.Join(parts, ";\r\n\t"), true
}

// format renders one resinfo with go-msgauth (which quotes values as
// needed), with an optional comment after the result.
func format(r authres.Result, comment string) string {
	s := authres.Format("x", []authres.Result{r})
	s = strings.TrimSpace(strings.TrimPrefix(s, "x;"))
	if comment != "" {
		comment = strings.NewReplacer("(", "[", ")", "]", "\\", "/", "\r", " ", "\n", " ").Replace(comment)
		if len(comment) > maxComment {
			comment = comment[:maxComment]
		}
		method, rest, _ := strings.Cut(s, " ")
		s = strings.TrimSpace(method + " (" + comment + ") " + rest)
	}
	return s
}

// maxComment bounds the reason comment: error texts from DNS or the
// verifier can be long, and a header line should stay readable.
const maxComment = 80
