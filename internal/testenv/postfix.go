package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostfixOptions configure a private Postfix instance.
type PostfixOptions struct {
	// Milter is smtpd_milters (e.g. "inet:127.0.0.1:8891"); "" for none.
	Milter string
	// NonSMTPDMilter is non_smtpd_milters (mail from sendmail(1)).
	NonSMTPDMilter string
	// PolicyService adds check_policy_service with this endpoint to
	// smtpd_recipient_restrictions.
	PolicyService string
	// MainCF adds or overrides main.cf parameters.
	MainCF map[string]string
	// Sink receives relayed mail; a new one is started when nil.
	Sink *Sink
}

// Postfix is a private Postfix instance on loopback relaying to a Sink.
type Postfix struct {
	Dir      string
	SMTPAddr string
	Sink     *Sink
	t        testing.TB
}

// mainCFLock serializes edits of /etc/postfix/main.cf's
// alternate_config_directories between test processes.
const mainCFLock = "/tmp/mailwarden-postfix-main-cf.lock"

// StartPostfix starts a private Postfix: its own config, queue and data
// directories in a temp dir, smtpd on a free loopback port, relaying all mail
// to the sink. It is stopped when the test ends.
func StartPostfix(t testing.TB, o PostfixOptions) *Postfix {
	t.Helper()
	RequireLong(t)
	postfixBin := RequireBinary(t, "postfix")
	if os.Geteuid() != 0 {
		Missing(t, "root", "a private Postfix instance needs root")
	}
	if o.Sink == nil {
		o.Sink = StartSink(t)
	}
	dir, err := os.MkdirTemp("", "mwpf-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	for _, d := range []string{"queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exec.Command("chown", "postfix", filepath.Join(dir, "data")).Run()
	port := FreePort(t)
	pf := &Postfix{Dir: dir, SMTPAddr: fmt.Sprintf("127.0.0.1:%d", port), Sink: o.Sink, t: t}

	params := map[string]string{
		"compatibility_level":    "3.6",
		"queue_directory":        filepath.Join(dir, "queue"),
		"data_directory":         filepath.Join(dir, "data"),
		"command_directory":      "/usr/sbin",
		"daemon_directory":       "/usr/lib/postfix/sbin",
		"meta_directory":         "/etc/postfix",
		"shlib_directory":        "/usr/lib/postfix",
		"mail_owner":             "postfix",
		"setgid_group":           "postdrop",
		"myhostname":             "mx.mailwarden.test",
		"mydomain":               "mailwarden.test",
		"myorigin":               "mailwarden.test",
		"inet_interfaces":        "127.0.0.1",
		"inet_protocols":         "ipv4",
		"mydestination":          "",
		"mynetworks":             "127.0.0.0/8",
		"relayhost":              "[" + strings.Replace(o.Sink.Addr, ":", "]:", 1),
		"smtp_dns_support_level": "disabled",
		"disable_dns_lookups":    "yes",
		"maillog_file":           filepath.Join(dir, "maillog"),
		"maillog_file_prefixes":  dir,
		// Treat the loopback test client as remote for header rewriting:
		// otherwise cleanup adds a missing Date/Message-ID/From before the
		// milter sees the header.
		"local_header_rewrite_clients":    "",
		"alias_maps":                      "",
		"alias_database":                  "",
		"local_recipient_maps":            "",
		"smtpd_relay_restrictions":        "permit_mynetworks, reject_unauth_destination",
		"smtpd_recipient_restrictions":    "",
		"milter_default_action":           "tempfail",
		"milter_protocol":                 "6",
		"smtpd_milters":                   o.Milter,
		"non_smtpd_milters":               o.NonSMTPDMilter,
		"queue_run_delay":                 "1s",
		"minimal_backoff_time":            "1s",
		"maximal_backoff_time":            "2s",
		"smtpd_error_sleep_time":          "0",
		"smtp_connection_cache_on_demand": "no",
		"biff":                            "no",
		"smtputf8_enable":                 "no",
		"default_process_limit":           "50",
	}
	delete(params, "disable_dns_lookups")
	if o.PolicyService != "" {
		params["smtpd_recipient_restrictions"] = "check_policy_service " + o.PolicyService
	}
	for k, v := range o.MainCF {
		params[k] = v
	}
	var keys []string
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var mc bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&mc, "%s = %s\n", k, params[k])
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), mc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	master := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, port)
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := registerAlternate(dir, true); err != nil {
		t.Fatalf("registering %s in /etc/postfix/main.cf: %v", dir, err)
	}
	t.Cleanup(func() {
		exec.Command(postfixBin, "-c", dir, "stop").Run()
		time.Sleep(200 * time.Millisecond)
		exec.Command(postfixBin, "-c", dir, "abort").Run()
		registerAlternate(dir, false)
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("postfix dir kept for inspection: %s", dir)
		}
	})
	out, err := exec.Command(postfixBin, "-c", dir, "start").CombinedOutput()
	if err != nil {
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, pf.Log())
	}
	WaitListening(t, "tcp", pf.SMTPAddr, 15*time.Second)
	return pf
}

// Log returns Postfix's log so far.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

// Flush asks the queue manager to retry deferred mail now.
func (p *Postfix) Flush() {
	exec.Command("postqueue", "-c", p.Dir, "-f").Run()
}

// Queue returns `postqueue -p` output.
func (p *Postfix) Queue() string {
	out, _ := exec.Command("postqueue", "-c", p.Dir, "-p").CombinedOutput()
	return string(out)
}

// Sendmail submits a message through Postfix's sendmail(1) (non-SMTP mail).
func (p *Postfix) Sendmail(t testing.TB, from string, rcpts []string, msg []byte) error {
	t.Helper()
	args := append([]string{"-C", p.Dir, "-f", from, "--"}, rcpts...)
	cmd := exec.Command("/usr/sbin/sendmail", args...)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sendmail: %v: %s", err, out)
	}
	return nil
}

func registerAlternate(dir string, add bool) error {
	lf, err := os.OpenFile(mainCFLock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	const path = "/etc/postfix/main.cf"
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var lines []string
	var dirs []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "alternate_config_directories") {
			_, v, _ := strings.Cut(l, "=")
			for _, d := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				if d != dir {
					if _, err := os.Stat(d); err == nil {
						dirs = append(dirs, d)
					}
				}
			}
			continue
		}
		lines = append(lines, l)
	}
	if add {
		dirs = append(dirs, dir)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(dirs) > 0 {
		lines = append(lines, "alternate_config_directories = "+strings.Join(dirs, ", "))
	}
	tmp := path + ".mailwarden-tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SendResult is what the SMTP client saw.
type SendResult struct {
	Code  int    // final reply code (250 on success)
	Text  string // reply text
	Stage string // "mail", "rcpt", "data" or "done"
}

func (r SendResult) String() string { return fmt.Sprintf("%s: %d %s", r.Stage, r.Code, r.Text) }

// Mail is one message to send.
type Mail struct {
	From  string
	Rcpts []string
	Data  []byte
}

// Send sends one message over a new SMTP connection.
func (p *Postfix) Send(t testing.TB, from string, rcpts []string, data []byte) SendResult {
	t.Helper()
	return p.SendMany(t, "client.mailwarden.test", []Mail{{From: from, Rcpts: rcpts, Data: data}})[0]
}

// SendAs sends one message as another client: the session starts with
// Postfix's XCLIENT command (xclient is its attribute list, e.g.
// "ADDR=198.51.100.7 NAME=[UNAVAILABLE]"), so smtpd and its milters see
// that address and name instead of 127.0.0.1. The instance must allow it:
// MainCF smtpd_authorized_xclient_hosts = 127.0.0.0/8.
func (p *Postfix) SendAs(t testing.TB, xclient, from string, rcpts []string, data []byte) SendResult {
	t.Helper()
	c := smtpDial(t, p.SMTPAddr, xclient, "client.mailwarden.test")
	defer c.Close()
	r := sendOne(c, Mail{From: from, Rcpts: rcpts, Data: data})
	c.Quit()
	return r
}

// SendMany sends several messages over ONE SMTP connection.
func (p *Postfix) SendMany(t testing.TB, helo string, mails []Mail) []SendResult {
	t.Helper()
	return sendMany(t, p.SMTPAddr, helo, mails)
}

// smtpDial opens an SMTP session with the MTA at addr up to EHLO helo, as
// the client xclient names (Postfix XCLIENT attributes) or, if it is "",
// as itself.
func smtpDial(t testing.TB, addr, xclient, helo string) *smtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatalf("smtp greeting: %v", err)
	}
	if xclient != "" {
		id, err := c.Text.Cmd("XCLIENT %s", xclient)
		if err != nil {
			c.Close()
			t.Fatalf("XCLIENT: %v", err)
		}
		c.Text.StartResponse(id)
		_, _, err = c.Text.ReadResponse(220) // a new greeting, as for a new client
		c.Text.EndResponse(id)
		if err != nil {
			c.Close()
			t.Fatalf("XCLIENT %s: %v", xclient, err)
		}
	}
	if err := c.Hello(helo); err != nil {
		c.Close()
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// sendMany sends mails over one SMTP session with the MTA at addr.
func sendMany(t testing.TB, addr, helo string, mails []Mail) []SendResult {
	t.Helper()
	c := smtpDial(t, addr, "", helo)
	defer c.Close()
	var out []SendResult
	for _, m := range mails {
		out = append(out, sendOne(c, m))
		c.Reset()
	}
	c.Quit()
	return out
}

func sendOne(c *smtp.Client, m Mail) SendResult {
	res := func(stage string, err error) SendResult {
		var te *textproto.Error
		if errors.As(err, &te) {
			return SendResult{Code: te.Code, Text: te.Msg, Stage: stage}
		}
		return SendResult{Code: -1, Text: err.Error(), Stage: stage}
	}
	if err := c.Mail(m.From); err != nil {
		return res("mail", err)
	}
	accepted := 0
	var last SendResult
	for _, r := range m.Rcpts {
		if err := c.Rcpt(r); err != nil {
			last = res("rcpt", err)
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return last
	}
	w, err := c.Data()
	if err != nil {
		return res("data", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		return res("data", err)
	}
	if err := w.Close(); err != nil {
		return res("data", err)
	}
	return SendResult{Code: 250, Text: "ok", Stage: "done"}
}
