package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Daemon is a real mailwarden process started by a test.
type Daemon struct {
	ConfigPath string
	// MilterAddr is "127.0.0.1:PORT"; Milter is the same in Postfix syntax
	// ("inet:127.0.0.1:PORT").
	MilterAddr string
	Milter     string
	// PolicyAddr/Policy likewise, when the config asks for {{POLICY}}.
	PolicyAddr string
	Policy     string
	// MetricsAddr is set when the config asks for {{METRICS}}.
	MetricsAddr string
	StateDir    string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartDaemon writes config to a temp file and runs mailwarden on it. In the
// text, {{MILTER}} and {{POLICY}} are replaced by free loopback listen
// addresses ("inet:127.0.0.1:PORT") and {{STATE}} by a temp state dir. When
// the text has no [server] milter_listen, one is added. It waits until the
// listeners accept connections and stops the process when the test ends.
func StartDaemon(t testing.TB, config string) *Daemon {
	t.Helper()
	RequireLong(t)
	bin := Mailwarden(t)
	dir := t.TempDir()
	d := &Daemon{ConfigPath: filepath.Join(dir, "mailwarden.toml"), StateDir: filepath.Join(dir, "state")}
	os.MkdirAll(d.StateDir, 0o700)
	d.MilterAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	d.Milter = "inet:" + d.MilterAddr
	if strings.Contains(config, "{{POLICY}}") {
		d.PolicyAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		d.Policy = "inet:" + d.PolicyAddr
	}
	if strings.Contains(config, "{{METRICS}}") {
		d.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	if !strings.Contains(config, "milter_listen") {
		if strings.Contains(config, "[server]") {
			config = strings.Replace(config, "[server]", "[server]\nmilter_listen = \"{{MILTER}}\"", 1)
		} else {
			config = "[server]\nmilter_listen = \"{{MILTER}}\"\nstate_dir = \"{{STATE}}\"\n" + config
		}
	}
	config = strings.NewReplacer("{{MILTER}}", d.Milter, "{{POLICY}}", d.Policy, "{{STATE}}", d.StateDir, "{{METRICS}}", d.MetricsAddr).Replace(config)
	if err := os.WriteFile(d.ConfigPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d.log = &syncBuffer{}
	d.cmd = exec.Command(bin, "run", "-c", d.ConfigPath)
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start mailwarden: %v", err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("mailwarden log:\n%s", d.Log())
		}
	})
	// Ready when the milter listener accepts (the log may be quieter than
	// INFO, so the "ready" line is not waited for).
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-d.done:
			t.Fatalf("mailwarden exited at start:\n%s", d.Log())
		default:
		}
		if c, err := net.DialTimeout("tcp", d.MilterAddr, 100*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailwarden not listening after 20s:\n%s", d.Log())
		}
		time.Sleep(30 * time.Millisecond)
	}
	if d.PolicyAddr != "" {
		WaitListening(t, "tcp", d.PolicyAddr, 5*time.Second)
	}
	return d
}

// Log returns what the daemon logged so far.
func (d *Daemon) Log() string { return d.log.String() }

// Pid is the daemon's process id (its CPU time, for benchmarks).
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Reload sends SIGHUP and waits for the daemon to log the outcome.
func (d *Daemon) Reload(t testing.TB) {
	t.Helper()
	before := strings.Count(d.Log(), "reload")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(d.Log(), "reload") == before {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", d.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WriteConfig replaces the config file (for a reload test).
func (d *Daemon) WriteConfig(t testing.TB, text string) {
	t.Helper()
	if err := os.WriteFile(d.ConfigPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Config returns the config file's current text.
func (d *Daemon) Config(t testing.TB) string {
	b, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Stop sends SIGTERM and waits for the process to exit.
func (d *Daemon) Stop() {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// Running reports whether the process is still alive.
func (d *Daemon) Running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}
