package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Sendmail cannot be installed beside Postfix (the Debian packages
// sendmail-bin and postfix conflict), so the tests run it unpacked from its
// .debs: `apt-get download` into SendmailCacheDir once, `dpkg -x` into
// SendmailCacheDir/root, and a private sendmail.cf generated with m4 from the
// unpacked cf/ tree. Sendmail itself runs in a private mount and UTS
// namespace (unshare) where its host name is a qualified one and /etc/hosts
// is a file of ours: on a host whose name has no dot, Sendmail otherwise
// sleeps 60 seconds at start-up trying to qualify it, and it must never wait
// on DNS.

// SendmailCacheDir is where the Sendmail .debs are kept between runs
// (override with MAILWARDEN_TEST_CACHE, which names the parent directory).
var SendmailCacheDir = filepath.Join(cacheRoot(), "sendmail")

func cacheRoot() string {
	if d := os.Getenv("MAILWARDEN_TEST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/mailwarden-test"
}

// sendmailPackages are the Debian packages unpacked for the test: the MTA
// binary (and helpfile) and the m4 tree that builds sendmail.cf.
var sendmailPackages = []string{"sendmail-bin", "sendmail-cf"}

// Sendmail start-up and shutdown limits. Start-up includes generating the .cf
// and the daemon's own initialisation; a healthy start takes well under a
// second, the margin is for a loaded 2-core CI machine.
const (
	sendmailStartTimeout = 20 * time.Second
	sendmailStopTimeout  = 5 * time.Second
	// sendmailHostname is the qualified name Sendmail runs under.
	sendmailHostname = "mx.mailwarden.test"
)

// SendmailOptions configure a private Sendmail instance.
type SendmailOptions struct {
	// MilterAddr is mailwarden's milter listener "127.0.0.1:PORT" ("" for no
	// milter). It becomes INPUT_MAIL_FILTER(`mailwarden',
	// `S=inet:PORT@127.0.0.1, F=T, T=S:30s;R:30s;E:5m').
	MilterAddr string
	// MilterFlags is the F= equate: "T" (tempfail when the milter is
	// unreachable, the default), "R" (reject) or "-" for none (accept
	// unfiltered).
	MilterFlags string
	// DaemonName is the daemon's Name= (the {daemon_name} macro mailwarden
	// sees): "MTA" (Sendmail's default for port 25) unless set, e.g. "MSA"
	// for a submission daemon.
	DaemonName string
	// MC adds lines to the generated .mc before the MAILER lines.
	MC string
	// Sink receives relayed mail; a new one is started when nil.
	Sink *Sink
}

// Sendmail is a private Sendmail on loopback relaying all mail to a Sink.
type Sendmail struct {
	Dir      string
	SMTPAddr string
	Sink     *Sink
	// CF is the generated sendmail.cf's path; MC the .mc it came from.
	CF, MC string

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// StartSendmail starts a private Sendmail: its own sendmail.cf, queue and
// pid file in a temp dir, its daemon on a free loopback port, all mail
// relayed through the smart host [127.0.0.1]:sinkport. Sendmail runs in the
// foreground (-bD) as a child of the test and is stopped when the test ends.
func StartSendmail(t testing.TB, o SendmailOptions) *Sendmail {
	t.Helper()
	RequireLong(t)
	if os.Geteuid() != 0 {
		Missing(t, "root", "a private Sendmail needs root (queue ownership, a private mount namespace)")
	}
	m4 := RequireBinary(t, "m4")
	unshare := RequireBinary(t, "unshare")
	RequireBinary(t, "mount")
	RequireBinary(t, "hostname")
	// A container without CAP_SYS_ADMIN cannot make namespaces: say so
	// rather than fail later with Sendmail's silence.
	if out, err := exec.Command(unshare, "--mount", "--uts", "true").CombinedOutput(); err != nil {
		Missing(t, "mount/UTS namespaces (unshare)", fmt.Sprintf("unshare --mount --uts: %v: %s", err, bytes.TrimSpace(out)))
	}
	root := SendmailRoot(t)
	if o.Sink == nil {
		o.Sink = StartSink(t)
	}
	if o.DaemonName == "" {
		o.DaemonName = "MTA"
	}
	if o.MilterFlags == "" {
		o.MilterFlags = "T"
	}
	dir, err := os.MkdirTemp("", "mwsm-")
	if err != nil {
		t.Fatal(err)
	}
	// Sendmail refuses a queue directory others can write to.
	if err := os.Mkdir(filepath.Join(dir, "mqueue"), 0o700); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	sm := &Sendmail{
		Dir:      dir,
		SMTPAddr: fmt.Sprintf("127.0.0.1:%d", port),
		Sink:     o.Sink,
		CF:       filepath.Join(dir, "sendmail.cf"),
		MC:       filepath.Join(dir, "sendmail.mc"),
		out:      &syncBuffer{},
		done:     make(chan struct{}),
	}
	_, sinkPort, _ := net.SplitHostPort(o.Sink.Addr)
	files := map[string]string{
		// The service switch and hosts file keep Sendmail's own lookups off
		// DNS; the hosts file is also bound over /etc/hosts (see below).
		"service.switch":   "hosts files\naliases files\n",
		"hosts":            "127.0.0.1 localhost " + sendmailHostname + "\n",
		"local-host-names": "",
		"sendmail.mc":      sendmailMC(root, dir, port, sinkPort, o, SendmailSnippet(t)),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := exec.Command(m4, sm.MC).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		t.Fatalf("m4 %s: %v", sm.MC, err)
	}
	if err := os.WriteFile(sm.CF, cf, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "usr/libexec/sendmail/sendmail")
	// -bD: daemon in the foreground; -q2s: queue runs every 2 s (retries of
	// deferred mail); -X: SMTP trace (in and out) for Log, since Sendmail
	// only logs to syslog, which a test machine may not have; -d64.5 -D:
	// milter protocol trace into a file (on stdout it would reach the SMTP
	// client: the session's stdout is its socket).
	script := fmt.Sprintf("set -e; mount --bind %s /etc/hosts; hostname %s; exec %s -C %s -bD -q2s -X %s -D %s -d64.5",
		shellQuote(filepath.Join(dir, "hosts")), sendmailHostname, shellQuote(bin), shellQuote(sm.CF),
		shellQuote(filepath.Join(dir, "smtp.trace")), shellQuote(filepath.Join(dir, "debug.log")))
	sm.cmd = exec.Command(unshare, "--mount", "--uts", "--propagation", "private", "sh", "-c", script)
	sm.cmd.Dir = dir
	sm.cmd.Stdout = sm.out
	sm.cmd.Stderr = sm.out
	// Own process group: Stop signals Sendmail's delivery children too.
	sm.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sm.cmd.Start(); err != nil {
		t.Fatalf("start sendmail: %v", err)
	}
	go func() { sm.cmd.Wait(); close(sm.done) }()
	t.Cleanup(func() {
		sm.Stop()
		if t.Failed() {
			t.Logf("sendmail dir kept for inspection: %s\n%s", dir, sm.Log())
		} else {
			os.RemoveAll(dir)
		}
	})
	deadline := time.Now().Add(sendmailStartTimeout)
	for {
		select {
		case <-sm.done:
			t.Fatalf("sendmail exited at start:\n%s", sm.Log())
		default:
		}
		if c, err := net.DialTimeout("tcp", sm.SMTPAddr, 200*time.Millisecond); err == nil {
			c.Close()
			return sm
		}
		if time.Now().After(deadline) {
			t.Fatalf("sendmail not listening on %s after %v:\n%s", sm.SMTPAddr, sendmailStartTimeout, sm.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendmailMC is the .mc of the private instance. The milter lines are
// deploy/sendmail.mc's (snippet).
func sendmailMC(root, dir string, port int, sinkPort string, o SendmailOptions, snippet string) string {
	cfdir := filepath.Join(root, "usr/share/sendmail/cf")
	p := func(name string) string { return filepath.Join(dir, name) }
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("divert(-1)")
	w("divert(0)dnl")
	w("include(`%s/m4/cf.m4')dnl", cfdir)
	w("OSTYPE(`linux')dnl")
	w("define(`confDOMAIN_NAME', `%s')dnl", sendmailHostname)
	w("define(`confDONT_PROBE_INTERFACES', `True')dnl")
	w("define(`confSERVICE_SWITCH_FILE', `%s')dnl", p("service.switch"))
	w("define(`confHOSTS_FILE', `%s')dnl", p("hosts"))
	w("define(`QUEUE_DIR', `%s')dnl", p("mqueue"))
	w("define(`confPID_FILE', `%s')dnl", p("sendmail.pid"))
	w("define(`STATUS_FILE', `%s')dnl", p("statistics"))
	w("define(`confHELP_FILE', `%s')dnl", filepath.Join(root, "etc/mail/helpfile"))
	w("define(`ALIAS_FILE', `')dnl")
	w("define(`confCW_FILE', `-o %s')dnl", p("local-host-names"))
	// Everything goes to the sink, through the relay mailer on its port. The
	// mailer must be named: [127.0.0.1] alone is one of Sendmail's own
	// addresses (class w), which it would take for "deliver directly".
	w("define(`SMART_HOST', `relay:[127.0.0.1]')dnl")
	w("define(`RELAY_MAILER_ARGS', `TCP $h %s')dnl", sinkPort)
	w("define(`ESMTP_MAILER_ARGS', `TCP $h %s')dnl", sinkPort)
	w("define(`confTO_IDENT', `0s')dnl")
	w("define(`confDELIVERY_MODE', `background')dnl")
	w("define(`confLOG_LEVEL', `9')dnl")
	w("define(`confPRIVACY_FLAGS', `authwarnings')dnl")
	// No SASL/TLS: nothing to configure for a loopback test.
	w("define(`confAUTH_MECHANISMS', `')dnl")
	w("FEATURE(`nocanonify')dnl")
	w("FEATURE(`no_default_msa')dnl")
	// The test client is 127.0.0.1 relaying to test domains.
	w("FEATURE(`promiscuous_relay')dnl")
	w("FEATURE(`accept_unresolvable_domains')dnl")
	w("FEATURE(`accept_unqualified_senders')dnl")
	w("DAEMON_OPTIONS(`Port=%d, Addr=127.0.0.1, Family=inet, Name=%s')dnl", port, o.DaemonName)
	if o.MilterAddr != "" {
		// deploy/sendmail.mc as shipped, pointed at the test's mailwarden.
		host, mport, _ := net.SplitHostPort(o.MilterAddr)
		flags := ""
		if o.MilterFlags != "-" {
			flags = ", F=" + o.MilterFlags
		}
		b.WriteString(strings.NewReplacer(
			deploySocket, fmt.Sprintf("S=inet:%s@%s", mport, host),
			deployFlags, flags,
		).Replace(snippet))
	}
	if o.MC != "" {
		w("%s", o.MC)
	}
	w("MAILER(`smtp')dnl")
	return b.String()
}

// The shipped milter snippet and the parts of it the harness replaces.
const (
	deploySendmailMC = "deploy/sendmail.mc"
	deploySocket     = "S=inet:8891@127.0.0.1"
	deployFlags      = ", F=T"
)

// SendmailSnippet returns deploy/sendmail.mc, the INPUT_MAIL_FILTER and
// confMILTER_MACROS_* lines every private Sendmail is configured with, so
// that the end-to-end tests test the file admins copy.
func SendmailSnippet(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), deploySendmailMC))
	if err != nil {
		t.Fatalf("reading the shipped Sendmail snippet: %v", err)
	}
	s := string(b)
	for _, want := range []string{deploySocket, deployFlags, "confMILTER_MACROS_CONNECT"} {
		if !strings.Contains(s, want) {
			t.Fatalf("%s lacks %q, which the test harness replaces", deploySendmailMC, want)
		}
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// SendmailRoot returns the directory the Sendmail packages are unpacked in,
// downloading them into SendmailCacheDir first when they are not there yet
// (needs Debian's package mirror; CI has it). Without them the test is
// skipped, or fails in CI.
func SendmailRoot(t testing.TB) string {
	t.Helper()
	RequireBinary(t, "dpkg")
	if err := os.MkdirAll(SendmailCacheDir, 0o755); err != nil {
		Missing(t, "Sendmail cache directory", err.Error())
	}
	lf, err := os.OpenFile(filepath.Join(SendmailCacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		Missing(t, "Sendmail cache directory", err.Error())
	}
	defer lf.Close()
	// Several test processes may unpack at once.
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)

	debs := func() []string {
		var out []string
		for _, p := range sendmailPackages {
			m, _ := filepath.Glob(filepath.Join(SendmailCacheDir, p+"_*.deb"))
			sort.Strings(m)
			if len(m) > 0 {
				out = append(out, m[len(m)-1])
			}
		}
		return out
	}
	have := debs()
	if len(have) < len(sendmailPackages) {
		aptGet := RequireBinary(t, "apt-get")
		cmd := exec.Command(aptGet, append([]string{"download", "-q"}, sendmailPackages...)...)
		cmd.Dir = SendmailCacheDir
		if out, err := cmd.CombinedOutput(); err != nil {
			Missing(t, "Sendmail packages", fmt.Sprintf("apt-get download %s in %s failed: %v\n%s",
				strings.Join(sendmailPackages, " "), SendmailCacheDir, err, out))
		}
		if have = debs(); len(have) < len(sendmailPackages) {
			Missing(t, "Sendmail packages", "apt-get download left no .deb in "+SendmailCacheDir)
		}
	}
	// One unpacked tree per set of package versions.
	var key []string
	for _, d := range have {
		key = append(key, strings.TrimSuffix(filepath.Base(d), ".deb"))
	}
	root := filepath.Join(SendmailCacheDir, "root-"+shortHash(strings.Join(key, ",")))
	bin := filepath.Join(root, "usr/libexec/sendmail/sendmail")
	if _, err := os.Stat(bin); err != nil {
		tmp, err := os.MkdirTemp(SendmailCacheDir, "unpack-")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range have {
			if out, err := exec.Command("dpkg", "-x", d, tmp).CombinedOutput(); err != nil {
				os.RemoveAll(tmp)
				t.Fatalf("dpkg -x %s: %v\n%s", d, err, out)
			}
		}
		os.RemoveAll(root)
		if err := os.Rename(tmp, root); err != nil {
			t.Fatal(err)
		}
	}
	// The binary's shared libraries come from the system (libwrap0,
	// liblockfile1, ...: scripts/install-test-deps.sh installs them).
	if out, err := exec.Command("ldd", bin).CombinedOutput(); err == nil && bytes.Contains(out, []byte("not found")) {
		var missing []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "not found") {
				missing = append(missing, strings.TrimSpace(l))
			}
		}
		Missing(t, "Sendmail's shared libraries", strings.Join(missing, "; ")+" (apt-get install liblockfile1 libwrap0)")
	}
	return root
}

func shortHash(s string) string {
	// FNV-1a, enough to tell package versions apart in a directory name.
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

// Log returns Sendmail's output, its milter trace and its SMTP trace.
func (s *Sendmail) Log() string {
	trace, _ := os.ReadFile(filepath.Join(s.Dir, "smtp.trace"))
	debug, _ := os.ReadFile(filepath.Join(s.Dir, "debug.log"))
	return "--- sendmail output ---\n" + s.out.String() + "--- milter trace (-d64.5) ---\n" + string(debug) +
		"--- SMTP trace (-X) ---\n" + string(trace)
}

// Queue lists the files in the queue directory (deferred mail).
func (s *Sendmail) Queue() []string {
	m, _ := filepath.Glob(filepath.Join(s.Dir, "mqueue", "qf*"))
	return m
}

// Stop ends Sendmail and its children.
func (s *Sendmail) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(sendmailStopTimeout):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	// Delivery children may outlive the daemon a moment.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// Send sends one message over a new SMTP connection.
func (s *Sendmail) Send(t testing.TB, from string, rcpts []string, data []byte) SendResult {
	t.Helper()
	return s.SendMany(t, "client.mailwarden.test", []Mail{{From: from, Rcpts: rcpts, Data: data}})[0]
}

// SendMany sends several messages over ONE SMTP connection.
func (s *Sendmail) SendMany(t testing.TB, helo string, mails []Mail) []SendResult {
	t.Helper()
	return sendMany(t, s.SMTPAddr, helo, mails)
}
