package dkimsign

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// OpenDKIMVerify verifies msg with OpenDKIM's opendkim-testmsg (an
// independent implementation), the keys served by srv.
//
// opendkim-testmsg has no resolver option: libopendkim asks the servers of
// /etc/resolv.conf on port 53. So the test starts a forwarder on port 53 of a
// private loopback address (127.77.x.y) passing queries to srv, and runs
// opendkim-testmsg in a private mount namespace (unshare -m) where
// /etc/resolv.conf is bind-mounted to name only that forwarder. Needs root
// and unshare (util-linux).
func OpenDKIMVerify(t *testing.T, srv *dnstest.Server, msg []byte) {
	t.Helper()
	if out, err := openDKIMRun(t, srv, msg); err != nil {
		t.Fatalf("opendkim-testmsg rejected the signature(s): %v\n%s", err, out)
	}
	if q := srv.TotalQueries(); q == 0 {
		t.Fatalf("opendkim-testmsg asked no DNS query: the verification did not use our key")
	}
}

// OpenDKIMRefuses checks opendkim-testmsg fails msg (a tampered message).
func OpenDKIMRefuses(t *testing.T, srv *dnstest.Server, msg []byte) {
	t.Helper()
	if out, err := openDKIMRun(t, srv, msg); err == nil {
		t.Fatalf("opendkim-testmsg accepted a tampered message: %s", out)
	}
}

func openDKIMRun(t *testing.T, srv *dnstest.Server, msg []byte) (string, error) {
	t.Helper()
	bin := testenv.RequireBinary(t, "opendkim-testmsg")
	unshare := testenv.RequireBinary(t, "unshare")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "opendkim-testmsg verification binds a resolver on port 53 in a private mount namespace")
	}
	fwd := startForwarder(t, srv.Addr())
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(resolv, []byte("nameserver "+fwd+"\noptions attempts:1 timeout:2\n"), 0o644)
	script := `mount --bind "$1" /etc/resolv.conf && exec "$2"`
	cmd := exec.Command(unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", resolv, bin)
	// opendkim-testmsg wants LF line ends on input, as the MTA hands mail to it.
	cmd.Stdin = bytes.NewReader(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if s := strings.TrimSpace(out.String()); err == nil && s != "" {
		// It prints nothing on success.
		return s, fmt.Errorf("unexpected output")
	}
	return out.String(), err
}

// startForwarder listens on UDP and TCP port 53 of a free 127.77.x.y address
// and forwards every query to upstream.
func startForwarder(t *testing.T, upstream string) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
			c.Net = "tcp"
		}
		r, _, err := c.Exchange(q, upstream)
		if err != nil {
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeServerFailure)
			w.WriteMsg(m)
			return
		}
		w.WriteMsg(r)
	})
	for i := 0; i < 50; i++ {
		addr := net.JoinHostPort(net.IPv4(127, 77, byte(os.Getpid()>>8+i), byte(os.Getpid()+i)).String(), "53")
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			pc.Close()
			continue
		}
		u := &dns.Server{PacketConn: pc, Handler: h}
		tc := &dns.Server{Listener: ln, Handler: h}
		go u.ActivateAndServe()
		go tc.ActivateAndServe()
		t.Cleanup(func() { u.Shutdown(); tc.Shutdown() })
		host, _, _ := net.SplitHostPort(addr)
		return host
	}
	testenv.Missing(t, "a loopback port 53", "cannot bind 127.77.x.y:53 (root needed)")
	return ""
}
