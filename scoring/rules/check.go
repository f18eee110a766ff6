package rules

import (
	"context"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// SymScanSkipped is added when a message is over the scanning size limit
// and the content rules (body, rawbody, full, uri) were skipped.
const SymScanSkipped = "SCAN_SKIPPED_SIZE"

// DefaultFullLimit caps what "full" rules see when no scan limit is set:
// SME's default scanning limit (500 kB) twice over.
const DefaultFullLimit = 1 << 20

// Config of the rules check.
type Config struct {
	Set *Set
	// ScanSizeLimit: messages larger than this (bytes) skip content rules
	// (SME: 500 kB); 0 means no limit.
	ScanSizeLimit int64
	// Profiles the check runs for by default (empty: all).
	Profiles []scoring.Profile
	Logger   hclog.Logger
}

// Check runs a compiled rule set at end of message.
type Check struct {
	cfg  Config
	log  hclog.Logger
	defs []scoring.SymbolDef
}

var (
	_ scoring.Check     = (*Check)(nil)
	_ scoring.Profiled  = (*Check)(nil)
	_ scoring.Dependent = (*Check)(nil)
)

// Needs implements scoring.Dependent: the end-of-message checks whose
// symbols meta rules would most often combine run first (the rules take
// about a millisecond of CPU, so waiting costs no latency: the verdict waits
// for the slowest check anyway; and a virus refusal skips the rules). Their
// symbols become visible to metas once the engine merges results per layer
// rather than per stage. Checks not enabled are ignored by the engine.
func (c *Check) Needs() []string {
	return []string{"dkim", "dmarc", "bayes", "gtube", "attachments", "virus"}
}

// DefaultProfiles implements scoring.Profiled.
func (c *Check) DefaultProfiles() []scoring.Profile {
	if len(c.cfg.Profiles) == 0 {
		return scoring.AllProfiles
	}
	return c.cfg.Profiles
}

// New returns the check for a compiled rule set.
func New(cfg Config) *Check {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	c := &Check{cfg: cfg, log: log}
	c.defs = append(c.defs, scoring.SymbolDef{Name: SymScanSkipped, Weight: 0,
		Description: "Message over the scanning size limit: content rules skipped"})
	if cfg.Set != nil {
		for _, r := range cfg.Set.Rules {
			if r.Sub() || r.Score == 0 {
				continue
			}
			desc := r.Describe
			if desc == "" {
				desc = r.Kind.String() + " rule " + r.Name
			}
			c.defs = append(c.defs, scoring.SymbolDef{Name: r.Name, Weight: r.Score, Description: desc})
		}
	}
	return c
}

func (c *Check) Name() string                 { return "rules" }
func (c *Check) Stage() scoring.Stage         { return scoring.StageEOM }
func (c *Check) Symbols() []scoring.SymbolDef { return c.defs }

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil || c.cfg.Set == nil {
		return nil
	}
	hits := c.Evaluate(tx)
	if hits.skipped {
		r.Add(SymScanSkipped, "size limit")
	}
	for _, rule := range c.cfg.Set.Rules {
		n := hits.n[rule.Name]
		if n == 0 || rule.Sub() || rule.Score == 0 {
			continue
		}
		if n > 1 {
			r.AddScaled(rule.Name, float64(n), "hits="+itoa(n))
		} else {
			r.Add(rule.Name)
		}
	}
	return nil
}

// Hits is what a rule set found on one message.
type Hits struct {
	n       map[string]int
	skipped bool
}

// Count returns how often a rule hit (0: no hit).
func (h Hits) Count(name string) int { return h.n[name] }

// Skipped reports whether content rules were skipped for size.
func (h Hits) Skipped() bool { return h.skipped }

// Evaluate runs every rule on the transaction's message.
func (c *Check) Evaluate(tx *scoring.Transaction) Hits {
	s := c.cfg.Set
	hits := Hits{n: make(map[string]int)}
	m := tx.Message
	h := &m.Header
	for _, rule := range s.headers {
		v, ok := headerValue(h, tx.MailFrom, rule)
		if rule.Exists {
			if ok {
				hits.n[rule.Name] = 1
			}
			continue
		}
		if !ok && rule.IfUnset != nil {
			v = *rule.IfUnset
		}
		if rule.Re.MatchString(v) != rule.Negate {
			hits.n[rule.Name] = 1
		}
	}

	var p *mime.Parsed
	if c.cfg.ScanSizeLimit > 0 && m.Size() > c.cfg.ScanSizeLimit {
		hits.skipped = true
	} else {
		p = mime.Get(tx)
		// body: Subject first, then each text part, per paragraph.
		var texts []string
		if subj := h.Get("Subject"); subj != "" {
			texts = append(texts, mime.DecodeHeader(subj))
		}
		for _, pt := range p.Parts {
			if pt.IsText {
				texts = paragraphs(pt.Text, texts)
			}
		}
		c.content(&s.body, texts, hits.n)
		if len(s.raw.rules) > 0 {
			var raws []string
			for _, pt := range p.Parts {
				if pt.IsText {
					raws = append(raws, string(pt.Data))
				}
			}
			c.content(&s.raw, raws, hits.n)
		}
		if len(s.full.rules) > 0 {
			limit := c.cfg.ScanSizeLimit
			if limit <= 0 {
				limit = DefaultFullLimit
			}
			c.content(&s.full, []string{fullText(m, limit)}, hits.n)
		}
		if len(s.uris) > 0 {
			var urls []string
			seen := map[string]bool{}
			for _, l := range p.Links {
				u := l.URL
				if l.Scheme == "" && !strings.HasPrefix(u, "//") {
					u = "http://" + u
				}
				if !seen[u] {
					seen[u] = true
					urls = append(urls, u)
				}
			}
			for _, rule := range s.uris {
				if n := matchTexts(rule, urls); n > 0 {
					hits.n[rule.Name] = n
				}
			}
		}
	}

	for _, rule := range s.evals {
		if rule.eval(tx, p) {
			hits.n[rule.Name] = 1
		}
	}

	get := func(name string) float64 {
		if rule := s.byName[name]; rule != nil {
			return float64(hits.n[name])
		}
		// Another check's symbol: counts when already added (earlier stage
		// or an earlier check of this stage).
		if tx.HasSymbol(name) {
			return 1
		}
		return 0
	}
	for _, rule := range s.metaOrder {
		if v := rule.meta.eval(get); v != 0 {
			hits.n[rule.Name] = 1
		}
	}
	return hits
}

func (c *Check) content(ci *contentIndex, texts []string, hits map[string]int) {
	if len(ci.rules) == 0 || len(texts) == 0 {
		return
	}
	per := ci.perText(texts)
	// In rule order, so "multiple" counting is deterministic.
	sub := make([]string, 0, len(texts))
	for i, rule := range ci.rules {
		idx, ok := per[i]
		if !ok || len(idx) == 0 {
			continue
		}
		sub = sub[:0]
		for _, ti := range idx {
			sub = append(sub, texts[ti])
		}
		if n := matchTexts(rule, sub); n > 0 {
			hits[rule.Name] = n
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
