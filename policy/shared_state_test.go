package policy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestTwoInstancesShareRedis runs two real mailwarden daemons on one
// redis-server ([store] backend = "redis"), as two MX hosts would: the
// karma penalty a client earns at the first is enforced at the second, and a
// greylisting triplet first seen at one passes at the other.
func TestTwoInstancesShareRedis(t *testing.T) {
	url := storetest.StartRedis(t)
	conf := fmt.Sprintf(`
[server]
policy_listen = "{{POLICY}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = []
[store]
backend = "redis"
redis_url = "%s"
[envelope.lists]
badmailfrom = ["spammer@bad.example"]
[envelope.resolvable_fromhost]
enabled = false
[spf]
enabled = false
[karma]
enabled = true
negative = 2
[greylist]
enabled = true
delay = "1s"
`, url)
	a := testenv.StartDaemon(t, conf)
	b := testenv.StartDaemon(t, conf)

	ask := func(t *testing.T, addr, instance, client, sender, rcpt string) string {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address="+client+
			"\nclient_name=unknown\nhelo_name=mx.example.net\nsender="+sender+"\nrecipient="+rcpt+"\ninstance="+instance+"\n\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		return strings.TrimSpace(line)
	}
	steps := []struct {
		name     string
		at       string // "a" or "b"
		sleep    time.Duration
		instance string
		client   string
		sender   string
		rcpt     string
		want     string // reply prefix
	}{
		{"naughty at a", "a", 0, "k1", "192.0.2.20", "spammer@bad.example", "x@example.org", "action=REJECT"},
		{"naughty at b", "b", 0, "k2", "192.0.2.20", "spammer@bad.example", "x@example.org", "action=REJECT"},
		{"penalty enforced at a", "a", 0, "k3", "192.0.2.20", "alice@example.com", "x@example.org", "action=REJECT 5.7.1 You were naughty"},
		{"new triplet greylisted at a", "a", 0, "g1", "198.51.100.30", "alice@example.com", "y@example.org", "action=DEFER_IF_PERMIT 4.7.1 Greylisted"},
		{"retry passes at b", "b", 1500 * time.Millisecond, "g2", "198.51.100.31", "alice@example.com", "y@example.org", "action=DUNNO"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			time.Sleep(st.sleep)
			d := a
			if st.at == "b" {
				d = b
			}
			if got := ask(t, d.PolicyAddr, st.instance, st.client, st.sender, st.rcpt); !strings.HasPrefix(got, st.want) {
				t.Fatalf("%s answered %q, want %q", st.at, got, st.want)
			}
		})
	}
}
