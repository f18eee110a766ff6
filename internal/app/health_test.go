package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestHealthy: a started daemon is healthy; one whose listener stopped
// serving outside a shutdown is not (the systemd watchdog then restarts it);
// a shutdown does not count as a failure.
func TestHealthy(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeTemp(t, dir, "cfg.toml", fmt.Sprintf(`
[server]
state_dir = %q
milter_listen = "inet:127.0.0.1:0"
policy_listen = "inet:127.0.0.1:0"
metrics_listen = ""
[virus]
enabled = false
`, dir))
	start := func() *Daemon {
		d, err := NewDaemon(cfgPath, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	shutdown := func(d *Daemon) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	}

	d := start()
	if !d.Healthy() {
		t.Fatal("freshly started daemon is not healthy")
	}
	d.lns[0].Close() // the milter listener dies under the daemon
	deadline := time.Now().Add(5 * time.Second)
	for d.Healthy() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d.Healthy() {
		t.Fatal("still healthy with its milter listener gone")
	}
	shutdown(d)

	d = start()
	shutdown(d)
	if d.listenerDown.Load() {
		t.Fatal("a shutdown was taken for a listener failure")
	}
}
