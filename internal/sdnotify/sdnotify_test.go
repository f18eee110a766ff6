package sdnotify

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, p
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	c, p := listen(t)
	t.Setenv("NOTIFY_SOCKET", p)
	n := FromEnv()
	n.Ready()
	if got := read(t, c); !strings.Contains(got, "READY=1\n") {
		t.Fatalf("got %q", got)
	}
	n.Reloading()
	if got := read(t, c); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("got %q", got)
	}
	n.Stopping()
	if got := read(t, c); got != "STOPPING=1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := FromEnv().Ready(); err != nil {
		t.Fatal(err)
	}
}

func TestWatchdog(t *testing.T) {
	c, p := listen(t)
	t.Setenv("NOTIFY_SOCKET", p)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", "")
	iv := WatchdogInterval()
	if iv != 20*time.Millisecond {
		t.Fatalf("interval %v", iv)
	}
	stop := make(chan struct{})
	go FromEnv().Watchdog(iv, func() bool { return true }, stop)
	defer close(stop)
	if got := read(t, c); got != "WATCHDOG=1\n" {
		t.Fatalf("got %q", got)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if WatchdogInterval() != 0 {
		t.Fatal("watchdog for another pid")
	}
}
