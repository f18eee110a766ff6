// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): READY=1 once every listener is up and the config and keys
// are loaded, RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 at
// shutdown, and WATCHDOG=1 keep-alives at half of WatchdogSec. It is the few
// lines of the protocol, not a library: a datagram to $NOTIFY_SOCKET.
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.
package sdnotify

import (
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notifier sends state changes to systemd.
type Notifier struct{ addr string }

// FromEnv returns a notifier for $NOTIFY_SOCKET (nil-safe when unset).
func FromEnv() *Notifier {
	a := os.Getenv("NOTIFY_SOCKET")
	if a == "" {
		return &Notifier{}
	}
	return &Notifier{addr: a}
}

// Enabled reports whether systemd asked for notifications.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// Send sends one or more "KEY=value" assignments.
func (n *Notifier) Send(state ...string) error {
	if !n.Enabled() {
		return nil
	}
	addr := n.addr
	if strings.HasPrefix(addr, "@") { // abstract namespace
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(strings.Join(state, "\n") + "\n"))
	return err
}

// Ready says the service is up.
func (n *Notifier) Ready() error { return n.Send("READY=1", "STATUS=ready") }

// Reloading says a reload started; call Ready when it is done.
func (n *Notifier) Reloading() error {
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10))
}

// Stopping says shutdown started.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Status sets the free-text status systemctl shows.
func (n *Notifier) Status(s string) error { return n.Send("STATUS=" + s) }

// WatchdogInterval returns half of the watchdog timeout systemd set
// ($WATCHDOG_USEC, for this process per $WATCHDOG_PID), or 0.
func WatchdogInterval() time.Duration {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(us) * time.Microsecond / 2
}

// Watchdog sends WATCHDOG=1 every interval while alive() reports true,
// until stop is closed. alive lets the caller withhold keep-alives when the
// service is wedged (so systemd restarts it).
func (n *Notifier) Watchdog(interval time.Duration, alive func() bool, stop <-chan struct{}) {
	if !n.Enabled() || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if alive == nil || alive() {
				n.Send("WATCHDOG=1")
			}
		}
	}
}
