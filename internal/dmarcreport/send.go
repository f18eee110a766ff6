package dmarcreport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

// Message renders the report mail (RFC 7489 7.2.1.1): a short text part and
// the gzipped report as an application/gzip attachment.
func Message(meta Meta, rep *Report, gz []byte, to []string, now time.Time) []byte {
	var b bytes.Buffer
	boundary := "mw-" + randomHex(12)
	id := rep.Feedback.ReportMetadata.ReportID
	fmt.Fprintf(&b, "From: %s\r\n", meta.Email)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n", rep.Domain, meta.Receiver, id)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%s@%s>\r\n", randomHex(8), "dmarc", meta.Receiver)
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is a DMARC aggregate report for %s from %s\r\ncovering %s to %s (UTC): %d messages in %d records.\r\n\r\n",
		rep.Domain, meta.OrgName, rep.Begin.Format(time.RFC3339), rep.End.Format(time.RFC3339), rep.Messages, rep.Rows)
	name := rep.FileName(meta.Receiver)
	fmt.Fprintf(&b, "--%s\r\n", boundary)
	fmt.Fprintf(&b, "Content-Type: application/gzip; name=%q\r\n", name)
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	fmt.Fprintf(&b, "Content-Disposition: %s\r\n\r\n", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// SMTPTimeout bounds one report delivery to the local MTA.
const SMTPTimeout = 60 * time.Second

// Send hands a message to the MTA at addr (host:port) by plain SMTP: the
// local MTA needs no TLS on loopback, and its certificate would not verify.
func Send(ctx context.Context, addr, from string, to []string, msg []byte) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(SMTPTimeout))
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Destination is one rua address and whether a report may go there.
type Destination struct {
	URI     string
	Address string
	MaxSize int64
	OK      bool
	Why     string // when not OK
}

// Destinations checks a report's rua URIs: mailto: only, and an address
// outside the policy domain's organizational domain only when the external
// destination authorizes it (RFC 7489 7.1).
func Destinations(ctx context.Context, res dmarc.TXTResolver, list dmarc.SuffixList, domain string, rua []string) []Destination {
	var out []Destination
	for _, raw := range rua {
		d := Destination{URI: raw}
		u, err := dmarc.ParseURI(raw)
		switch {
		case err != nil:
			d.Why = err.Error()
		case u.Scheme != "mailto":
			d.Why = "only mailto: URIs are supported"
		default:
			d.Address, d.MaxSize = u.Address, u.MaxSize
			rdomain := strings.ToLower(d.Address[strings.LastIndexByte(d.Address, '@')+1:])
			if dmarc.Aligned(list, rdomain, domain, dmarc.Relaxed) {
				d.OK = true
				break
			}
			ok, err := externalOK(ctx, res, domain, rdomain)
			switch {
			case err != nil:
				d.Why = "external destination check failed: " + err.Error()
			case !ok:
				d.Why = fmt.Sprintf("%s._report._dmarc.%s does not authorize reports for %s", domain, rdomain, domain)
			default:
				d.OK = true
			}
		}
		out = append(out, d)
	}
	return out
}

// externalOK looks up <domain>._report._dmarc.<rdomain> TXT v=DMARC1.
func externalOK(ctx context.Context, res dmarc.TXTResolver, domain, rdomain string) (bool, error) {
	if res == nil {
		return false, errors.New("no resolver")
	}
	txts, err := res.LookupTXT(ctx, domain+"._report._dmarc."+rdomain)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return false, nil
		}
		return false, err
	}
	for _, t := range txts {
		if dmarc.IsDMARCRecord(t) {
			return true, nil
		}
	}
	return false, nil
}
