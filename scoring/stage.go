package scoring

import "fmt"

// Stage is the SMTP stage at which a check has the data it needs. The policy
// front-end reaches StageRcpt at most; the milter and `mailwarden check` reach
// StageEOM.
type Stage int

const (
	StageConnect Stage = iota // client address and name known
	StageHelo                 // HELO/EHLO name known
	StageMail                 // envelope sender known
	StageRcpt                 // one recipient at a time (Transaction.Rcpt)
	StageHeaders              // all header fields known (end of headers)
	StageEOM                  // whole message known (end of message)
	numStages
)

var stageNames = [...]string{"connect", "helo", "mail", "rcpt", "headers", "eom"}

func (s Stage) String() string {
	if s < 0 || s >= numStages {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s]
}

// Profile is the peer class of an SMTP client, as SME distinguishes them:
// hosts in the configured local networks, clients that authenticated, and
// everybody else. Each check runs for the profiles it declares by default;
// the [profiles.*] tables of the config override that.
type Profile string

const (
	ProfileLocal         Profile = "local"
	ProfileAuthenticated Profile = "authenticated"
	ProfileRemote        Profile = "remote"
)

// AllProfiles lists the profiles in a fixed order.
var AllProfiles = []Profile{ProfileLocal, ProfileAuthenticated, ProfileRemote}

// Outbound reports whether mail from this profile is treated as leaving the
// organisation (signed, given a disclaimer, rate-limited).
func (p Profile) Outbound() bool { return p == ProfileLocal || p == ProfileAuthenticated }
