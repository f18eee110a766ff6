package learn

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// sendmailTimeout bounds handing the report to the local MTA.
const sendmailTimeout = 30 * time.Second

// report logs each user's result and mails the active ones to the admin.
func (w *Watcher) report(reports []*Report) {
	var active []*Report
	for _, r := range reports {
		args := []any{"user", r.User, "learned_spam", r.Spam, "learned_ham", r.Ham, "already_known", r.Already,
			"junk", r.Junk, "junk_unseen", r.JunkUnseen}
		if r.JunkDeleted > 0 {
			args = append(args, "junk_deleted", r.JunkDeleted)
		}
		if len(r.Problems) > 0 {
			args = append(args, "problems", strings.Join(r.Problems, "; "))
		}
		if r.active() {
			w.log.Info("learn report", args...)
			active = append(active, r)
		} else {
			w.log.Debug("learn report", args...)
		}
	}
	if w.cfg.ReportTo == "" || len(active) == 0 {
		return
	}
	if err := w.mail(active); err != nil {
		w.log.Warn("mailing the learn report failed", "to", w.cfg.ReportTo, "error", err)
	}
}

// FormatReport renders reports as the text of the admin's mail.
func FormatReport(reports []*Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %8s %8s %8s %8s %8s\n", "user", "spam", "ham", "known", "junk", "unseen")
	for _, r := range reports {
		fmt.Fprintf(&b, "%-20s %8d %8d %8d %8d %8d\n", r.User, r.Spam, r.Ham, r.Already, r.Junk, r.JunkUnseen)
	}
	for _, r := range reports {
		if r.JunkDeleted > 0 {
			fmt.Fprintf(&b, "\n%s: %d junk messages past the retention time deleted\n", r.User, r.JunkDeleted)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "\n%s: %s\n", r.User, p)
		}
	}
	return b.String()
}

func (w *Watcher) mail(reports []*Report) error {
	host := w.cfg.Hostname
	if host == "" {
		host = "localhost"
	}
	now := w.now()
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: mailwarden <postmaster@%s>\n", host)
	fmt.Fprintf(&msg, "To: %s\n", w.cfg.ReportTo)
	fmt.Fprintf(&msg, "Subject: mailwarden: learned from LearnAsSpam/LearnAsHam folders\n")
	fmt.Fprintf(&msg, "Date: %s\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&msg, "Message-ID: <learn.%d@%s>\n", now.UnixNano(), host)
	fmt.Fprintf(&msg, "Auto-Submitted: auto-generated\n")
	fmt.Fprintf(&msg, "Content-Type: text/plain; charset=utf-8\n\n")
	msg.WriteString(FormatReport(reports))
	ctx, cancel := context.WithTimeout(context.Background(), sendmailTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.cfg.Sendmail, "-i", "--", w.cfg.ReportTo)
	cmd.Stdin = &msg
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", w.cfg.Sendmail, err, strings.TrimSpace(string(out)))
	}
	return nil
}
