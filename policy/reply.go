package policy

import (
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

// Action is a policy reply action (Postfix access(5) actions we use). OK is
// deliberately absent: we never permit, we only refuse or step aside.
type Action string

const (
	Dunno         Action = "DUNNO"
	Reject        Action = "REJECT"
	DeferIfPermit Action = "DEFER_IF_PERMIT"
	Defer         Action = "DEFER"
	Prepend       Action = "PREPEND"
)

// Reply is one policy response.
type Reply struct {
	Action Action
	// Text: the SMTP reply for REJECT/DEFER* ("550 5.7.1 go away"; Postfix
	// uses its own code when the text has none), the header for PREPEND.
	Text string
}

// maxReplyText bounds the text we send (Postfix truncates long replies;
// a reply line must stay well inside line_length_limit).
const maxReplyText = 512

// Bytes renders "action=ACTION text\n\n". Newlines in the text (which
// would end the reply early and desynchronise the connection) become spaces.
func (r Reply) Bytes() []byte {
	a := r.Action
	if a == "" {
		a = Dunno
	}
	text := r.Text
	if len(text) > maxReplyText {
		text = text[:maxReplyText]
	}
	text = strings.Map(func(c rune) rune {
		if c == '\n' || c == '\r' || c == 0 {
			return ' '
		}
		return c
	}, text)
	b := make([]byte, 0, 16+len(a)+len(text))
	b = append(b, "action="...)
	b = append(b, a...)
	if text != "" && a != Dunno {
		b = append(b, ' ')
		b = append(b, text...)
	}
	return append(b, '\n', '\n')
}

// replyFor maps a forced action to a policy reply.
func replyFor(f *scoring.Forced, tempfail Action) Reply {
	if f == nil {
		return Reply{Action: Dunno}
	}
	r := f.Reply
	if r.Code == 0 {
		r = scoring.DefaultReply(f.Action)
	}
	switch f.Action {
	case scoring.Reject:
		return Reply{Action: Reject, Text: replyText(r, "5.")}
	case scoring.Tempfail:
		return Reply{Action: tempfail, Text: replyText(r, "4.")}
	}
	return Reply{Action: Dunno}
}

// replyText renders "X.Y.Z text" for REJECT/DEFER*: Postfix supplies the
// numeric code (access_map_reject_code 554, access_map_defer_code 450) and
// takes a leading RFC 3463 enhanced status code from the text. An enhanced
// code of the wrong class is dropped.
func replyText(r scoring.Reply, class string) string {
	if r.Enhanced != "" && strings.HasPrefix(r.Enhanced, class) {
		return r.Enhanced + " " + r.Text
	}
	return r.Text
}
