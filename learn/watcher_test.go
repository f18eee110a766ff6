package learn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// maildirs builds /ROOT/users/NAME/Maildir trees and the admin's
// /ROOT/Maildir and returns the config globs.
func testConfig(root string) Config {
	return Config{
		Maildirs:   []string{filepath.Join(root, "users", "*", "Maildir")},
		SpamFolder: ".LearnAsSpam", HamFolder: ".LearnAsHam", JunkFolder: ".junkmail",
	}
}

func put(t testing.TB, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func msg(i int, kind string) string {
	return fmt.Sprintf("From: sender%d@example.com\nSubject: %s number %d\nMessage-ID: <%s.%d@example.com>\n\nThis is %s message %d with words %s%d.\n",
		i, kind, i, kind, i, kind, i, kind, i)
}

// fill puts nSpam and nHam distinct messages into user's learn folders,
// spread over new/ and cur/.
func fill(t testing.TB, root, user string, nSpam, nHam int) {
	t.Helper()
	md := filepath.Join(root, "users", user, "Maildir")
	for i := 0; i < nSpam; i++ {
		sub := []string{"new", "cur"}[i%2]
		put(t, filepath.Join(md, ".LearnAsSpam", sub), fmt.Sprintf("%d.M%dP1.host:2,S", 1700000000+i, i), msg(i, user+"spam"))
	}
	for i := 0; i < nHam; i++ {
		sub := []string{"new", "cur"}[i%2]
		put(t, filepath.Join(md, ".LearnAsHam", sub), fmt.Sprintf("%d.M%dP2.host", 1700000000+i, i), msg(i, user+"ham"))
	}
}

func countFiles(t testing.TB, root string) int {
	t.Helper()
	n := 0
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.Contains(p, ".LearnAs")) {
			n++
		}
		return nil
	})
	return n
}

func TestUser(t *testing.T) {
	tests := map[string]string{
		"/home/e-smith/files/users/alice/Maildir": "alice",
		"/home/e-smith/Maildir":                   "admin",
		"/srv/mail/bob/Maildir/":                  "bob",
	}
	for in, want := range tests {
		if got := User(in); got != want {
			t.Errorf("User(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPass(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		root := t.TempDir()
		fill(t, root, "alice", 7, 3)
		fill(t, root, "bob", 2, 0)
		bobMd := filepath.Join(root, "users", "bob", "Maildir")
		// A copy of a message already in the folder: learned once.
		dup := put(t, filepath.Join(bobMd, ".LearnAsSpam", "cur"), "dup:2,S", msg(0, "bobspam"))
		// Files that cannot be learned stay, and are reported.
		empty := put(t, filepath.Join(bobMd, ".LearnAsHam", "new"), "empty", "")
		dangling := filepath.Join(bobMd, ".LearnAsHam", "cur", "dangling")
		os.MkdirAll(filepath.Dir(dangling), 0o755)
		if err := os.Symlink(filepath.Join(root, "nowhere"), dangling); err != nil {
			t.Fatal(err)
		}
		// Junk: two unseen, one read, one old enough for the retention.
		put(t, filepath.Join(bobMd, ".junkmail", "new"), "j1", msg(1, "junk"))
		put(t, filepath.Join(bobMd, ".junkmail", "new"), "j2", msg(2, "junk"))
		put(t, filepath.Join(bobMd, ".junkmail", "cur"), "j3:2,S", msg(3, "junk"))
		old := put(t, filepath.Join(bobMd, ".junkmail", "cur"), "j4:2,S", msg(4, "junk"))
		past := time.Now().AddDate(0, 0, -90)
		os.Chtimes(old, past, past)

		cfg := testConfig(root)
		cfg.RetentionDays = 60
		db := bayes.NewDB(s)
		w := New(cfg, &bayes.Learner{DB: db}, nil)
		reps, err := w.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 2 {
			t.Fatalf("%d reports, want 2", len(reps))
		}
		a, b := reps[0], reps[1]
		if a.User != "alice" || a.Spam != 7 || a.Ham != 3 || len(a.Problems) != 0 {
			t.Errorf("alice: %+v", a)
		}
		if b.User != "bob" || b.Spam != 2 || b.Already != 1 || b.Junk != 3 || b.JunkUnseen != 2 || b.JunkDeleted != 1 {
			t.Errorf("bob: %+v", b)
		}
		if len(b.Problems) != 2 || !strings.Contains(strings.Join(b.Problems, "\n"), empty) || !strings.Contains(strings.Join(b.Problems, "\n"), dangling) {
			t.Errorf("bob's problems %q should name both unreadable files", b.Problems)
		}
		if _, err := os.Lstat(empty); err != nil {
			t.Errorf("unreadable file was removed")
		}
		if _, err := os.Stat(dup); !os.IsNotExist(err) {
			t.Errorf("duplicate not removed")
		}
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Errorf("junk past retention not removed")
		}
		if n := countFiles(t, root); n != 2 {
			t.Errorf("%d files left in learn folders, want the 2 unreadable ones", n)
		}
		nspam, nham, _ := db.Totals(context.Background())
		if nspam != 9 || nham != 3 {
			t.Errorf("totals %d spam / %d ham, want 9/3", nspam, nham)
		}
		if txt := FormatReport(reps); !strings.Contains(txt, "alice") || !strings.Contains(txt, dangling) {
			t.Errorf("report text:\n%s", txt)
		}
		// Moving: the same message put into LearnAsHam is moved to ham.
		fill(t, root, "alice", 1, 0)
		first := filepath.Join(root, "users", "alice", "Maildir", ".LearnAsSpam", "new")
		entries, _ := os.ReadDir(first)
		for _, e := range entries {
			os.Rename(filepath.Join(first, e.Name()), filepath.Join(root, "users", "alice", "Maildir", ".LearnAsHam", "new", e.Name()))
		}
		if _, err := w.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		nspam, nham, _ = db.Totals(context.Background())
		if nspam != 8 || nham != 4 {
			t.Errorf("after moving one to ham: %d/%d, want 8/4", nspam, nham)
		}
	})
}

// The crash tests run the watcher in a subprocess (this test binary, with
// MAILWARDEN_LEARN_HELPER set) that dies by SIGKILL.
const helperEnv = "MAILWARDEN_LEARN_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helper(spec))
	}
	os.Exit(m.Run())
}

// helper runs one pass. spec is "ROOT|DB|KILLAT|SLOW": die by SIGKILL at the
// KILLAT-th hook point (0: never); SLOW sleeps that many ms at each point.
func helper(spec string) int {
	parts := strings.Split(spec, "|")
	killAt, _ := strconv.Atoi(parts[2])
	slow, _ := strconv.Atoi(parts[3])
	st, err := store.OpenBolt(parts[1], store.BoltOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := New(testConfig(parts[0]), &bayes.Learner{DB: bayes.NewDB(st)}, nil)
	n := 0
	w.hook = func(string) {
		n++
		if killAt > 0 && n == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
		if slow > 0 {
			time.Sleep(time.Duration(slow) * time.Millisecond)
		}
	}
	if _, err := w.Pass(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st.Close()
	return 0
}

func runHelper(t *testing.T, root, db string, killAt, slowMS int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d", helperEnv, root, db, killAt, slowMS))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func checkExact(t *testing.T, root, dbPath string, nSpam, nHam int) {
	t.Helper()
	st, err := store.OpenBolt(dbPath, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := bayes.NewDB(st)
	s, h, err := db.Totals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if int(s) != nSpam || int(h) != nHam {
		t.Errorf("after crash and restart: %d spam / %d ham learned, want exactly %d/%d", s, h, nSpam, nHam)
	}
	if n := countFiles(t, root); n != 0 {
		t.Errorf("%d messages left in the learn folders", n)
	}
	// Every message is known to the store with its class: none lost.
	c := bayes.Counts{}
	cnt, _, _, err := db.Lookup(context.Background(), bayes.Hashes([]string{"subject:number"}))
	if err != nil {
		t.Fatal(err)
	}
	c = cnt[0]
	if int(c.Spam) != nSpam || int(c.Ham) != nHam {
		t.Errorf("token in every message counted %v, want %d spam %d ham", c, nSpam, nHam)
	}
}

// TestKillAtEveryPoint kills the learner at each hook point of a pass in
// turn (before a commit, after a commit before the deletes, between
// deletes), restarts it, and checks that the counts are exactly right.
func TestKillAtEveryPoint(t *testing.T) {
	const nSpam, nHam = 60, 45 // 105 messages: three batches
	// hook points: per batch before-learn, after-learn, one per message.
	points := 3*2 + nSpam + nHam
	kills := []int{1, 2, 3, 4, 30, 51, 52, 53, 54, 55, 80, 107, 108, 109, points - 1, points}
	for _, k := range kills {
		t.Run("kill at point "+strconv.Itoa(k), func(t *testing.T) {
			root := t.TempDir()
			dbPath := filepath.Join(t.TempDir(), "state.db")
			fill(t, root, "alice", nSpam/2, nHam/2)
			fill(t, root, "bob", nSpam-nSpam/2, nHam-nHam/2)
			cmd := runHelper(t, root, dbPath, k, 0)
			err := cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("helper was not killed at point %d: %v", k, err)
			}
			if err := runHelper(t, root, dbPath, 0, 0).Wait(); err != nil {
				t.Fatalf("restart: %v", err)
			}
			checkExact(t, root, dbPath, nSpam, nHam)
		})
	}
}

// TestKillAtRandomTimes kills a slowed-down learner from outside at random
// moments, several times over, before letting a pass finish.
func TestKillAtRandomTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const nSpam, nHam = 40, 30
	root := t.TempDir()
	dbPath := filepath.Join(t.TempDir(), "state.db")
	fill(t, root, "carol", nSpam, nHam)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 6; i++ {
		cmd := runHelper(t, root, dbPath, 0, 2)
		time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	if err := runHelper(t, root, dbPath, 0, 0).Wait(); err != nil {
		t.Fatalf("final pass: %v", err)
	}
	checkExact(t, root, dbPath, nSpam, nHam)
}
