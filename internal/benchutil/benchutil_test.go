package benchutil

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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

// TestLoadCorpus: what a load tool reads of a corpus folder: messages,
// sorted, not the index, the cmds file, dot files nor what is no message.
func TestLoadCorpus(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"spam/b.eml":  "Subject: b\r\n\r\nsecond\r\n",
		"ham/a.eml":   "Subject: a\nFrom: x@example.org\n\nfirst\n",
		"index.tsv":   "spam\tspam/b.eml\n",
		"cmds":        "mv a b\n",
		".hidden.eml": "Subject: h\n\nhidden\n",
		"ham/c.eml":   "", // empty: not a message
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mails, err := LoadCorpus(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mails {
		names = append(names, strings.TrimPrefix(m.Name, dir+"/"))
	}
	if want := []string{"ham/a.eml", "spam/b.eml"}; !slices.Equal(names, want) {
		t.Fatalf("loaded %q, want %q", names, want)
	}
	if len(mails[0].Fields) != 2 || !strings.Contains(string(mails[0].Body), "first") {
		t.Errorf("ham/a.eml read as %d fields, body %q", len(mails[0].Fields), mails[0].Body)
	}
	if one, _ := LoadCorpus(dir, 1); len(one) != 1 {
		t.Errorf("max 1 gave %d messages", len(one))
	}
}
