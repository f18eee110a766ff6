package dnsbl

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/resolver"
)

// Status is the outcome of one list lookup.
type Status string

const (
	Clean   Status = "clean"   // NXDOMAIN or no address that counts
	Listed  Status = "listed"  // a return code that counts
	Timeout Status = "timeout" // no answer within the budget
	Failed  Status = "error"   // SERVFAIL, REFUSED, or the list refused the query
)

// Hit is the outcome for one subject in one list.
type Hit struct {
	Zone     *Zone
	Subject  string // the IP or domain looked up, as the admin reads it
	Query    string
	Status   Status
	Meanings []string
	Detail   string // error text, or the list's TXT explanation of a listing
	Took     time.Duration
}

// Query is one subject to look up in a set of zones.
type Query struct {
	Subject string // for logs and replies: "192.0.2.1", "example.com"
	Labels  string // what goes before the zone: "1.2.0.192", "example.com"
}

// maxTXT bounds a list's explanation shown to the client: an SMTP reply
// line is at most 512 octets (RFC 5321 4.5.3.1.5) with the code and the
// list name around it.
const maxTXT = 200

// Lookup asks every zone about every query, all in parallel, and waits at
// most budget: cold latency is one round trip, not the sum over lists. A
// lookup that has not answered when the budget is spent is reported as
// Timeout. For subjects listed by a list in reject mode, the list's TXT
// record is fetched within what remains of the budget, for the reject text.
func Lookup(ctx context.Context, res *resolver.Resolver, log hclog.Logger, budget time.Duration, queries []Query, zones []Zone) []Hit {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	type job struct {
		i   int
		hit Hit
	}
	var hits []Hit
	for qi := range queries {
		for zi := range zones {
			z := &zones[zi]
			hits = append(hits, Hit{Zone: z, Subject: queries[qi].Subject, Query: queryName(queries[qi].Labels, z.Name), Status: Timeout})
		}
	}
	done := make(chan job, len(hits))
	pending := 0
	for i := range hits {
		if hits[i].Query == "" {
			hits[i].Status = Failed
			hits[i].Detail = "name too long for DNS"
			continue
		}
		pending++
		go func(i int, h Hit) {
			start := time.Now()
			addrs, err := res.LookupA(ctx, h.Query)
			h.Took = time.Since(start)
			switch {
			case err == nil:
				v := h.Zone.Interpret(addrs)
				switch {
				case v.Listed:
					h.Status, h.Meanings = Listed, v.Meanings
					// The TXT explanation is only for a reject text: a
					// scoring list costs one round trip, not two.
					if h.Zone.Reject {
						h.Detail = explain(ctx, res, h.Query)
					}
				case v.Error != "":
					h.Status, h.Detail = Failed, v.Error
					warnRefused(log, h.Zone.Name, v.Error)
				default:
					h.Status = Clean
				}
			case resolver.IsNotFound(err):
				h.Status = Clean
			case isTimeout(err) || ctx.Err() != nil:
				h.Status, h.Detail = Timeout, err.Error()
			default:
				h.Status, h.Detail = Failed, err.Error()
			}
			if log.IsDebug() {
				log.Debug("dns list lookup", "zone", h.Zone.Name, "subject", h.Subject, "status", h.Status,
					"codes", strings.Join(h.Meanings, ","), "detail", h.Detail, "ms", h.Took.Milliseconds())
			}
			done <- job{i, h}
		}(i, hits[i])
	}
	// The resolver honours ctx, but the budget must hold even if it did not:
	// stop waiting at the deadline (plus a little for the answers in flight).
	timer := time.NewTimer(budget + 50*time.Millisecond)
	defer timer.Stop()
	for ; pending > 0; pending-- {
		select {
		case j := <-done:
			hits[j.i] = j.hit
		case <-timer.C:
			return hits
		}
	}
	return hits
}

// refusalWarnEvery: a list that refuses our queries (Spamhaus through a
// public resolver) refuses them all; say so loudly, but once in a while,
// not once per message.
const refusalWarnEvery = time.Hour

var refusals struct {
	sync.Mutex
	last map[string]time.Time
}

func warnRefused(log hclog.Logger, zone, why string) {
	refusals.Lock()
	defer refusals.Unlock()
	if refusals.last == nil {
		refusals.last = map[string]time.Time{}
	}
	if t, ok := refusals.last[zone]; ok && time.Since(t) < refusalWarnEvery {
		return
	}
	refusals.last[zone] = time.Now()
	log.Warn("DNS list answers with an error code; its lookups are useless until fixed (a public resolver? point [dns] servers at your own)",
		"zone", zone, "answer", why)
}

func isTimeout(err error) bool {
	var de interface{ Timeout() bool }
	return errors.As(err, &de) && de.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// explain fetches a list's TXT explanation (RFC 5782 2.1), sanitised: only
// printable ASCII, bounded, since it goes into an SMTP reply.
func explain(ctx context.Context, res *resolver.Resolver, name string) string {
	txts, err := res.LookupTXT(ctx, name)
	if err != nil || len(txts) == 0 {
		return ""
	}
	return sanitize(txts[0])
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxTXT {
			break
		}
		if r < 0x80 && unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return strings.TrimSpace(b.String())
}

// IPQuery builds the query for a client address.
func IPQuery(ip netip.Addr) Query {
	return Query{Subject: ip.Unmap().String(), Labels: ReverseIP(ip)}
}
