// Package mailstats keeps SME's daily mail statistics (mailstats): every
// message counted into hourly buckets by how it was handled, per-recipient
// counts, top viruses and DNS-list hits, all in the state store for a
// configurable number of days; and renders the day as plain text and as HTML
// with a chart, for the daily report mailed to the admin and for
// `mailwarden stats [--day YYYY-MM-DD] [--html FILE]`.
//
// Categories (one per message, the first that applies):
//
//	virus        refused by the virus check (clamd)
//	attachment   refused by attachment blocking
//	dnsbl        refused by a DNS list (dnsbl, rhsbl, uribl)
//	spf          refused by SME's SPF reject policy (forced by dmarc/spf with an SPF reason)
//	dmarc        refused by DMARC policy
//	karma        refused by karma
//	greylisted   deferred by greylisting
//	spam-rejected score at or above the reject level
//	rejected-other  refused by any other check (HELO, lists, headers, size, ...)
//	tempfail     deferred for another reason
//	spam-tagged  delivered, tagged as spam
//	outbound     delivered, from a local or authenticated sender
//	ham          delivered, clean
//
// Config: [stats] enabled, retention_days (SME keeps mailstats for a month:
// 31), report_to (the admin's address; "" sends no mail), report_from,
// smtp (the local MTA, 127.0.0.1:25), report_hour (0-23).
package mailstats

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

// Categories in report order.
var Categories = []string{"ham", "outbound", "spam-tagged", "spam-rejected", "dnsbl", "virus", "attachment",
	"spf", "dmarc", "karma", "greylisted", "rejected-other", "tempfail"}

// Key layout in the store (all keys carry the retention TTL):
//
//	stats:h:YYYYMMDD:HH:CATEGORY   messages in that hour and category
//	stats:r:YYYYMMDD:RCPT          messages delivered to a recipient
//	stats:v:YYYYMMDD:SIGNATURE     messages with that virus
//	stats:l:YYYYMMDD:LIST          DNS-list hits by list zone or symbol
const prefix = "stats:"

// FlushInterval is how often counts gathered in memory are written to the
// store. Writing per message would cost a store commit (an fsync on the
// embedded store, ~5-10 ms here) on every message's path; a crash loses at
// most this much of the day's statistics, never mail.
const FlushInterval = 10 * time.Second

// Recorder is the engine observer that counts messages. Counts gather in
// memory and are written to the store every FlushInterval and at Close.
type Recorder struct {
	st        store.Store
	retention time.Duration
	now       func() time.Time

	mu      sync.Mutex
	pending map[string]int64
	stop    chan struct{}
	done    chan struct{}
}

var _ scoring.Observer = (*Recorder)(nil)

// NewRecorder counts into st, keeping days of history, and starts the
// background flush; Close stops it and writes what is pending.
func NewRecorder(st store.Store, days int) *Recorder {
	if days <= 0 {
		days = 31
	}
	r := &Recorder{st: st, retention: time.Duration(days+1) * 24 * time.Hour, now: time.Now,
		pending: map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			r.Flush(ctx)
			cancel()
		}
	}
}

// Flush writes the pending counts to the store in one transaction. On a
// store error the counts are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return nil
	}
	batch := r.pending
	r.pending = map[string]int64{}
	r.mu.Unlock()
	keys := make([]string, 0, len(batch))
	deltas := make([]int64, 0, len(batch))
	for k, n := range batch {
		keys = append(keys, k)
		deltas = append(deltas, n)
	}
	for start := 0; start < len(keys); start += store.MaxBatch {
		end := min(start+store.MaxBatch, len(keys))
		if _, err := r.st.IncrMany(ctx, keys[start:end], deltas[start:end], r.retention); err != nil {
			r.mu.Lock()
			for i := start; i < len(keys); i++ {
				r.pending[keys[i]] += deltas[i]
			}
			r.mu.Unlock()
			return err
		}
	}
	return nil
}

// Close stops the background flush and writes what is pending.
func (r *Recorder) Close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Flush(ctx)
}

// Category sorts one verdict into a category.
func Category(tx *scoring.Transaction, v *scoring.Verdict) string {
	if v.Action >= scoring.Tempfail {
		check := ""
		reason := ""
		if v.Forced != nil {
			check, reason = v.Forced.Check, strings.ToLower(v.Forced.Reason)
		}
		switch {
		case check == "virus":
			return "virus"
		case check == "attachments":
			return "attachment"
		case check == "dnsbl" || check == "rhsbl" || check == "uribl":
			return "dnsbl"
		case (check == "dmarc" || check == "spf") && strings.Contains(reason, "spf"):
			return "spf"
		case check == "dmarc":
			return "dmarc"
		case check == "karma":
			return "karma"
		case check == "greylist":
			return "greylisted"
		case v.Forced == nil && v.Action == scoring.Reject:
			return "spam-rejected"
		case v.Action == scoring.Tempfail:
			return "tempfail"
		}
		return "rejected-other"
	}
	switch {
	case v.Action == scoring.Tag || (v.Action == scoring.Quarantine && v.IsSpam()):
		return "spam-tagged"
	case tx.Profile.Outbound():
		return "outbound"
	}
	return "ham"
}

// Observe implements scoring.Observer.
func (r *Recorder) Observe(ctx context.Context, tx *scoring.Transaction, v *scoring.Verdict) {
	now := r.now()
	day := now.Format("20060102")
	keys := []string{fmt.Sprintf("%sh:%s:%02d:%s", prefix, day, now.Hour(), Category(tx, v))}
	if v.Action < scoring.Tempfail && v.Action != scoring.Discard {
		for _, rc := range tx.Rcpts {
			keys = append(keys, prefix+"r:"+day+":"+strings.ToLower(rc))
		}
	}
	for _, s := range v.Symbols {
		switch s.Name {
		case "CLAM_VIRUS", "CLAM_VIRUS_SCORED":
			for _, o := range s.Options {
				keys = append(keys, prefix+"v:"+day+":"+o)
			}
		case "RBL_LISTED", "RHSBL_LISTED", "URIBL_LISTED":
			if len(s.Options) == 0 {
				keys = append(keys, prefix+"l:"+day+":"+s.Name)
			}
			for _, o := range s.Options {
				zone, _, _ := strings.Cut(o, ":") // "zone:subject:meanings"
				keys = append(keys, prefix+"l:"+day+":"+zone)
			}
		}
	}
	r.mu.Lock()
	for _, k := range keys {
		r.pending[k]++
	}
	r.mu.Unlock()
}

// Day is one day's statistics.
type Day struct {
	Date       time.Time
	Hourly     [24]map[string]int64 // hour -> category -> count
	Totals     map[string]int64
	Recipients []Count // most first
	Viruses    []Count
	Lists      []Count
	Junk       []Count // messages in users' junk folders (filled by the caller)
}

// Count is a name with a count.
type Count struct {
	Name  string
	Count int64
}

// Total is the number of messages of the day.
func (d *Day) Total() int64 {
	var n int64
	for _, c := range d.Totals {
		n += c
	}
	return n
}

// Load reads one day from the store.
func Load(ctx context.Context, st store.Store, day time.Time) (*Day, error) {
	d := &Day{Date: day, Totals: map[string]int64{}}
	for h := range d.Hourly {
		d.Hourly[h] = map[string]int64{}
	}
	ds := day.Format("20060102")
	var rc, vi, li []Count
	err := st.Scan(ctx, prefix, func(key string, val []byte) error {
		rest := strings.TrimPrefix(key, prefix)
		kind, rest, _ := strings.Cut(rest, ":")
		kday, rest, _ := strings.Cut(rest, ":")
		if kday != ds {
			return nil
		}
		n, err := store.ParseInt(val)
		if err != nil {
			return nil
		}
		switch kind {
		case "h":
			hs, cat, _ := strings.Cut(rest, ":")
			var h int
			if _, err := fmt.Sscanf(hs, "%d", &h); err != nil || h < 0 || h > 23 {
				return nil
			}
			d.Hourly[h][cat] += n
			d.Totals[cat] += n
		case "r":
			rc = append(rc, Count{rest, n})
		case "v":
			vi = append(vi, Count{rest, n})
		case "l":
			li = append(li, Count{rest, n})
		}
		return nil
	})
	d.Recipients, d.Viruses, d.Lists = top(rc), top(vi), top(li)
	return d, err
}

// MaxListed bounds the per-recipient, virus and list tables of a report.
const MaxListed = 25

func top(c []Count) []Count {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Count != c[j].Count {
			return c[i].Count > c[j].Count
		}
		return c[i].Name < c[j].Name
	})
	if len(c) > MaxListed {
		c = c[:MaxListed]
	}
	return c
}
