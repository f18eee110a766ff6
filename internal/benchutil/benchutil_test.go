package benchutil

import (
	"regexp"
	"testing"

	gomilter "github.com/d--j/go-milter"
)

func TestMilterAction(t *testing.T) {
	tests := []struct {
		a    gomilter.Action
		want string
	}{
		{gomilter.Action{Type: gomilter.ActionAccept}, "accept"},
		{gomilter.Action{Type: gomilter.ActionContinue}, "accept"},
		{gomilter.Action{Type: gomilter.ActionDiscard}, "discard"},
		{gomilter.Action{Type: gomilter.ActionTempFail}, "tempfail"},
		{gomilter.Action{Type: gomilter.ActionReject}, "reject"},
		{gomilter.Action{Type: gomilter.ActionRejectWithCode, SMTPCode: 550}, "reject"},
		{gomilter.Action{Type: gomilter.ActionRejectWithCode, SMTPCode: 451}, "tempfail"},
		{gomilter.Action{Type: gomilter.ActionSkip}, "other"},
	}
	for _, tt := range tests {
		if got := MilterAction(&tt.a); got != tt.want {
			t.Errorf("MilterAction(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestCPUTimeAndLoad(t *testing.T) {
	c0 := CPUTime()
	x := 0
	for i := 0; i < 20_000_000; i++ {
		x += i % 7
	}
	_ = x
	if c1 := CPUTime(); c1 <= c0 {
		t.Errorf("CPU time did not grow over a busy loop: %v then %v", c0, c1)
	}
	if l := LoadAvg(); !regexp.MustCompile(`^\d+\.\d+ \d+\.\d+ \d+\.\d+$`).MatchString(l) {
		t.Errorf("LoadAvg() = %q, want three decimals", l)
	}
}
