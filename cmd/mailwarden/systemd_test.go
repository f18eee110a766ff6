package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestSystemdUnitVerifies runs systemd-analyze verify on deploy's unit, with
// the binary path pointed at a freshly built mailwarden.
func TestSystemdUnitVerifies(t *testing.T) {
	testenv.RequireLong(t)
	analyze := testenv.RequireBinary(t, "systemd-analyze")
	bin := testenv.Mailwarden(t)
	unit, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "mailwarden.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/mailwarden", bin)
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "User=mailwarden",
		"ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "StateDirectory=mailwarden"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	p := filepath.Join(t.TempDir(), "mailwarden.service")
	os.WriteFile(p, []byte(text), 0o644)
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	if err != nil || strings.Contains(string(out), "mailwarden.service:") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestNotifyReadiness starts the daemon as systemd would (NOTIFY_SOCKET,
// WATCHDOG_USEC) and checks READY=1 comes only once the milter listens, that
// SIGHUP sends RELOADING=1 then READY=1, the watchdog pings, and SIGTERM
// sends STOPPING=1.
func TestNotifyReadiness(t *testing.T) {
	testenv.RequireLong(t)
	bin := testenv.Mailwarden(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	port := testenv.FreePort(t)
	cfg := filepath.Join(dir, "mailwarden.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[server]\nmilter_listen = \"inet:127.0.0.1:%d\"\nstate_dir = %q\n", port, dir)), 0o600)
	cmd := exec.Command(bin, "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000", "WATCHDOG_PID=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	next := func(skipWatchdog bool) string {
		t.Helper()
		buf := make([]byte, 4096)
		for {
			nc.SetReadDeadline(time.Now().Add(15 * time.Second))
			n, err := nc.Read(buf)
			if err != nil {
				t.Fatalf("no notification: %v", err)
			}
			msg := string(buf[:n])
			if skipWatchdog && msg == "WATCHDOG=1\n" {
				continue
			}
			return msg
		}
	}
	if got := next(true); !strings.Contains(got, "READY=1") {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		t.Fatalf("READY=1 sent before the milter listened: %v", err)
	}
	c.Close()
	if got := next(false); got != "WATCHDOG=1\n" {
		t.Fatalf("got %q, want a watchdog ping", got)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if got := next(true); !strings.HasPrefix(got, "RELOADING=1") {
		t.Fatalf("after SIGHUP got %q", got)
	}
	if got := next(true); !strings.Contains(got, "READY=1") {
		t.Fatalf("after reload got %q", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if got := next(true); got != "STOPPING=1\n" {
		t.Fatalf("after SIGTERM got %q", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
