package mailstats

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// bigDay is a day with full recipient, virus, list and junk tables, one
// name longer than a mail line may be and one non-ASCII name.
func bigDay() *Day {
	d := &Day{Date: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), Totals: map[string]int64{}}
	for h := range d.Hourly {
		d.Hourly[h] = map[string]int64{"ham": int64(h + 1), "spam-tagged": int64(h % 3)}
		d.Totals["ham"] += int64(h + 1)
		d.Totals["spam-tagged"] += int64(h % 3)
	}
	for i := 0; i < MaxListed; i++ {
		d.Recipients = append(d.Recipients, Count{fmt.Sprintf("recipient-with-a-long-local-part-%02d@department-%02d.example.org", i, i), int64(1000 + i)})
		d.Viruses = append(d.Viruses, Count{fmt.Sprintf("Win.Trojan.Agent-%07d-%02d", 9000000+i, i), int64(200 + i)})
		d.Lists = append(d.Lists, Count{fmt.Sprintf("zen-%02d.dnsbl.example.net", i), int64(300 + i)})
		d.Junk = append(d.Junk, Count{fmt.Sprintf("user%02d", i), int64(400 + i)})
	}
	d.Recipients[1].Name = "jürgen.größe@example.org"
	d.Viruses[2].Name = "Heuristics.Phishing.Email." + strings.Repeat("SpoofedDomain.", 90) // ~1300 octets
	return d
}

func longestLine(b []byte) int {
	max := 0
	for _, l := range bytes.Split(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n")) {
		if len(l) > max {
			max = len(l)
		}
	}
	return max
}

// TestMailLineLength: whatever the tables hold, no line of the mailed report
// exceeds RFC 5322's 998 octets, and the parts decode back to the report.
func TestMailLineLength(t *testing.T) {
	d := bigDay()
	const host = "mx.example.org"
	var text, html bytes.Buffer
	if err := d.Text(&text, host); err != nil {
		t.Fatal(err)
	}
	if err := d.HTML(&html, host); err != nil {
		t.Fatal(err)
	}
	if longestLine(html.Bytes()) <= 998 || longestLine(text.Bytes()) <= 998 {
		t.Fatalf("test day too small: longest HTML line %d, text line %d; want > 998 unencoded",
			longestLine(html.Bytes()), longestLine(text.Bytes()))
	}

	msg, err := d.Mail(host, "mailwarden@"+host, "admin@example.org", time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range bytes.Split(msg, []byte("\r\n")) {
		if len(l) > 998 {
			t.Errorf("line %d is %d octets (max 998): %.80q...", i+1, len(l), l)
		}
		if bytes.IndexByte(l, '\n') >= 0 || bytes.IndexByte(l, '\r') >= 0 {
			t.Errorf("line %d has a bare CR or LF", i+1)
		}
		for _, c := range l {
			if c >= 0x80 {
				t.Errorf("line %d has 8-bit octets: %.80q", i+1, l)
				break
			}
		}
	}

	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextRawPart() // raw: check the encoding ourselves
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding %q", p.Header.Get("Content-Type"), cte)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("part %s: %v", ct, err)
		}
		got[ct] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	if got["text/plain"] != text.String() {
		t.Errorf("text part decodes to\n%s\nwant\n%s", got["text/plain"], text.String())
	}
	if got["text/html"] != html.String() {
		t.Errorf("HTML part decodes to\n%s\nwant\n%s", got["text/html"], html.String())
	}
	for _, want := range []string{`data-count="1024">1024</td>`, "jürgen.größe@example.org", d.Viruses[2].Name} {
		if !strings.Contains(got["text/html"], want) {
			t.Errorf("decoded HTML lacks %.60q", want)
		}
	}
	if c := HTMLCounts(got["text/html"]); c["total"] != int(d.Total()) || c["ham"] != int(d.Totals["ham"]) {
		t.Errorf("decoded HTML counts %v", c)
	}
	if !strings.Contains(got["text/plain"], "      1024  recipient-with-a-long-local-part-24@department-24.example.org") {
		t.Errorf("decoded text lacks the last recipient:\n%s", got["text/plain"])
	}
}
