package dkimsign

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestFromConfig(t *testing.T) {
	dir, _ := keyDir(t)
	base := func() config.DKIM {
		c := config.Defaults().DKIM
		c.KeysDir = dir
		c.Domains = []string{"example.com", "example.org"}
		return c
	}
	t.Run("keys are loaded once, not per message", func(t *testing.T) {
		work := t.TempDir()
		if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		// CopyFS writes 0644 files, which the loader refuses: tighten.
		keys, _ := filepath.Glob(filepath.Join(work, "*", "private*"))
		for _, k := range keys {
			os.Chmod(k, 0o600)
		}
		c := base()
		c.KeysDir = work
		s, err := FromConfig(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(work) // the files are gone; the loaded keys still sign
		m := loadMessage(t, "plain.eml")
		tx := &scoring.Transaction{Profile: scoring.ProfileLocal, Message: m}
		if err := s.Modify(context.Background(), tx, &scoring.Verdict{}, &scoring.Changes{}); err != nil {
			t.Fatal(err)
		}
		if st, _ := tx.Value(ValueKey); st != "signed d=example.com s=nov2026,ed2026" {
			t.Fatalf("status %v", st)
		}
	})
	t.Run("loose key refused with the file named", func(t *testing.T) {
		work := t.TempDir()
		k, err := dkimkeys.Generate(work, "example.com", dkimkeys.GenerateOptions{Algorithm: dkimkeys.Ed25519, Selector: "x"})
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(k.Path, 0o644)
		c := base()
		c.KeysDir = work
		if _, err := FromConfig(c, nil); err == nil || !strings.Contains(err.Error(), k.Path) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("per-domain override and disabling", func(t *testing.T) {
		off := false
		c := base()
		c.Domain = map[string]config.DKIMDomain{
			"example.org": {Signing: &off},
			"example.com": {Selector: "other", KeyFile: filepath.Join(dir, "default", "private")},
		}
		c.Senders = map[string][]string{"Alice": {"example.com"}}
		s, err := FromConfig(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		for from, want := range map[string]string{
			"x@example.com": "signed d=example.com s=other",
			"x@example.org": "not signed: signing disabled for domain example.org",
		} {
			m := loadMessage(t, "plain.eml")
			for i := range m.Header.Fields {
				if m.Header.Fields[i].Name == "From" {
					m.Header.Fields[i].Value = " " + from
				}
			}
			tx := &scoring.Transaction{Profile: scoring.ProfileAuthenticated, Client: scoring.Client{AuthUser: "alice"}, Message: m}
			s.Modify(context.Background(), tx, &scoring.Verdict{}, &scoring.Changes{})
			if st, _ := tx.Value(ValueKey); st != want {
				t.Errorf("%s: %v, want %s", from, st, want)
			}
		}
	})
	t.Run("signing off loads nothing", func(t *testing.T) {
		c := base()
		c.Signing = false
		c.KeysDir = "/nonexistent/keys"
		s, err := FromConfig(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := loadMessage(t, "plain.eml")
		tx := &scoring.Transaction{Profile: scoring.ProfileLocal, Message: m}
		s.Modify(context.Background(), tx, &scoring.Verdict{}, &scoring.Changes{})
		if st, _ := tx.Value(ValueKey); st != "not signed: signing disabled" {
			t.Errorf("status %v", st)
		}
	})
}
