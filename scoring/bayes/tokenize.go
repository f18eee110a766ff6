package bayes

import (
	"mime"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Limits of the tokenizer.
const (
	// MaxWords: body words tokenized per message, from the start of its
	// text (all text parts together; the header, the URLs and the parts
	// summary are read whole). A message makes its point early; past the
	// first screens, a long text (a digest, a thread quoting spam, a
	// forwarded article) adds hundreds of words whose weak evidence
	// outvoted what the header and the opening said. On the SpamAssassin
	// corpus, mean (1-AUC)% of Bayes alone over six seeded splits:
	// 20000 words 0.193, 3000 0.119, 2000 0.090, 1500 0.070, 1000 0.073,
	// 500 0.076 (BENCHMARKS.md). 1000 sits in the flat part of that curve,
	// and it bounds what a long message costs to tokenize and look up.
	// The price: text a sender pads the start with hides what follows
	// from Bayes (not from the rules, which read the whole text).
	MaxWords = 1000
	// MaxTokens: distinct tokens kept per message, so one huge message
	// cannot flood the store; it also keeps one message's changes within
	// one atomic store call (store.MaxBatch keys, with its seen record).
	MaxTokens = 6000
	// maxHeaderWords: words taken from one header field's value.
	maxHeaderWords = 20
	// minWord, maxWord: shorter words are noise; longer ones are summarised
	// as "skip:c N" (SpamBayes's skip tokens), since they are mostly encoded
	// junk or run-together text.
	minWord, maxWord = 3, 12
)

// Tokenizer turns a message into the set of tokens Bayes learns and judges.
type Tokenizer struct {
	// Bigrams adds sparse bigrams of neighbouring body and subject words
	// (distance 1 "a b" and distance 2 "a * c").
	Bigrams bool
	// SubjectTag is the prefix the spam tagger puts before a tagged
	// message's subject ([spam] subject_prefix, "[SPAM]"). It is taken off
	// before tokenizing and before the message's identity is computed, so
	// the classifier never learns our own verdict and a tagged copy a user
	// drops into LearnAsSpam is the message autolearn already saw.
	SubjectTag string
}

// StripSubjectTag removes tag (and the space after it) from the start of a
// subject, as often as it is there, ignoring case and leading white space.
func StripSubjectTag(subject, tag string) string {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return subject
	}
	for {
		t := strings.TrimLeft(subject, " \t")
		if len(t) < len(tag) || !strings.EqualFold(t[:len(tag)], tag) {
			return subject
		}
		subject = strings.TrimLeft(t[len(tag):], " \t")
	}
}

// addrHeaders are tokenized as address lists.
var addrHeaders = map[string]string{
	"from": "from", "to": "to", "cc": "cc", "reply-to": "reply-to", "sender": "sender",
	"return-path": "return-path", "errors-to": "errors-to",
}

// tokenSet collects distinct tokens in order.
type tokenSet struct {
	seen map[string]struct{}
	list []string
}

func (s *tokenSet) add(t string) {
	if len(s.list) >= MaxTokens {
		return
	}
	if _, ok := s.seen[t]; ok {
		return
	}
	s.seen[t] = struct{}{}
	s.list = append(s.list, t)
}

// Tokens returns the distinct tokens of a decoded message.
func (t Tokenizer) Tokens(d *Doc) []string {
	s := &tokenSet{seen: make(map[string]struct{}, 512)}
	t.headers(s, d)
	words := 0
	for _, txt := range d.Texts {
		words += t.words(s, "", txt, MaxWords-words)
	}
	for _, u := range d.URLs {
		urlTokens(s, "url:", u)
	}
	// No tokens for the HTML element names nor for the inline text parts
	// (their type, charset, transfer encoding): "this is HTML" shows in a
	// dozen such tokens that always come together, and chi-square combining
	// counts each as independent evidence, so they outvoted the words. On
	// the SpamAssassin corpus dropping them took (1-AUC)% from 0.215 to 0.182
	// (mean of six seeded splits; BENCHMARKS.md).
	nText := 0
	for _, p := range d.Parts {
		if !p.Attached && strings.HasPrefix(p.Type, "text/") {
			nText++
			continue
		}
		s.add("part:type:" + p.Type)
		if ext := strings.ToLower(path.Ext(p.Name)); ext != "" && len(ext) <= 8 {
			s.add("part:ext:" + ext)
		}
		s.add("part:size:" + strconv.Itoa(log2(p.Size)))
		if p.Charset != "" {
			s.add("part:charset:" + p.Charset)
		}
		if p.Encoding != "" {
			s.add("part:cte:" + p.Encoding)
		}
	}
	if nText == 0 {
		s.add("part:notext")
	}
	if d.Truncated {
		s.add("mime:truncated")
	}
	if d.Malformed {
		s.add("mime:malformed")
	}
	if d.UnknownText {
		s.add("mime:badcharset")
	}
	return s.list
}

func log2(n int64) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// tokenHeaders are the header fields that give tokens: the subject, the
// address fields, the trace (Received), Message-ID, Content-Type and the
// mailer. No other field does, as in SpamBayes (basic_header_tokenize off):
// their words and the count of each field mostly say which mailer or list
// relayed the message, many tokens for one fact (dropping them and the
// per-field counts took (1-AUC)% from 0.182 to 0.151, mean of six seeded
// splits of the SpamAssassin corpus). So fields a filter adds on the way
// (X-Spam-*, Authentication-Results, X-Virus-*, ours or anyone's) never
// give tokens, and the classifier learns the message, not an earlier
// verdict; nor do delivery records (Date, Delivered-To).
var tokenHeaders = map[string]bool{
	"subject": true, "received": true, "message-id": true, "content-type": true,
	"x-mailer": true, "user-agent": true, "x-mimeole": true, "x-newsreader": true,
}

func (t Tokenizer) headers(s *tokenSet, d *Doc) {
	for _, f := range d.Header {
		name := strings.ToLower(f.Name)
		if !tokenHeaders[name] && addrHeaders[name] == "" {
			continue
		}
		v := unfold(f.Value)
		switch {
		case name == "subject":
			v = StripSubjectTag(v, t.SubjectTag)
			t.words(s, "subject:", v, maxHeaderWords*2)
			if v == "" {
				s.add("subject:empty")
			}
			if strings.Contains(f.Value, "=?") {
				s.add("subject:encoded")
			}
		case addrHeaders[name] != "":
			addrTokens(s, addrHeaders[name]+":", v)
		case name == "received":
			receivedTokens(s, v)
		case name == "message-id":
			msgidTokens(s, v)
		case name == "content-type":
			mt, _, _ := strings.Cut(v, ";")
			s.add("content-type:" + strings.ToLower(strings.TrimSpace(mt)))
		default: // the mailer fields
			s.add(name + ":" + normalizeAgent(v))
		}
	}
}

func splitHeader(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`<>"'(),;:=[]{}`, r)
}

func unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", " ")
	v = strings.ReplaceAll(v, "\n", " ")
	return strings.TrimSpace(decodeWords(v))
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words; undecodable text stays as is.
func decodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

var agentDigits = regexp.MustCompile(`[0-9]+`)

// normalizeAgent keeps a mailer's name and drops version numbers, which
// change with every release.
func normalizeAgent(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = agentDigits.ReplaceAllString(v, "N")
	if len(v) > 40 {
		v = v[:40]
	}
	return v
}

// addrStop marks the bytes that end an address in a header value: ASCII
// white space (as RE2's \s) and <>"',;:()[].
var addrStop = func() (t [256]bool) {
	for _, c := range []byte("\t\n\f\r <>\"',;:()[]") {
		t[c] = true
	}
	return t
}()

// addrSpans returns the [start, end) spans of the addresses in v, at most
// max: the runs of bytes up to an addrStop byte that have an "@" with
// something before and after it. They are the matches of the regexp
// [^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+ (TestAddrSpansIsRegexp), found
// without one: this runs for every address header of every message.
func addrSpans(v string, max int) [][2]int {
	var out [][2]int
	for i := 0; i < len(v) && len(out) < max; {
		if addrStop[v[i]] {
			i++
			continue
		}
		j, at := i, false
		for ; j < len(v) && !addrStop[v[j]]; j++ {
			if v[j] == '@' && j > i && j < len(v)-1 && !addrStop[v[j+1]] {
				at = true
			}
		}
		if at {
			out = append(out, [2]int{i, j})
		}
		i = j
	}
	return out
}

func addrTokens(s *tokenSet, prefix, v string) {
	lv := strings.ToLower(v)
	spans := addrSpans(lv, 50)
	for i, sp := range spans {
		if i >= 10 {
			break
		}
		a := lv[sp[0]:sp[1]]
		local, dom, _ := strings.Cut(a, "@")
		dom = strings.TrimRight(dom, ".")
		s.add(prefix + "addr:" + a)
		if len(local) > 20 || strings.IndexFunc(local, unicode.IsDigit) >= 0 && len(local) > 8 {
			s.add(prefix + "local:shape:" + shape(local))
		}
		domainTokens(s, prefix+"dom:", dom)
	}
	if prefix == "to:" || prefix == "cc:" {
		n := len(spans)
		if n > 2 {
			n = 1 << log2(int64(n))
		}
		s.add(prefix + "count:" + strconv.Itoa(n))
	}
	if len(spans) == 0 && strings.TrimSpace(v) != "" {
		s.add(prefix + "noaddr")
	}
	// the display name, without the addresses
	name := v
	if spans := addrSpans(v, len(v)); len(spans) > 0 {
		var b strings.Builder
		last := 0
		for _, sp := range spans {
			b.WriteString(v[last:sp[0]])
			b.WriteByte(' ')
			last = sp[1]
		}
		b.WriteString(v[last:])
		name = b.String()
	}
	n := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(name), splitHeader) {
		if n >= 5 {
			break
		}
		if len(w) >= 2 && len(w) <= 20 {
			s.add(prefix + "name:" + w)
			n++
		}
	}
}

// shape maps a string to its character classes: "a9x" for letter, digit,
// other, collapsing repeats; tells generated local parts from names.
func shape(x string) string {
	var b strings.Builder
	last := byte(0)
	for _, r := range x {
		c := byte('x')
		switch {
		case unicode.IsLetter(r):
			c = 'a'
		case unicode.IsDigit(r):
			c = '9'
		}
		if c != last {
			b.WriteByte(c)
			last = c
		}
		if b.Len() >= 12 {
			break
		}
	}
	return b.String()
}

// domainTokens adds every suffix of a domain with at least two labels.
func domainTokens(s *tokenSet, prefix, dom string) {
	dom = strings.Trim(strings.ToLower(dom), ".")
	if dom == "" {
		return
	}
	if _, err := netip.ParseAddr(strings.Trim(dom, "[]")); err == nil {
		s.add(prefix + "ip")
		return
	}
	labels := strings.Split(dom, ".")
	if len(labels) > 6 {
		labels = labels[len(labels)-6:]
	}
	for i := 0; i < len(labels)-1; i++ {
		s.add(prefix + strings.Join(labels[i:], "."))
	}
	s.add(prefix + "tld:" + labels[len(labels)-1])
}

// receivedTokens mines Received fields as SpamBayes does: the relaying
// hosts' domains and network prefixes, not the time stamps or queue ids.
func receivedTokens(s *tokenSet, v string) {
	for _, m := range scanIPv4(v, 4) {
		a, err := netip.ParseAddr(m[0])
		if err != nil {
			continue
		}
		if a.IsPrivate() || a.IsLoopback() {
			s.add("received:ip:private")
			continue
		}
		s.add("received:ip:" + m[1] + "." + m[2])
		s.add("received:ip:" + m[1] + "." + m[2] + "." + m[3])
	}
	for _, h := range scanHosts(v, 4) {
		domainTokens(s, "received:", h)
	}
	lv := strings.ToLower(v)
	if strings.Contains(lv, "with esmtps") || strings.Contains(v, "TLS") {
		s.add("received:tls")
	}
	if strings.Contains(lv, "authenticated") {
		s.add("received:auth")
	}
}

func msgidTokens(s *tokenSet, v string) {
	v = strings.Trim(strings.TrimSpace(v), "<>")
	local, dom, ok := strings.Cut(v, "@")
	if !ok {
		s.add("message-id:noat")
		return
	}
	s.add("message-id:shape:" + shape(local))
	dom = strings.ToLower(strings.TrimRight(dom, ">"))
	labels := strings.Split(dom, ".")
	if len(labels) >= 2 {
		s.add("message-id:@" + strings.Join(labels[len(labels)-2:], "."))
	} else {
		s.add("message-id:@" + dom)
	}
}

func urlTokens(s *tokenSet, prefix, raw string) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		s.add(prefix + "bad")
		return
	}
	s.add(prefix + "proto:" + strings.ToLower(u.Scheme))
	host := strings.ToLower(u.Hostname())
	domainTokens(s, prefix+"host:", host)
	if u.Port() != "" {
		s.add(prefix + "port")
	}
	if u.User != nil {
		s.add(prefix + "userinfo")
	}
	// No tokens for the path: every URL of a message gave up to eight,
	// most of them repeating one another across the message's links. The
	// host says where the link goes; dropping the path took (1-AUC)% from
	// 0.147 to 0.133 (mean of six seeded splits of the SpamAssassin corpus).
	if strings.Contains(raw, "%") {
		s.add(prefix + "escaped")
	}
}

// words tokenizes text: lower-cased words of 3 to 12 characters as they are,
// longer ones summarised, e-mail addresses and URLs as such, and sparse
// bigrams. It returns the number of words read.
func (t Tokenizer) words(s *tokenSet, prefix, text string, budget int) int {
	if budget <= 0 {
		return 0
	}
	n := 0
	var prev1, prev2 string
	eightBit := 0
	for rest := text; ; {
		var raw string
		if raw, rest = nextField(rest); raw == "" || n >= budget {
			break
		}
		n++
		lw := strings.ToLower(raw)
		if strings.Contains(lw, "://") || strings.HasPrefix(lw, "www.") {
			prev1, prev2 = "", ""
			continue // URLs are tokenized from Doc.URLs
		}
		w := trimWordEnds(lw)
		if strings.Contains(w, "@") && strings.Count(w, "@") == 1 {
			local, dom, _ := strings.Cut(w, "@")
			if local != "" && strings.Contains(dom, ".") {
				domainTokens(s, prefix+"email:", dom)
				prev1, prev2 = "", ""
				continue
			}
		}
		rl := utf8.RuneCountInString(w)
		if rl < minWord {
			continue
		}
		for i := 0; i < len(w); i++ {
			if w[i] >= 0x80 {
				eightBit++
				break
			}
		}
		if rl > maxWord {
			r, _ := utf8.DecodeRuneInString(w)
			s.add(prefix + "skip:" + string(r) + " " + strconv.Itoa(rl/10*10))
			prev1, prev2 = "", ""
			continue
		}
		s.add(prefix + w)
		if t.Bigrams {
			if prev1 != "" {
				s.add(prefix + "bi:" + prev1 + " " + w)
			}
			if prev2 != "" {
				s.add(prefix + "bi:" + prev2 + " * " + w)
			}
		}
		prev2, prev1 = prev1, w
	}
	if prefix == "" && n > 0 {
		pct := eightBit * 100 / n
		if pct > 0 {
			s.add("8bit%:" + strconv.Itoa(pct/10*10))
		}
	}
	return n
}

// asciiSpace marks the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// nextField returns the first field of s as strings.Fields splits it (runs
// of non-space around unicode.IsSpace) and what follows it; "" when there
// is none. Reading fields one at a time spares the slice of every field
// of a long text.
func nextField(s string) (field, rest string) {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		space, size := asciiSpace[c], 1
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
		}
		switch {
		case space && start >= 0:
			return s[start:i], s[i:]
		case !space && start < 0:
			start = i
		}
		i += size
	}
	if start < 0 {
		return "", ""
	}
	return s[start:], ""
}

// asciiTrim is trimWord for ASCII bytes.
var asciiTrim = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = trimWord(rune(c))
	}
	return t
}()

// trimWordEnds is strings.TrimFunc(w, trimWord), with a table for ASCII
// (TestTrimWordEnds): it runs for every word of every message.
func trimWordEnds(w string) string {
	for len(w) > 0 {
		if c := w[0]; c < utf8.RuneSelf {
			if !asciiTrim[c] {
				break
			}
			w = w[1:]
			continue
		}
		r, size := utf8.DecodeRuneInString(w)
		if !trimWord(r) {
			break
		}
		w = w[size:]
	}
	for len(w) > 0 {
		if c := w[len(w)-1]; c < utf8.RuneSelf {
			if !asciiTrim[c] {
				break
			}
			w = w[:len(w)-1]
			continue
		}
		r, size := utf8.DecodeLastRuneInString(w)
		if !trimWord(r) {
			break
		}
		w = w[:len(w)-size]
	}
	return w
}

func trimWord(r rune) bool {
	return unicode.IsPunct(r) && r != '$' && r != '%' && r != '!' || unicode.IsSpace(r) || r == '|' || r == '>' || r == '<' || r == '=' || r == '+'
}
