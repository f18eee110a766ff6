package bayes

import (
	"context"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring"
)

func parse(t testing.TB, s string) *message.Message {
	t.Helper()
	m, err := message.Parse(strings.NewReader(s), 1<<20, "")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

func tokensOf(t testing.TB, tk Tokenizer, s string) []string {
	t.Helper()
	return tk.Tokens(Extract(parse(t, s)))
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name    string
		bigrams bool
		msg     string
		want    []string
		notWant []string
	}{
		{
			name: "plain words, case folded, punctuation trimmed, short words dropped",
			msg:  "Subject: hi\n\nCheap VIAGRA, now! at it\n",
			want: []string{"cheap", "viagra", "now!"},
			// "at" and "it" are shorter than 3 characters
			notWant: []string{"at", "it", "VIAGRA"},
		},
		{
			name: "subject words are prefixed",
			msg:  "Subject: Limited offer\n\nbody\n",
			want: []string{"subject:limited", "subject:offer", "body"},
		},
		{
			// Defensive since only a few fields give tokens at all: it
			// fails if a filter's field ever reaches a tokenized branch.
			name:    "filter headers give no tokens",
			msg:     "X-Spam-Status: Yes, score=9.9\nX-Spam-Flag: YES\nAuthentication-Results: mx; spf=pass\nX-Virus-Scanned: clean\nX-Mailwarden-Score: 3\nARC-Seal: i=1\nSubject: x\n\nhello there\n",
			want:    []string{"hello", "there"},
			notWant: []string{"yes", "score", "spf", "pass", "clean", "subject:yes"},
		},
		{
			name:    "fields other than the address, subject, trace and mailer fields give no tokens",
			msg:     "List-Id: <offers.lists.example>\nX-Priority: 1 (Highest)\nOrganization: Acme Deals\nSubject: x\n\nhello there\n",
			want:    []string{"hello", "there"},
			notWant: []string{"h:list-id:offers.lists.example", "hdr:list-id:1", "h:organization:acme", "acme", "deals", "highest"},
		},
		{
			name: "addresses and domains",
			msg:  "From: \"Bob Seller\" <bob@mail.shop.example>\nTo: a@example.org\n\nx\n",
			want: []string{"from:addr:bob@mail.shop.example", "from:dom:shop.example", "from:dom:mail.shop.example", "from:name:bob", "from:name:seller", "to:dom:example.org"},
		},
		{
			name:    "urls give host tokens, not words nor path tokens",
			msg:     "Subject: x\n\nvisit http://www.pills.example/buy/now?id=7 today\n",
			want:    []string{"url:proto:http", "url:host:pills.example", "url:host:www.pills.example", "visit", "today"},
			notWant: []string{"http://www.pills.example/buy/now?id=7", "url:path:buy", "url:path:now", "buy", "now"},
		},
		{
			name: "long words are summarised",
			msg:  "Subject: x\n\nsupercalifragilistic\n",
			want: []string{"skip:s 20"},
		},
		{
			name:    "bigrams when enabled",
			bigrams: true,
			msg:     "Subject: x\n\nfree money today\n",
			want:    []string{"bi:free money", "bi:money today", "bi:free * today"},
		},
		{
			name:    "no bigrams by default",
			msg:     "Subject: x\n\nfree money today\n",
			notWant: []string{"bi:free money"},
		},
		{
			name: "encoded subject is decoded",
			msg:  "Subject: =?UTF-8?B?R3JhdGlzIGV1cm9z?=\n\nx\n",
			want: []string{"subject:gratis", "subject:euros", "subject:encoded"},
		},
		{
			name:    "received mined for networks and domains, not times",
			msg:     "Received: from mx.relay.example (mx.relay.example [198.51.100.7]) by mail.example.org with ESMTP id 123; Tue, 3 Dec 2002 10:00:00 +0000\nSubject: x\n\nx\n",
			want:    []string{"received:ip:198.51", "received:ip:198.51.100", "received:relay.example", "received:example.org"},
			notWant: []string{"h:received:tue", "h:received:2002"},
		},
		{
			name: "mailer version numbers are dropped",
			msg:  "X-Mailer: Microsoft Outlook Express 6.00.2600.0000\nSubject: x\n\nx\n",
			want: []string{"x-mailer:microsoft outlook express N.N.N.N"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks := tokensOf(t, Tokenizer{Bigrams: tt.bigrams}, tt.msg)
			for _, w := range tt.want {
				if !slices.Contains(toks, w) {
					t.Errorf("missing token %q in %q", w, toks)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(toks, w) {
					t.Errorf("unexpected token %q", w)
				}
			}
			for _, tok := range toks {
				l := strings.ToLower(tok)
				if strings.Contains(l, "x-spam") || strings.Contains(l, "authentication-results") || strings.Contains(l, "x-virus") || strings.Contains(l, "x-mailwarden") {
					t.Errorf("token %q comes from a filter's header", tok)
				}
			}
		})
	}
}

func TestTokensMIME(t *testing.T) {
	msg := "MIME-Version: 1.0\n" +
		"Subject: x\n" +
		"Content-Type: multipart/alternative; boundary=BB\n\n" +
		"--BB\n" +
		"Content-Type: text/plain; charset=iso-8859-1\n" +
		"Content-Transfer-Encoding: quoted-printable\n\n" +
		"caf=E9 cr=E8me\n" +
		"--BB\n" +
		"Content-Type: text/html; charset=utf-8\n" +
		"Content-Transfer-Encoding: base64\n\n" +
		"PGh0bWw+PGJvZHk+PHNjcmlwdD5oaWRkZW5jb2RlPC9zY3JpcHQ+PGEgaHJlZj0iaHR0cDovL2NsaWNr\n" +
		"LmV4YW1wbGUvZ28iPkNsaWNrIGhlcmU8L2E+IDxmb250PnZpc2libGU8L2ZvbnQ+PC9ib2R5PjwvaHRt\n" +
		"bD4=\n" +
		"--BB\n" +
		"Content-Type: application/octet-stream; name=\"invoice.exe\"\n" +
		"Content-Disposition: attachment; filename=\"invoice.exe\"\n" +
		"Content-Transfer-Encoding: base64\n\n" +
		"TVqQAAMAAAAEAAAA\n" +
		"--BB--\n"
	toks := tokensOf(t, Tokenizer{}, msg)
	for _, w := range []string{
		"café", "crème", // quoted-printable latin-1 decoded to UTF-8
		"click", "here", "visible", // HTML text
		"url:host:click.example",                                                 // href
		"part:type:application/octet-stream", "part:ext:.exe", "part:cte:base64", // the attachment
	} {
		if !slices.Contains(toks, w) {
			t.Errorf("missing token %q in %q", w, toks)
		}
	}
	// HTML element names and the inline text parts' type and charset are
	// correlated evidence of one fact ("this is HTML"): no tokens.
	for _, w := range []string{"html:font", "html:a", "part:text:text/html", "part:charset:iso-8859-1", "part:charset:utf-8"} {
		if slices.Contains(toks, w) {
			t.Errorf("unwanted token %q in %q", w, toks)
		}
	}
	if slices.Contains(toks, "hiddencode") {
		t.Errorf("script content was tokenized")
	}
}

func TestTokensBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: x\n\n")
	for i := 0; i < 200000; i++ {
		b.WriteString("w")
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+i%11))
		b.WriteString(string(rune('a' + (i/26)%26)))
		b.WriteString(" ")
	}
	toks := tokensOf(t, Tokenizer{Bigrams: true}, b.String())
	if len(toks) > MaxTokens {
		t.Errorf("%d tokens, limit %d", len(toks), MaxTokens)
	}
}

// TestTokensFirstWords: the body is read for its first MaxWords words;
// a word after them gives no token, the same word before them does, and
// the URLs are read wherever they are.
func TestTokensFirstWords(t *testing.T) {
	filler := strings.Repeat("plain ordinary filler ", MaxWords/3+1)
	toks := tokensOf(t, Tokenizer{}, "Subject: x\n\nopening "+filler+"latecomer http://late.example/x\n")
	if !slices.Contains(toks, "opening") || slices.Contains(toks, "latecomer") {
		t.Errorf("want opening and not latecomer among %d tokens", len(toks))
	}
	if !slices.Contains(toks, "url:host:late.example") {
		t.Errorf("a URL after the words was not tokenized")
	}
}

func TestMessageIDStable(t *testing.T) {
	base := "Message-ID: <1@x.example>\nFrom: a@x.example\nSubject: hello\n\nbody line  \nsecond\n"
	delivered := "Received: from x by y; Tue, 3 Dec 2002 10:00:00 +0000\nX-Spam-Status: No\nDelivered-To: u@y.example\n" +
		strings.ReplaceAll(base, "\n", "\r\n")
	other := strings.Replace(base, "second", "third", 1)
	id := func(s string) MsgID {
		t.Helper()
		v, err := MessageID(parse(t, s), "")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if id(base) != id(delivered) {
		t.Errorf("id changed with delivery headers and line endings")
	}
	if id(base) == id(other) {
		t.Errorf("different bodies, same id")
	}
}

func TestStripSubjectTag(t *testing.T) {
	tests := []struct{ subject, tag, want string }{
		{"[SPAM] cheap meds", "[SPAM]", "cheap meds"},
		{"[spam]   cheap meds", "[SPAM]", "cheap meds"},
		{" [SPAM] [SPAM] twice", "[SPAM]", "twice"},
		{"[SPAM]", "[SPAM]", ""},
		{"Re: [SPAM] reply", "[SPAM]", "Re: [SPAM] reply"},
		{"cheap [SPAM] meds", "[SPAM]", "cheap [SPAM] meds"},
		{"[SPAM] untouched", "", "[SPAM] untouched"},
		{"***SPAM*** x", " ***SPAM*** ", "x"},
	}
	for _, tt := range tests {
		if got := StripSubjectTag(tt.subject, tt.tag); got != tt.want {
			t.Errorf("StripSubjectTag(%q, %q) = %q, want %q", tt.subject, tt.tag, got, tt.want)
		}
	}
}

// TestSubjectTagIgnored: a copy tagged by our spam tagger (subject prefix and
// X-Spam-* headers) has the same identity and the same tokens as the message
// as it arrived, so learning it after autolearn does nothing and the tag
// itself is never learned.
func TestSubjectTagIgnored(t *testing.T) {
	tok := Tokenizer{SubjectTag: "[SPAM]"}
	orig := "Message-ID: <7@x.example>\nFrom: a@x.example\nSubject: cheap meds\n\nbuy now\n"
	tagged := "X-Spam-Flag: YES\nX-Spam-Status: Yes, score=9.0 required=4.0 tests=X\n" +
		strings.Replace(orig, "Subject: cheap meds", "Subject: [SPAM] cheap meds", 1)
	idOrig, err := MessageID(parse(t, orig), tok.SubjectTag)
	if err != nil {
		t.Fatal(err)
	}
	idTagged, _ := MessageID(parse(t, tagged), tok.SubjectTag)
	if idOrig != idTagged {
		t.Errorf("tagged copy has another identity")
	}
	if idUntagged, _ := MessageID(parse(t, tagged), ""); idUntagged == idOrig {
		t.Errorf("without the tag configured the tagged subject should count")
	}
	a, b := strings.Join(tokensOf(t, tok, orig), " "), strings.Join(tokensOf(t, tok, tagged), " ")
	if a != b {
		t.Errorf("tokens differ:\norig   %s\ntagged %s", a, b)
	}
	if strings.Contains(b, "spam") {
		t.Errorf("the tag was tokenized: %s", b)
	}
}

// TestCheckUsesTheSharedParse: in the daemon Bayes reads the MIME walk the
// other checks share (mime.Get), not a parse of its own, and what it judges
// is what `mailwarden learn` learns from the same message (Extract).
func TestCheckUsesTheSharedParse(t *testing.T) {
	raw := "Subject: offer\nContent-Type: multipart/alternative; boundary=BB\n\n" +
		"--BB\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 deals at http://shop.example/x\n" +
		"--BB\nContent-Type: text/html\n\n<p>Click <a href=\"http://click.example/go\">here</a></p>\n--BB--\n"
	c := New(Config{MinSpam: 1, MinHam: 1}, NewDB(storetest.Bolt(t)), nil)
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	judged := func(tx *scoring.Transaction) []uint64 {
		t.Helper()
		e.RunStage(context.Background(), scoring.StageEOM, tx)
		v, ok := tx.Value(ValueItem)
		if !ok {
			t.Fatal("no item recorded")
		}
		return v.(Item).Hashes
	}

	m := parse(t, raw)
	learned := Tokenizer{}.Tokens(Extract(m))
	if !slices.Contains(learned, "url:host:click.example") || !slices.Contains(learned, "café") {
		t.Errorf("tokens miss the HTML link or the decoded text: %q", learned)
	}
	if got := judged(&scoring.Transaction{Message: m}); !slices.Equal(got, Hashes(learned)) {
		t.Errorf("the check's tokens (%d) differ from the learner's (%d)", len(got), len(learned))
	}

	// A link only the shared parse has shows that the check read it.
	tx := &scoring.Transaction{Message: parse(t, raw)}
	shared := mime.Get(tx)
	shared.Links = append(shared.Links, mime.Link{URL: "http://only-shared.example/", Scheme: "http", Host: "only-shared.example"})
	if !slices.Contains(judged(tx), Hash("url:host:only-shared.example")) {
		t.Errorf("the check did not read the shared MIME parse")
	}
}

// TestNextFieldIsFields: reading fields one at a time splits as
// strings.Fields does, Unicode spaces and invalid UTF-8 included.
func TestNextFieldIsFields(t *testing.T) {
	alphabet := []string{"a", "é", " ", "\t", "\n", "\u00a0", "\u2003", "\u0085", "\xff", "\xc3", "x", "\v", "\r"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := rng.IntN(12); j > 0; j-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		var got []string
		for rest := s; ; {
			var f string
			if f, rest = nextField(rest); f == "" {
				break
			}
			got = append(got, f)
		}
		if want := strings.Fields(s); !slices.Equal(got, want) {
			t.Fatalf("nextField(%q) gives %q, strings.Fields %q", s, got, want)
		}
	}
}

// TestAddrSpansIsRegexp: the address scanner finds what the regexp it
// replaced found, and the display name left is the same.
func TestAddrSpansIsRegexp(t *testing.T) {
	re := regexp.MustCompile(`[^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)
	alphabet := []string{"a", "b", "@", "@", ".", " ", "<", ">", "\"", ",", ";", ":", "(", ")", "[", "]", "'", "\t", "\v", "é", "\xff", "-"}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for j := rng.IntN(16); j > 0; j-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		v := b.String()
		var got []string
		for _, sp := range addrSpans(v, 50) {
			got = append(got, v[sp[0]:sp[1]])
		}
		if want := re.FindAllString(v, 50); !slices.Equal(got, want) {
			t.Fatalf("addrSpans(%q) = %q, regexp %q", v, got, want)
		}
	}
	s := &tokenSet{seen: map[string]struct{}{}}
	addrTokens(s, "from:", `"Jane Doe" <Jane@Example.COM>, bob@b.example (Bob)`)
	for _, want := range []string{"from:addr:jane@example.com", "from:addr:bob@b.example", "from:name:jane", "from:name:doe", "from:name:bob"} {
		if !slices.Contains(s.list, want) {
			t.Errorf("tokens %q lack %q", s.list, want)
		}
	}
}

// TestTrimWordEnds: the table-driven trim is strings.TrimFunc(w, trimWord).
func TestTrimWordEnds(t *testing.T) {
	alphabet := []string{"a", "Z", "$", "%", "!", ".", ",", "«", "»", "—", "|", ">", "<", "=", "+", " ", "\u00a0", "\xff", "\xc3", "é", "'", "\""}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for j := rng.IntN(10); j > 0; j-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		w := b.String()
		if got, want := trimWordEnds(w), strings.TrimFunc(w, trimWord); got != want {
			t.Fatalf("trimWordEnds(%q) = %q, strings.TrimFunc %q", w, got, want)
		}
	}
}
