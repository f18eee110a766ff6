package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// saLocal is appended to a copy of /etc/spamassassin: Bayes on, trained
// only by sa-learn (no autolearn, no expiry during the run), the Bayes
// probability and the score in headers we read back.
const saLocal = `
use_bayes 1
bayes_auto_learn 0
bayes_auto_expire 0
bayes_path %s
bayes_file_mode 0777
lock_method flock
required_score 5.0
add_header all Bayes _BAYES_
add_header all Score _SCORE_
`

// saScanTimeout bounds one spamc call (SpamAssassin's own default is 300 s;
// with network tests off a message takes well under a second).
const saScanTimeout = 60 * time.Second

func (r *run) spamassassin() error {
	for _, bin := range []string{"sa-learn", "spamd", "spamc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found (apt-get install spamassassin spamc): %w", bin, err)
		}
	}
	dir := filepath.Join(r.work, "sa")
	os.RemoveAll(dir)
	conf := filepath.Join(dir, "conf")
	bdir := filepath.Join(dir, "bayes")
	for _, d := range []string{conf, bdir, filepath.Join(dir, "train", "spam"), filepath.Join(dir, "train", "ham"), filepath.Join(dir, "test")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			return err
		}
	}
	os.Chmod(bdir, 0o777)
	entries, _ := os.ReadDir("/etc/spamassassin")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pre") || strings.HasSuffix(e.Name(), ".cf") {
			b, err := os.ReadFile(filepath.Join("/etc/spamassassin", e.Name()))
			if err == nil {
				os.WriteFile(filepath.Join(conf, e.Name()), b, 0o644)
			}
		}
	}
	local := fmt.Sprintf(saLocal, filepath.Join(bdir, "bayes"))
	if err := os.WriteFile(filepath.Join(conf, "zz_bench.cf"), []byte(local), 0o644); err != nil {
		return err
	}
	for i, s := range r.train {
		sub := "ham"
		if s.Spam {
			sub = "spam"
		}
		if err := os.WriteFile(filepath.Join(dir, "train", sub, fmt.Sprintf("%05d.eml", i)), s.Raw, 0o644); err != nil {
			return err
		}
	}
	for i, s := range r.test {
		if err := os.WriteFile(filepath.Join(dir, "test", fmt.Sprintf("%05d.eml", i)), s.Raw, 0o644); err != nil {
			return err
		}
	}
	start := time.Now()
	for _, class := range []string{"spam", "ham"} {
		logf("sa-learn --%s", class)
		cmd := exec.Command("sa-learn", "--local", "--siteconfigpath="+conf, "--dbpath="+bdir, "--no-sync", "--"+class, filepath.Join(dir, "train", class))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sa-learn --%s: %v: %s", class, err, out)
		} else {
			logf("%s", strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.Command("sa-learn", "--local", "--siteconfigpath="+conf, "--dbpath="+bdir, "--sync").CombinedOutput(); err != nil {
		return fmt.Errorf("sa-learn --sync: %v: %s", err, out)
	}
	el := time.Since(start)
	r.notes = append(r.notes, fmt.Sprintf("SpamAssassin %s: sa-learn took %.1fs for %d messages = %.0f msgs/s",
		saVersion(), el.Seconds(), len(r.train), float64(len(r.train))/el.Seconds()))
	filepath.Walk(bdir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			os.Chmod(p, 0o777)
		}
		return nil
	})
	if out, err := exec.Command("sa-learn", "--siteconfigpath="+conf, "--dbpath="+bdir, "--dump", "magic").CombinedOutput(); err == nil {
		logf("sa-learn --dump magic:\n%s", out)
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	spamd := exec.Command("spamd", "--local", "--siteconfigpath="+conf, "--nouser-config", "--listen=127.0.0.1:"+strconv.Itoa(port),
		"--max-children=2", "--min-children=2", "--username=nobody", "--syslog=stderr", "--pidfile="+filepath.Join(dir, "spamd.pid"))
	// spamd goes when we go, even if we are killed.
	spamd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	var spamdLog bytes.Buffer
	spamd.Stdout, spamd.Stderr = &spamdLog, &spamdLog
	if err := spamd.Start(); err != nil {
		return fmt.Errorf("spamd: %w", err)
	}
	defer func() {
		spamd.Process.Kill()
		spamd.Wait()
	}()
	if err := waitPort(port, 60*time.Second); err != nil {
		return fmt.Errorf("spamd did not start: %v\n%s", err, spamdLog.String())
	}
	logf("spamd on port %d; scanning %d messages", port, len(r.test))
	full := system{Name: "SpamAssassin full (its rules + Bayes, network tests off)", Threshold: 5.0, Level: "required_score 5.0"}
	alone := system{Name: "SpamAssassin Bayes alone (probability)", Threshold: 0.9, Level: "p ≥ 0.9"}
	full.Scores = make([]scored, len(r.test))
	alone.Scores = make([]scored, len(r.test))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				score, bp, err := spamc(port, filepath.Join(dir, "test", fmt.Sprintf("%05d.eml", i)))
				s := r.test[i]
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", s.Path, err)
				}
				full.Scores[i] = scored{Spam: s.Spam, Group: s.Group, Score: score}
				alone.Scores[i] = scored{Spam: s.Spam, Group: s.Group, Score: bp}
				mu.Unlock()
			}
		}()
	}
	t0 := time.Now()
	for i := range r.test {
		next <- i
		if i%500 == 499 {
			logf("spamc: %d/%d (%.1f msgs/s)", i+1, len(r.test), float64(i+1)/time.Since(t0).Seconds())
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	r.notes = append(r.notes, fmt.Sprintf("SpamAssassin scan: %d messages in %.0fs through spamd (2 children, -L)", len(r.test), time.Since(t0).Seconds()))
	r.systems = append(r.systems, alone, full)
	return nil
}

func saVersion() string {
	out, err := exec.Command("spamassassin", "--version").Output()
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[2]
	}
	return strings.TrimSpace(string(out))
}

// spamc sends one message to spamd and reads back our two headers.
func spamc(port int, path string) (score, bayesProb float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), saScanTimeout)
	defer cancel()
	in, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	cmd := exec.CommandContext(ctx, "spamc", "-d", "127.0.0.1", "-p", strconv.Itoa(port), "-s", "10000000", "-x")
	cmd.Stdin = in
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("spamc: %w", err)
	}
	bayesProb = 0.5
	gotScore := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "X-Spam-Score: "); ok {
			score, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, 0, fmt.Errorf("bad X-Spam-Score %q", v)
			}
			gotScore = true
		}
		if v, ok := strings.CutPrefix(line, "X-Spam-Bayes: "); ok {
			if p, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				bayesProb = p
			}
		}
	}
	if !gotScore {
		return 0, 0, fmt.Errorf("no X-Spam-Score in spamd's answer")
	}
	return score, bayesProb, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitPort(port int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on port %d after %s", port, d)
}
