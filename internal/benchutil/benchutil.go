// Package benchutil holds what the benchmark tools and benchmark tests
// share: the process's CPU time, the load average, the name of a milter
// reply as a load generator counts it, reading a corpus folder's messages
// and the milter client they are sent with.
package benchutil

import (
	"os"
	"strings"
	"syscall"
	"time"

	gomilter "github.com/d--j/go-milter"
)

// CPUTime is the process's user+system CPU time: a figure that, unlike the
// wall clock, does not depend on what else the machine runs. It is 0 where
// getrusage fails.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAvg is the 1, 5 and 15 minute load averages of /proc/loadavg, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// MilterAction names a milter's final reply: "accept" (accept or continue),
// "discard", "tempfail" (also a 4xx reply with code), "reject" or "other".
func MilterAction(a *gomilter.Action) string {
	switch a.Type {
	case gomilter.ActionAccept, gomilter.ActionContinue:
		return "accept"
	case gomilter.ActionDiscard:
		return "discard"
	case gomilter.ActionTempFail:
		return "tempfail"
	case gomilter.ActionReject, gomilter.ActionRejectWithCode:
		if a.SMTPCode >= 400 && a.SMTPCode < 500 {
			return "tempfail"
		}
		return "reject"
	}
	return "other"
}
