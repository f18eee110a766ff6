// Package storetest gives tests real state stores: an embedded store in a
// temporary directory, or a private redis-server started on a free loopback
// port with its own temporary directory (skipped outside CI, and failing in
// CI, when redis-server is not installed). Use Each to run one test against
// both backends.
package storetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// redisStartTimeout bounds the wait for redis-server to accept connections.
const redisStartTimeout = 10 * time.Second

// Bolt returns an embedded store in t.TempDir(), closed at the end of the test.
func Bolt(t testing.TB) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// StartRedis starts a private redis-server on 127.0.0.1 and returns its URL.
// The server is stopped at the end of the test.
func StartRedis(t testing.TB) string {
	t.Helper()
	bin := testenv.RequireBinary(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\nsave \"\"\nappendonly no\nprotected-mode yes\nlogfile %s\n",
		port, dir, filepath.Join(dir, "redis.log"))
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, confPath)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(redisStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			fmt.Fprintf(c, "PING\r\n")
			c.SetReadDeadline(time.Now().Add(time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not start on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis://" + addr + "/0"
}

// Redis returns a store on a private redis-server.
func Redis(t testing.TB) *store.Redis {
	t.Helper()
	s, err := store.OpenRedis(StartRedis(t), "test:")
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Backends lists the backends Each runs.
var Backends = []string{"embedded", "redis"}

// New returns a fresh store of the named backend.
func New(t testing.TB, backend string) store.Store {
	t.Helper()
	switch backend {
	case "embedded":
		return Bolt(t)
	case "redis":
		return Redis(t)
	}
	t.Fatalf("unknown backend %q", backend)
	return nil
}

// Each runs f as a subtest once per backend, each with a fresh store.
func Each(t *testing.T, f func(t *testing.T, s store.Store)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b, func(t *testing.T) { f(t, New(t, b)) })
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
