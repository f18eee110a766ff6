package store_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailwarden/mailwarden/internal/store"
)

// TestBoltTwoProcesses runs a second process (this test binary, as a
// helper) that writes to the same file while this process keeps using it:
// the lease must let both in, and nothing written may be lost.
func TestBoltTwoProcesses(t *testing.T) {
	if os.Getenv("STORE_HELPER_PATH") != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := store.OpenBolt(path, store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltHelper$")
	cmd.Env = append(os.Environ(), "STORE_HELPER_PATH="+path)
	out := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		b, err := cmd.CombinedOutput()
		out <- b
		errc <- err
	}()
	// Keep the file busy from this process meanwhile.
	deadline := time.Now().Add(20 * time.Second)
	mine := 0
	var helperErr error
	var helperOut []byte
loop:
	for {
		select {
		case helperOut = <-out:
			helperErr = <-errc
			break loop
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("helper process did not finish: it never got the file")
		}
		if _, err := s.Incr(ctx, "daemon:n", 1, 0); err != nil {
			t.Fatalf("daemon-side Incr: %v", err)
		}
		mine++
	}
	if helperErr != nil {
		t.Fatalf("helper: %v\n%s", helperErr, helperOut)
	}
	v, _, err := s.Get(ctx, "learn:n")
	if n, _ := store.ParseInt(v); err != nil || n != helperWrites {
		t.Fatalf("helper's counter = %q %v, want %d", v, err, helperWrites)
	}
	v, _, _ = s.Get(ctx, "daemon:n")
	if n, _ := store.ParseInt(v); n != int64(mine) {
		t.Fatalf("own counter = %d, want %d", n, mine)
	}
}

const helperWrites = 20

// TestBoltHelper is the second process of TestBoltTwoProcesses.
func TestBoltHelper(t *testing.T) {
	path := os.Getenv("STORE_HELPER_PATH")
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := store.OpenBolt(path, store.BoltOptions{NoSync: true, LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range helperWrites {
		if _, err := s.Incr(context.Background(), "learn:n", 1, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBoltLockedFailsClearly: while another process holds the file beyond
// LockTimeout, operations fail with an error naming the file, quickly, and
// work again once it lets go.
func TestBoltLockedFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := store.OpenBolt(path, store.BoltOptions{NoSync: true, LockTimeout: 200 * time.Millisecond, IdleRelease: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(50 * time.Millisecond) // idle: the file is released
	// Another holder that never yields (bbolt directly, as a foreign process would).
	holder, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _, err = s.Get(ctx, "k")
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("Get on a locked file: %v", err)
	}
	start := time.Now()
	// Fast means well under the 5 s lock wait (1 s leaves room for a loaded machine).
	if _, _, err := s.Get(ctx, "k"); err == nil || time.Since(start) > time.Second {
		t.Fatalf("second Get: %v after %s; want a fast failure", err, time.Since(start))
	}
	holder.Close()
	time.Sleep(1100 * time.Millisecond)
	if err := s.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatalf("after the holder let go: %v", err)
	}
}
