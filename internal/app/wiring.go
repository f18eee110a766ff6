package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/mailstats"
	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/basicheaders"
	"github.com/mailwarden/mailwarden/scoring/bcc"
	"github.com/mailwarden/mailwarden/scoring/disclaimer"
	"github.com/mailwarden/mailwarden/scoring/dkimsign"
	"github.com/mailwarden/mailwarden/scoring/msgsize"
	"github.com/mailwarden/mailwarden/scoring/spamheaders"
)

// Deps is the long-lived plumbing shared by every engine built during the
// process's life (resolver, store, ...); a reload reuses it.
type Deps struct {
	Logger hclog.Logger
	// Store is the state store (karma, greylisting, rate limits, Bayes,
	// reports); nil in `mailwarden check` and `config check`, where the
	// checks needing it are left out.
	Store store.Store
	// Resolver is the shared caching DNS resolver ([dns]); nil in `config
	// check`, where the checks needing DNS are left out.
	Resolver *resolver.Resolver
	// Metrics, if set, observes every verdict and times every check.
	Metrics *metrics.Metrics
	// Stats, if set, counts every verdict into the daily statistics.
	Stats *mailstats.Recorder
}

// BuildEngine builds an engine from a config. This is the one list of checks
// and modifiers: their order here is the order they run in within a stage and
// the order modifiers apply.
func BuildEngine(cfg *config.Config, deps Deps) (*scoring.Engine, error) {
	log := deps.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	var problems config.Problems
	prob := func(key string, err error) {
		problems = append(problems, config.Problem{File: cfg.File, Line: cfg.Line(key), Key: key, Msg: err.Error()})
	}

	checks := []scoring.Check{
		// mail stage
		&msgsize.Declared{Max: int64(cfg.Limits.MaxMessageSize)},
		// end of headers
		basicheaders.New(basicheaders.Config{
			Required: cfg.BasicHeaders.Required,
			Reject:   cfg.BasicHeaders.Action == "reject",
			Profiles: profiles(cfg.BasicHeaders.Profiles),
		}),
		// end of message
		&msgsize.Actual{Max: int64(cfg.Limits.MaxMessageSize)},
	}
	// end of message content: clamd ([virus]), then attachment blocking ([attachments])
	checks = append(checks, contentChecks(cfg, log)...)
	// MAIL FROM: SPF ([spf]; its result feeds DMARC and Authentication-Results)
	checks = append(checks, spfChecks(cfg, deps, log)...)
	// end of message: DKIM verification and DMARC ([dmarc]; DMARC needs "spf" and "dkim")
	checks = append(checks, authChecks(cfg, deps, log, prob)...)
	// content scoring ([wblist] at end of headers; GTUBE, [rules], [spamd] at end of message)
	checks = append(checks, spamChecks(cfg, log, prob)...)
	// SME envelope checks ([envelope]): whitelists, DNS lists, HELO, lists, first in their stages.
	checks = append(envelopeChecks(cfg, deps, log, prob), checks...)
	// State checks ([load], [karma] first at connect; [rate_limit], [greylist] last at RCPT).
	checks = append(stateFirstChecks(cfg, deps, log), checks...)
	checks = append(checks, stateLastChecks(cfg, deps, log)...)

	tag, reject, rejectOn := cfg.Spam.EffectiveLevels()
	// DKIM keys are loaded here, when the engine is built (start, reload).
	dkimSigner, err := dkimsign.FromConfig(cfg.DKIM, log.Named("dkim_sign"))
	if err != nil {
		prob("dkim.keys_dir", err)
	}
	mods := []scoring.Modifier{
		// first: strip forged Authentication-Results, add ours (RFC 8601)
		authResultsModifier(cfg),
		spamheaders.New(spamheaders.Config{
			Enabled: cfg.Spam.Headers, SubjectTag: cfg.Spam.SubjectTag, SubjectPrefix: cfg.Spam.SubjectPrefix,
		}),
		// X-Virus-Checked ([virus] header)
		virusHeader(cfg),
		// junk-folder sort header ([sorting], SME SortSpam)
		sortModifier(cfg),
		// outbound: disclaimer, then the signature over what leaves, then the archive copy
		disclaimer.New(disclaimer.Config{
			Enabled: cfg.Disclaimer.Enabled, Text: cfg.Disclaimer.Text, Domains: cfg.Disclaimer.Domains,
			LocalDomains: append(slices.Clone(cfg.Disclaimer.LocalDomains), cfg.DKIM.Domains...), Logger: log.Named("disclaimer"),
		}),
		dkimSigner,
		bcc.New(bcc.Config{Enabled: cfg.BCC.Enabled, Mailbox: cfg.BCC.Mailbox, Visible: cfg.BCC.Mode == "cc", Outgoing: cfg.BCC.Scope == "outgoing"}),
	}

	nets, err := config.Prefixes(cfg.Profiles.LocalNetworks)
	if err != nil {
		prob("profiles.local_networks", err)
	}
	opts := scoring.Options{
		CheckTimeout: cfg.Engine.CheckTimeout.Duration,
		OnTimeout:    failMode(cfg.Engine.OnTimeout),
		OnError:      failMode(cfg.Engine.OnError),
		OnPanic:      failMode(cfg.Engine.OnPanic),
		Weights:      cfg.Scores,
		Profiles: map[scoring.Profile]scoring.ProfileOverride{
			scoring.ProfileLocal:         override(cfg.Profiles.Local),
			scoring.ProfileAuthenticated: override(cfg.Profiles.Authenticated),
			scoring.ProfileRemote:        override(cfg.Profiles.Remote),
		},
		OtherChecks: CheckNames,
		Levels:      scoring.Levels{TagLevel: tag, RejectLevel: reject, RejectEnabled: rejectOn},
		Classifier:  scoring.Classifier{LocalNetworks: nets, SubmissionDaemons: cfg.Profiles.SubmissionDaemons},
		Logger:      log.Named("engine"),
	}
	if deps.Metrics != nil {
		opts.Observers = append(opts.Observers, deps.Metrics)
		opts.Timer = deps.Metrics
	}
	if rec := statsObserver(cfg, deps); rec != nil {
		opts.Observers = append(opts.Observers, rec)
	}
	// Bayes ([bayes]) last: its autolearn sorts every other check's symbols into header and body points.
	checks = withBayes(cfg, deps, log, checks)
	if len(problems) > 0 {
		return nil, problems
	}
	e, err := scoring.New(opts, checks, mods)
	if err != nil {
		// Engine errors name config keys ("[scores]: unknown symbol X");
		// give them the file and line.
		return nil, engineProblems(cfg, err)
	}
	return e, nil
}

func engineProblems(cfg *config.Config, err error) error {
	var ps config.Problems
	for _, line := range strings.Split(err.Error(), "\n") {
		key := ""
		switch {
		case strings.HasPrefix(line, "[scores]: unknown symbol "):
			key = "scores." + strings.TrimPrefix(line, "[scores]: unknown symbol ")
		case strings.HasPrefix(line, "[profiles."):
			key = strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(line, "]", 2)[0], "["), "")
		}
		ps = append(ps, config.Problem{File: cfg.File, Line: cfg.Line(key), Key: key, Msg: line})
	}
	return ps
}

func failMode(s string) scoring.Action {
	if s == "tempfail" {
		return scoring.Tempfail
	}
	return scoring.Accept
}

func override(o config.ProfileOverride) scoring.ProfileOverride {
	return scoring.ProfileOverride{Enable: o.Enable, Disable: o.Disable}
}

func profiles(names []string) []scoring.Profile {
	out := make([]scoring.Profile, 0, len(names))
	for _, n := range names {
		out = append(out, scoring.Profile(n))
	}
	return out
}

// LoadEngine reads a config file and builds its engine: what both the daemon
// (at start and on SIGHUP) and `mailwarden config check` do.
func LoadEngine(path string, deps Deps) (*config.Config, *scoring.Engine, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	e, err := BuildEngine(cfg, deps)
	if err != nil {
		return nil, nil, fmt.Errorf("%w", err)
	}
	return cfg, e, nil
}

// CheckNames is every check BuildEngine can wire, whether or not a given
// config switches it on: [profiles.*] enable/disable may name any of them
// (a profile disabling karma stays valid while [karma] is off, and in
// `config check`, which has no store). TestCheckNamesCoverWiring keeps it
// complete.
var CheckNames = []string{
	"load", "karma", // state, first at connect
	"whitelisthosts", "whitelisthelo", "whitelistsenders", "badmailfrom", "badrcptto", "badmailfromto",
	"dnsbl", "rhsbl", "uribl", "helo", "resolvable_fromhost", "internal_recipients",
	"max_size_declared", "max_size", "basic_headers", "wblist",
	"spf", "dkim", "dmarc",
	"virus", "attachments", "gtube", "rules", "bayes", "spamd",
	"rate_limit", "greylist", // state, last at RCPT
}

// DNSCheckNames are the checks of CheckNames that cannot work without
// resolving (`mailwarden check --no-dns` leaves them out). The HELO check is
// not among them: its lenient policy needs no DNS.
var DNSCheckNames = []string{"dnsbl", "rhsbl", "uribl", "resolvable_fromhost", "spf", "dkim", "dmarc"}
