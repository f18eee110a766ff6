package sortspam

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// The delivery recipes in deploy/recipes, run by the real programs: a
// message with the sort header lands in junkmail, one without does not.
var recipeMsgs = map[string]string{
	"junk": "From: a@b.example\nSubject: x\nX-Mailwarden-Sort: Junk\n\nbody\n",
	"ham":  "From: a@b.example\nSubject: x\n\nbody\n",
}

func recipe(name string) string {
	return filepath.Join(testenv.RepoRoot(), "deploy", "recipes", name)
}

// worldDir makes a temp dir an unprivileged user can use (sieve-test
// refuses to run as root).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mailwarden-recipes-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, mode)
}

func TestSieveRecipe(t *testing.T) {
	testenv.RequireLong(t)
	bin := testenv.RequireBinary(t, "sieve-test")
	dir := worldDir(t)
	script := filepath.Join(dir, "junk.sieve")
	b, err := os.ReadFile(recipe("junk.sieve"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, script, string(b), 0o644)
	for name, want := range map[string]string{"junk": "store message in folder: junkmail", "ham": "store message in folder: INBOX"} {
		t.Run(name, func(t *testing.T) {
			msg := filepath.Join(dir, name+".eml")
			write(t, msg, recipeMsgs[name], 0o644)
			cmd := exec.Command(bin, script, msg)
			cmd.Env = append(os.Environ(), "HOME="+dir)
			if os.Geteuid() == 0 {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sieve-test: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("want %q in:\n%s", want, out)
			}
		})
	}
}

// maildirFiles counts delivered files under a Maildir folder's new/.
func maildirFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dir, "new"))
	return len(ents)
}

func newMaildir(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcmailRecipe(t *testing.T) {
	testenv.RequireLong(t)
	bin := testenv.RequireBinary(t, "procmail")
	for name, wantJunk := range map[string]bool{"junk": true, "ham": false} {
		t.Run(name, func(t *testing.T) {
			md := filepath.Join(t.TempDir(), "Maildir")
			newMaildir(t, md)
			cmd := exec.Command(bin, "-m", "MAILDIR="+md, "DEFAULT="+md+"/", recipe("junk.procmailrc"))
			cmd.Stdin = strings.NewReader(recipeMsgs[name])
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("procmail: %v\n%s", err, out)
			}
			junk, inbox := maildirFiles(t, filepath.Join(md, ".junkmail")), maildirFiles(t, md)
			if (junk == 1) != wantJunk || junk+inbox != 1 {
				t.Errorf("junk %d inbox %d, want junk=%v", junk, inbox, wantJunk)
			}
		})
	}
}

func TestMaildropRecipe(t *testing.T) {
	testenv.RequireLong(t)
	bin := testenv.RequireBinary(t, "maildrop")
	for name, wantJunk := range map[string]bool{"junk": true, "ham": false} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			md := filepath.Join(dir, "Maildir")
			newMaildir(t, md)
			// A mailfilter as a user would have it: the recipe, then the
			// ordinary delivery to the Maildir.
			filter := filepath.Join(dir, "mailfilter")
			write(t, filter, "MAILDIR=\""+md+"\"\ninclude \""+recipe("junk.maildrop")+"\"\nto \"$MAILDIR\"\n", 0o600)
			cmd := exec.Command(bin, filter)
			cmd.Stdin = strings.NewReader(recipeMsgs[name])
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("maildrop: %v\n%s", err, out)
			}
			junk, inbox := maildirFiles(t, filepath.Join(md, ".junkmail")), maildirFiles(t, md)
			if (junk == 1) != wantJunk || junk+inbox != 1 {
				t.Errorf("junk %d inbox %d, want junk=%v", junk, inbox, wantJunk)
			}
		})
	}
}
