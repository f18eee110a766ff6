// Package learn trains mailwarden's Bayes (scoring/bayes) from mail users
// sort by hand, as SME Server does: users move spam that got through into
// their LearnAsSpam folder and copy good mail that was filed as junk into
// LearnAsHam; a periodic pass learns every message there and deletes it.
//
// The watcher runs inside the daemon (a goroutine started by
// internal/app) and as `mailwarden learn --watch`. Each pass:
//
//   - globs the users' maildirs ([bayes.learn] maildirs; SME's layout
//     /home/e-smith/files/users/*/Maildir plus the admin's
//     /home/e-smith/Maildir), and for each, the Maildir++ folders
//     spam_folder (".LearnAsSpam") and ham_folder (".LearnAsHam"), both
//     new/ and cur/;
//   - learns the messages in batches, and deletes a message's file only
//     after the store has durably committed its learning. A crash (kill -9)
//     at any point loses no message and learns none twice: a message learned
//     but not yet deleted is found again, the store's seen record says it is
//     already learned, and it is deleted then. A message copied twice is
//     learned once;
//   - leaves files it cannot read or parse, reporting the user and path;
//   - counts each user's junk folder (junk_folder, ".junkmail"): messages
//     left in it and those never opened (new/), and, with
//     message_retention_time (SME MessageRetentionTime, days) set, deletes
//     junk older than that (off by default);
//   - logs a report per user (learned as spam, as ham, already known, left
//     in junk, unseen in junk) and, with report_to set, mails it to the
//     admin through the local MTA's sendmail(1);
//   - tells Config.OnLearned, when set, the outcome of every message (the
//     daemon counts them in mailwarden_learn_messages_total).
//
// Config: [bayes.learn] enabled, maildirs, spam_folder, ham_folder,
// junk_folder, interval, message_retention_time, report_to, sendmail.
package learn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// Limits of one pass.
const (
	// BatchSize is how many messages one store commit learns: large enough
	// to amortise the commit (fsync) cost, small enough that a crash repeats
	// little work.
	BatchSize = 50
	// MaxMessageSize: larger files in a learn folder are reported and left;
	// they are attachments, not text to learn from (SME's scan limit is
	// 500 kB; SpamAssassin's Bayes reads only the start of a message).
	MaxMessageSize = 20 << 20
	// spoolThreshold: bodies above it are parsed through a temp file.
	spoolThreshold = 1 << 20
)

// Config of the watcher.
type Config struct {
	Maildirs   []string
	SpamFolder string
	HamFolder  string
	JunkFolder string
	// RetentionDays deletes junk older than this; 0 keeps it.
	RetentionDays int
	// ReportTo and Sendmail: mail the report to the admin when set.
	ReportTo string
	Sendmail string
	Hostname string
	// ExpireAfter expires Bayes tokens not learned from for this long, at
	// most once a day; 0 never.
	ExpireAfter time.Duration
	// OnLearned, when set, is called once per message a pass handles, with
	// its class ("spam" or "ham", from the folder) and one of the Result*
	// values. It is called from the pass's goroutine. The daemon sets it to
	// its metrics (internal/metrics.Metrics.Learned).
	OnLearned func(class, result string)
}

// Results passed to Config.OnLearned.
const (
	// ResultLearned: learned now (new, or moved from the other class);
	// the file is deleted.
	ResultLearned = "learned"
	// ResultAlready: learned before as that class; the file is deleted.
	ResultAlready = "already"
	// ResultFailed: not learned; the file is left in place (unreadable,
	// unparsable, too large, or the store failed the batch).
	ResultFailed = "failed"
)

// Watcher learns from the users' learn folders.
type Watcher struct {
	cfg     Config
	learner *bayes.Learner
	log     hclog.Logger
	now     func() time.Time

	// hook, for crash tests, is called at named points of a pass.
	hook func(point string)

	lastExpire time.Time
}

// New returns a watcher.
func New(cfg Config, l *bayes.Learner, log hclog.Logger) *Watcher {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Watcher{cfg: cfg, learner: l, log: log, now: time.Now}
}

// Report is one user's result of a pass.
type Report struct {
	User    string
	Maildir string
	// Spam and Ham count messages learned (new or moved from the other
	// class); Already counts messages learned before (deleted all the same).
	Spam, Ham, Already int
	// Junk is the number of messages in the junk folder, JunkUnseen those in
	// its new/ (never opened); JunkDeleted were older than the retention.
	Junk, JunkUnseen, JunkDeleted int
	// Problems lists files left in place, with the reason.
	Problems []string
}

func (r *Report) active() bool {
	return r.Spam+r.Ham+r.Already+r.JunkDeleted > 0 || len(r.Problems) > 0
}

// User returns the user a maildir belongs to: the directory above
// "Maildir", or "admin" for SME's /home/e-smith/Maildir.
func User(maildir string) string {
	parent := filepath.Dir(filepath.Clean(maildir))
	if parent == "/home/e-smith" {
		return "admin"
	}
	return filepath.Base(parent)
}

// Maildirs expands the configured globs, sorted, without duplicates.
func (w *Watcher) Maildirs() []string {
	seen := make(map[string]bool)
	var out []string
	for _, g := range w.cfg.Maildirs {
		matches, err := filepath.Glob(g)
		if err != nil {
			w.log.Warn("bad maildir glob", "glob", g, "error", err)
			continue
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err != nil || !st.IsDir() || seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// pending is a message read and prepared, waiting for its commit.
type pending struct {
	path  string
	class bayes.Class
	item  bayes.Item
	rep   *Report
}

// Pass runs once over every maildir and returns a report per maildir.
func (w *Watcher) Pass(ctx context.Context) ([]*Report, error) {
	var reports []*Report
	var batch []pending
	for _, md := range w.Maildirs() {
		rep := &Report{User: User(md), Maildir: md}
		reports = append(reports, rep)
		for _, f := range []struct {
			folder string
			class  bayes.Class
		}{{w.cfg.SpamFolder, bayes.Spam}, {w.cfg.HamFolder, bayes.Ham}} {
			for _, sub := range []string{"new", "cur"} {
				dir := filepath.Join(md, f.folder, sub)
				entries, err := os.ReadDir(dir)
				if err != nil {
					if !errors.Is(err, os.ErrNotExist) {
						rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", dir, err))
					}
					continue
				}
				for _, e := range entries {
					if err := ctx.Err(); err != nil {
						return reports, err
					}
					if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
						continue
					}
					path := filepath.Join(dir, e.Name())
					it, err := w.prepare(path, f.class)
					if err != nil {
						rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v (left in place)", path, err))
						w.log.Warn("cannot learn message; left in place", "user", rep.User, "path", path, "error", err)
						w.learned(f.class, ResultFailed)
						continue
					}
					batch = append(batch, pending{path: path, class: f.class, item: it, rep: rep})
					if len(batch) >= BatchSize {
						if err := w.commit(ctx, batch); err != nil {
							return reports, err
						}
						batch = batch[:0]
					}
				}
			}
		}
		if err := w.junk(md, rep); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	if err := w.commit(ctx, batch); err != nil {
		return reports, err
	}
	w.report(reports)
	return reports, nil
}

func (w *Watcher) prepare(path string, class bayes.Class) (bayes.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return bayes.Item{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return bayes.Item{}, err
	}
	if st.Size() > MaxMessageSize {
		return bayes.Item{}, fmt.Errorf("larger than %d bytes", MaxMessageSize)
	}
	m, err := message.Parse(f, spoolThreshold, "")
	if err != nil {
		return bayes.Item{}, err
	}
	defer m.Close()
	return w.learner.Prepare(m, class)
}

// learned reports one message's outcome to Config.OnLearned.
func (w *Watcher) learned(class bayes.Class, result string) {
	if w.cfg.OnLearned != nil {
		w.cfg.OnLearned(class.String(), result)
	}
}

func (w *Watcher) point(p string) {
	if w.hook != nil {
		w.hook(p)
	}
}

// commit learns a batch and then deletes its files. The store commits each
// message's learning atomically with its seen record before Learn returns;
// only then are the files removed.
func (w *Watcher) commit(ctx context.Context, batch []pending) error {
	if len(batch) == 0 {
		return nil
	}
	items := make([]bayes.Item, len(batch))
	for i, p := range batch {
		items[i] = p.item
	}
	w.point("before-learn")
	out, err := w.learner.Learn(ctx, items)
	if err != nil {
		for _, p := range batch {
			w.learned(p.class, ResultFailed)
		}
		return fmt.Errorf("learning %d messages: %w", len(items), err)
	}
	w.point("after-learn")
	for i, p := range batch {
		switch out[i] {
		case bayes.Learned, bayes.Moved:
			if p.class == bayes.Spam {
				p.rep.Spam++
			} else {
				p.rep.Ham++
			}
			w.learned(p.class, ResultLearned)
		default:
			p.rep.Already++
			w.learned(p.class, ResultAlready)
		}
		if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			p.rep.Problems = append(p.rep.Problems, fmt.Sprintf("%s: learned but not deleted: %v", p.path, err))
		}
		w.point("after-delete")
	}
	return nil
}

// junk counts (and with retention, trims) the junk folder.
func (w *Watcher) junk(md string, rep *Report) error {
	if w.cfg.JunkFolder == "" {
		return nil
	}
	cutoff := time.Time{}
	if w.cfg.RetentionDays > 0 {
		cutoff = w.now().AddDate(0, 0, -w.cfg.RetentionDays)
	}
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(md, w.cfg.JunkFolder, sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("%s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if !cutoff.IsZero() {
				if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
					if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
						rep.JunkDeleted++
						continue
					}
				}
			}
			rep.Junk++
			if sub == "new" {
				rep.JunkUnseen++
			}
		}
	}
	return nil
}

// Run runs passes every interval until ctx ends, and expires old tokens at
// most once a day.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	w.log.Info("learn folder watcher started", "maildirs", strings.Join(w.cfg.Maildirs, ","), "interval", interval)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("learn pass failed; messages stay for the next pass", "error", err)
		}
		if w.cfg.ExpireAfter > 0 && w.now().Sub(w.lastExpire) > 24*time.Hour {
			n, err := w.learner.DB.Expire(ctx, w.cfg.ExpireAfter)
			if err != nil {
				w.log.Warn("bayes token expiry failed", "error", err)
			} else {
				w.lastExpire = w.now()
				w.log.Info("bayes tokens expired", "deleted", n, "unseen_for", w.cfg.ExpireAfter)
			}
		}
		t.Reset(interval)
	}
}
