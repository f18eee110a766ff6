package spamd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/testenv"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		name, in string
		score    float64
		spam     bool
		rules    string
		err      string
	}{
		{"spam", "SPAMD/1.1 0 EX_OK\r\nContent-length: 21\r\nSpam: True ; 15.2 / 5.0\r\n\r\nGTUBE,MISSING_DATE", 15.2, true, "GTUBE,MISSING_DATE", ""},
		{"ham no rules", "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n", -0.1, false, "", ""},
		{"error status", "SPAMD/1.0 76 Bad header line\r\n", 0, false, "", "spamd: error 76"},
		{"garbage", "HTTP/1.1 200 OK\r\n\r\n", 0, false, "", "bad status line"},
		{"no spam header", "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", 0, false, "", "without a Spam header"},
		{"bad score", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5.0\r\n\r\n", 0, false, "", "bad score"},
		{"absurd score", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e9 / 5.0\r\n\r\n", 0, false, "", "bad score"},
		{"bad rule name", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5.0\r\n\r\nOK,<script>", 0, false, "", "bad rule name"},
		{"empty", "", 0, false, "", "no status line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseReply(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Score != tc.score || rep.Spam != tc.spam || strings.Join(rep.Rules, ",") != tc.rules {
				t.Errorf("got %+v", rep)
			}
		})
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 15.2 / 5.0\r\n\r\nA,B")
	f.Add("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0 / 5\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := ParseReply(strings.NewReader(s))
		if err == nil && (rep.Score > MaxScore || rep.Score < -MaxScore) {
			t.Fatalf("score %v accepted", rep.Score)
		}
	})
}

func newTx(t *testing.T, msg string) *scoring.Transaction {
	t.Helper()
	m, err := message.Parse(strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &scoring.Transaction{Message: m}
}

func run(t *testing.T, c *Check, msg string) []scoring.Symbol {
	t.Helper()
	e, err := scoring.New(scoring.Options{CheckTimeout: 20 * time.Second}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := newTx(t, msg)
	e.RunStage(context.Background(), scoring.StageEOM, tx)
	return tx.Symbols()
}

func TestFailOpen(t *testing.T) {
	// A port nobody listens on, and a server that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	dead := testenv.FreePort(t)
	tests := []struct{ name, addr, reason string }{
		{"refused", fmt.Sprintf("127.0.0.1:%d", dead), "error"},
		{"silent", ln.Addr().String(), "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			syms := run(t, New(Config{Network: "tcp", Address: tc.addr, Timeout: 300 * time.Millisecond}), "Subject: x\n\nbody\n")
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if len(syms) != 1 || syms[0].Name != SymbolFail || syms[0].Options[0] != tc.reason {
				t.Errorf("symbols %v", syms)
			}
		})
	}
}

// startSpamd runs Debian's spamd on a loopback port and a unix socket with
// a temporary site config (network tests off with -L) and returns the TCP
// address and the socket path.
func startSpamd(t *testing.T) (string, string) {
	t.Helper()
	testenv.RequireLong(t)
	bin := testenv.RequireBinary(t, "spamd")
	// spamd drops to "nobody": its files must be outside t.TempDir (0700).
	dir, err := os.MkdirTemp("", "mailwarden-spamd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	site := filepath.Join(dir, "site")
	home := filepath.Join(dir, "home")
	for _, d := range []string{site, home} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(d, 0o777)
	}
	_ = os.Chmod(dir, 0o755)
	// The .pre files load the plugins spamd needs to scan at all.
	pres, _ := filepath.Glob("/etc/spamassassin/*.pre")
	if len(pres) == 0 {
		testenv.Missing(t, "spamassassin .pre files", "Debian package spamassassin")
	}
	for _, p := range pres {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(site, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	local := "body MW_SPAMD_TEST_PHRASE /mailwarden spamd test phrase/\nscore MW_SPAMD_TEST_PHRASE 3.5\n"
	if err := os.WriteFile(filepath.Join(site, "local.cf"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sock := filepath.Join(home, "spamd.sock")
	args := []string{"-L", "--listen=" + addr, "--listen=" + sock, "--siteconfigpath=" + site, "--max-children=1", "--min-children=1",
		"--nouser-config", "--syslog=stderr", "-H", home}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	cmd := exec.Command(bin, args...)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err = cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// spamd compiles its rules before listening: allow it time.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			fmt.Fprintf(c, "PING SPAMC/1.5\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Close()
			if strings.Contains(string(buf[:n]), "PONG") {
				return addr, sock
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spamd did not come up on %s:\n%s", addr, log.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestRealSpamd(t *testing.T) {
	addr, sock := startSpamd(t)
	c := New(Config{Network: "tcp", Address: addr, Timeout: 20 * time.Second, Weight: 0.5})
	tests := []struct {
		name, msg string
		minScore  float64
		rule      string
	}{
		{"gtube", "From: a@b.example\nTo: c@d.example\nSubject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n", 400, "GTUBE"},
		{"local rule", "From: a@b.example\nTo: c@d.example\nSubject: test\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <x@b.example>\n\nthe mailwarden spamd test phrase\n", 1.5, "MW_SPAMD_TEST_PHRASE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			syms := run(t, c, tc.msg)
			if len(syms) != 1 || syms[0].Name != Symbol {
				t.Fatalf("symbols %v", syms)
			}
			s := syms[0]
			if s.Score < tc.minScore || !strings.Contains(strings.Join(s.Options, ","), tc.rule) {
				t.Errorf("SPAMD score %.2f options %v; want >= %.1f with %s", s.Score, s.Options, tc.minScore, tc.rule)
			}
		})
	}
	t.Run("unix socket", func(t *testing.T) {
		u := New(Config{Network: "unix", Address: sock, Timeout: 20 * time.Second, Weight: 1})
		syms := run(t, u, tests[0].msg)
		if len(syms) != 1 || syms[0].Name != Symbol || syms[0].Score < 800 {
			t.Errorf("symbols %v", syms)
		}
	})
	t.Run("too big", func(t *testing.T) {
		small := New(Config{Network: "tcp", Address: addr, MaxSize: 10})
		syms := run(t, small, "Subject: x\n\nbody longer than ten bytes\n")
		if len(syms) != 1 || syms[0].Name != SymbolSkipped {
			t.Errorf("symbols %v", syms)
		}
	})
}
