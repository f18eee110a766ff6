// Package clamdtest runs a private clamd for tests: on loopback, on a free
// port, in a temp directory, with a signature database written at test time
// that detects the EICAR test string and nothing else (no download). It
// waits for PING/PONG with a deadline, since clamd may take seconds to load.
//
// Without clamd installed (Debian clamav-daemon) the test is skipped, or
// fails in CI (internal/testenv).
package clamdtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// StartTimeout bounds clamd's start: with a one-signature database it is
// ready in well under a second, but a loaded machine may take seconds.
const StartTimeout = 30 * time.Second

// StreamMaxLength is the INSTREAM limit of the test clamd.
const StreamMaxLength = "10M"

// Signature is the name our test database gives the EICAR detection.
const Signature = "Eicar-Test-Signature"

// EICAR returns the 68-byte EICAR anti-virus test file. It is assembled at
// run time so that the source tree itself carries no detectable test virus.
func EICAR() []byte {
	parts := []string{`X5O!P%@AP[4\PZX54(P^)7CC)7}$`, `EICAR-STANDARD-`, `ANTIVIRUS-TEST-FILE!$H+H*`}
	return []byte(strings.Join(parts, ""))
}

// Server is a running private clamd.
type Server struct {
	Addr string // "127.0.0.1:PORT"
	// Socket is clamd's unix socket (LocalSocket), served beside Addr.
	Socket string
	Dir    string
	bin    string
	conf   string
	cmd    *exec.Cmd
	done   chan struct{}

	mu      sync.Mutex
	stopped bool
}

// Start runs clamd and waits until it answers PING. It is stopped at the end
// of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	testenv.RequireLong(t)
	bin := testenv.RequireBinary(t, "clamd")
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	// An .ndb body signature: Name:TargetType(0 = any file):Offset(* = anywhere):HexSignature.
	sig := fmt.Sprintf("%s:0:*:%s\n", Signature, hex.EncodeToString(EICAR()))
	if err := os.WriteFile(filepath.Join(db, "mailwarden-test.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := filepath.Join(dir, "clamd.conf")
	text := strings.Join([]string{
		"Foreground yes",
		"TCPSocket " + port,
		"TCPAddr 127.0.0.1",
		"LocalSocket " + filepath.Join(dir, "clamd.sock"),
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"SelfCheck 0",
		// Small enough for a test to cross it cheaply (clamd's default is 25M).
		"StreamMaxLength " + StreamMaxLength,
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// clamd keeps root when no User is set; make sure it can read its
		// files either way.
		os.Chmod(dir, 0o755)
	}
	s := &Server{Addr: "127.0.0.1:" + port, Socket: filepath.Join(dir, "clamd.sock"), Dir: dir, bin: bin, conf: conf}
	t.Cleanup(s.Stop)
	s.start(t)
	return s
}

// start runs clamd and waits for PING/PONG.
func (s *Server) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, "-c", s.conf)
	out, err := os.OpenFile(filepath.Join(s.Dir, "clamd.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting clamd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.stopped = cmd, done, false
	s.mu.Unlock()

	c := s.Client(2 * time.Second)
	deadline := time.Now().Add(StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			t.Fatalf("clamd exited during start: %s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clamd did not answer PING within %v: %v\n%s", StartTimeout, err, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart stops clamd and starts it again on the same address, as a
// package upgrade or a crash and restart would.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// Client returns a client for this clamd.
func (s *Server) Client(timeout time.Duration) *clamd.Client {
	return &clamd.Client{Network: "tcp", Address: s.Addr, Timeout: timeout, ChunkSize: clamd.DefaultChunkSize}
}

// Log returns clamd's log and output so far.
func (s *Server) Log() string {
	var b strings.Builder
	for _, f := range []string{"clamd.log", "clamd.out"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, f))
		b.Write(data)
	}
	return b.String()
}

// Stop kills clamd and waits for it to exit (the port is then closed).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.cmd == nil {
		return
	}
	s.stopped = true
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
