package dmarcreport

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

// Job builds and sends the reports of finished intervals.
type Job struct {
	Store    store.Store
	Resolver dmarc.TXTResolver
	Suffixes dmarc.SuffixList
	Meta     Meta
	Interval time.Duration
	SMTPAddr string // the local MTA
	Logger   hclog.Logger
	Now      func() time.Time
}

// Outcome says what happened to one report.
type Outcome struct {
	Report       *Report
	FileName     string
	Size         int // gzipped bytes
	Destinations []Destination
	Sent         []string // addresses it went to
	Err          error
}

// Run builds the reports of every interval that ended before now and,
// unless dryRun, sends them and deletes their rows. With dryRun nothing is
// sent or deleted.
func (j *Job) Run(ctx context.Context, dryRun bool) ([]Outcome, error) {
	log := j.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	rows, err := load(ctx, j.Store)
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: reading records: %w", err)
	}
	current := Bucket(now(), j.Interval)
	type groupKey struct {
		begin  int64
		domain string
	}
	groups := make(map[groupKey][]stored)
	for _, s := range rows {
		if !s.begin.Before(current) {
			continue // the interval is still running
		}
		k := groupKey{s.begin.Unix(), s.domain}
		groups[k] = append(groups[k], s)
	}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].begin != keys[b].begin {
			return keys[a].begin < keys[b].begin
		}
		return keys[a].domain < keys[b].domain
	})
	var out []Outcome
	for _, k := range keys {
		rep := build(j.Meta, k.domain, time.Unix(k.begin, 0).UTC(), j.Interval, groups[k])
		o := Outcome{Report: rep, FileName: rep.FileName(j.Meta.Receiver)}
		gz, err := rep.Gzip(j.Meta.Receiver)
		if err != nil {
			o.Err = err
			out = append(out, o)
			continue
		}
		o.Size = len(gz)
		o.Destinations = Destinations(ctx, j.Resolver, j.Suffixes, rep.Domain, rep.RUA)
		var to []string
		for i, d := range o.Destinations {
			if d.OK && d.MaxSize > 0 && int64(len(gz)) > d.MaxSize {
				o.Destinations[i].OK = false
				o.Destinations[i].Why = fmt.Sprintf("report of %d bytes exceeds the published limit %d", len(gz), d.MaxSize)
			}
			if o.Destinations[i].OK {
				to = append(to, d.Address)
			}
		}
		if dryRun {
			out = append(out, o)
			continue
		}
		if len(to) > 0 {
			msg := Message(j.Meta, rep, gz, to, now())
			if err := Send(ctx, j.SMTPAddr, j.Meta.Email, to, msg); err != nil {
				o.Err = err
				log.Warn("dmarc report not sent; will retry", "domain", rep.Domain, "begin", rep.Begin, "to", to, "error", err)
				out = append(out, o)
				continue
			}
			o.Sent = to
			log.Info("dmarc report sent", "domain", rep.Domain, "begin", rep.Begin, "to", to, "records", rep.Rows, "messages", rep.Messages, "bytes", len(gz))
		} else {
			log.Info("dmarc report has no usable destination; dropped", "domain", rep.Domain, "begin", rep.Begin, "rua", rep.RUA)
		}
		if err := j.Store.Delete(ctx, rep.keys...); err != nil {
			log.Warn("dmarc report rows not deleted", "domain", rep.Domain, "error", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// CatchUpDelay is how long after start the job first runs: it sends what a
// stopped daemon missed, once the listeners are up (start-up is not slowed
// by DNS lookups and SMTP).
const CatchUpDelay = 5 * time.Second

// Loop runs the job shortly after start (catching up on intervals that
// ended while the daemon was down) and then once per interval, shortly after
// each interval ends, until ctx is done; the daemon starts it when [dmarc]
// reporting is on.
func (j *Job) Loop(ctx context.Context, catchUp time.Duration) {
	log := j.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	t := time.NewTimer(catchUp)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	if _, err := j.Run(ctx, false); err != nil {
		log.Error("dmarc report job failed", "error", err)
	}
	for {
		next := Bucket(time.Now(), j.Interval).Add(j.Interval).Add(5 * time.Minute)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := j.Run(ctx, false); err != nil {
			log.Error("dmarc report job failed", "error", err)
		}
	}
}
