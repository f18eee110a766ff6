package mailstats

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Mail builds the daily report message: multipart/alternative with the
// plain-text and the HTML report, each quoted-printable so that no line of
// the message exceeds RFC 5322's 998 octets whatever the tables hold.
func (d *Day) Mail(host, from, to string, now time.Time) ([]byte, error) {
	var text, html bytes.Buffer
	if err := d.Text(&text, host); err != nil {
		return nil, err
	}
	if err := d.HTML(&html, host); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		ctype string
		data  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.ctype)
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		// Quoted-printable keeps every line of the message within RFC 5322's
		// 998 octets (the HTML tables are one line each) and 7-bit clean.
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write(part.data); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: mailwarden <%s>\r\nTo: <%s>\r\n", from, to)
	fmt.Fprintf(&msg, "Subject: Mail statistics for %s on %s\r\n", d.Date.Format("2006-01-02"), host)
	fmt.Fprintf(&msg, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&msg, "Message-ID: <mailstats.%s.%d@%s>\r\n", d.Date.Format("20060102"), now.UnixNano(), host)
	fmt.Fprintf(&msg, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&msg, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// MaxJunkScan bounds the junk-folder count per user (a huge folder is
// reported as "at least" this many rather than walked for minutes).
const MaxJunkScan = 100000

// JunkCounts counts the messages in each user's junk folder: maildirs is a
// glob of users' Maildir directories (SME: /home/e-smith/files/users/*/Maildir),
// folder the junk folder's name (SME: junkmail, i.e. Maildir/.junkmail).
func JunkCounts(maildirs []string, folder string) []Count {
	var out []Count
	for _, g := range maildirs {
		dirs, _ := filepath.Glob(g)
		for _, md := range dirs {
			n := 0
			for _, sub := range []string{"cur", "new"} {
				ents, err := os.ReadDir(filepath.Join(md, "."+strings.TrimPrefix(folder, "."), sub))
				if err != nil {
					continue
				}
				for _, e := range ents {
					if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
						n++
					}
					if n >= MaxJunkScan {
						break
					}
				}
			}
			out = append(out, Count{Name: userOf(md), Count: int64(n)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

// userOf names the user of a maildir path (.../users/NAME/Maildir -> NAME).
func userOf(md string) string {
	p := filepath.Clean(md)
	if filepath.Base(p) == "Maildir" {
		p = filepath.Dir(p)
	}
	return filepath.Base(p)
}
