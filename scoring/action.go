package scoring

import (
	"fmt"
	"strings"
)

// Action is what happens to a message. The zero value is Accept.
type Action int

// Actions in increasing severity: when several checks force actions, the most
// severe wins.
const (
	Accept     Action = iota // deliver unchanged (but for informational headers)
	Tag                      // deliver with spam headers / subject tag
	Quarantine               // accept and hold (Postfix hold queue)
	Discard                  // accept and drop silently
	Tempfail                 // 4xx: try again later
	Reject                   // 5xx
)

var actionNames = [...]string{"accept", "tag", "quarantine", "discard", "tempfail", "reject"}

func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return fmt.Sprintf("action(%d)", int(a))
	}
	return actionNames[a]
}

// ParseAction parses an action name as written in the config.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if strings.EqualFold(s, n) {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want one of %s)", s, strings.Join(actionNames[:], ", "))
}

// MarshalText makes actions print by name in JSON.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Reply is the SMTP reply given to the client with a Reject or Tempfail.
// Detail for the log belongs in Result.Force's reason, not here: the text is
// shown to the sender.
type Reply struct {
	Code     int    `json:"code"`     // 4xx or 5xx
	Enhanced string `json:"enhanced"` // RFC 3463 status, e.g. "5.7.1"
	Text     string `json:"text"`
}

// String renders the reply as the client sees it (first line).
func (r Reply) String() string {
	if r.Code == 0 {
		return ""
	}
	if r.Enhanced != "" {
		return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Text)
}

// DefaultReply returns the generic reply for an action.
func DefaultReply(a Action) Reply {
	switch a {
	case Reject:
		return Reply{Code: 550, Enhanced: "5.7.1", Text: "Message rejected by policy"}
	case Tempfail:
		return Reply{Code: 451, Enhanced: "4.7.1", Text: "Temporary failure, please try again later"}
	}
	return Reply{}
}
