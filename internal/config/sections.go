package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Server is the [server] section: listeners and process settings.
type Server struct {
	// MilterListen: "unix:/path" or "inet:127.0.0.1:8891"; "" disables.
	MilterListen string `toml:"milter_listen"`
	// PolicyListen: Postfix policy delegation listener, same syntax.
	PolicyListen string `toml:"policy_listen"`
	// MetricsListen: Prometheus /metrics over HTTP ("127.0.0.1:9908" or
	// "inet:127.0.0.1:9908"); "" disables. Keep it on loopback.
	MetricsListen string `toml:"metrics_listen"`
	// SocketMode is the permission of unix sockets (octal string).
	SocketMode string `toml:"socket_mode"`
	// IdleTimeout closes milter connections with no command for this long.
	IdleTimeout Duration `toml:"idle_timeout"`
	// ShutdownTimeout bounds the drain of sessions in flight at stop.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// StateDir holds the embedded store and other state.
	StateDir string `toml:"state_dir"`
	// SpoolDir receives bodies larger than SpoolThreshold ("" = system temp).
	SpoolDir       string `toml:"spool_dir"`
	SpoolThreshold Size   `toml:"spool_threshold"`
	// Hostname is our name (authserv-id, reports); default: the host's name.
	Hostname string `toml:"hostname"`
}

// Log is the [log] section.
type Log struct {
	Level  string `toml:"level"`  // trace, debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Engine is the [engine] section: how failing checks are treated.
type Engine struct {
	CheckTimeout Duration `toml:"check_timeout"`
	OnTimeout    string   `toml:"on_timeout"` // "skip" or "tempfail"
	OnError      string   `toml:"on_error"`
	OnPanic      string   `toml:"on_panic"`
}

// ProfileOverride is a [profiles.NAME] table.
type ProfileOverride struct {
	Enable  []string `toml:"enable"`
	Disable []string `toml:"disable"`
}

// Profiles is the [profiles] section: who counts as local, and which checks
// run for each peer profile.
type Profiles struct {
	// LocalNetworks are SME's "local networks" (relay clients).
	LocalNetworks []string `toml:"local_networks"`
	// SubmissionDaemons: Postfix {daemon_name} values of services whose
	// clients are treated as authenticated senders (e.g. a submission service
	// with its own -o milter_macro_daemon_name=ORIGINATING).
	SubmissionDaemons []string        `toml:"submission_daemons"`
	Local             ProfileOverride `toml:"local"`
	Authenticated     ProfileOverride `toml:"authenticated"`
	Remote            ProfileOverride `toml:"remote"`
}

// Limits is the [limits] section.
type Limits struct {
	// MaxMessageSize (SME: MaxMessageSize) refuses larger mail; 0 = no limit.
	MaxMessageSize Size `toml:"max_message_size"`
	// ScanSizeLimit: content checks skip larger messages (SME: 500 kB).
	ScanSizeLimit Size `toml:"scan_size_limit"`
}

// Spam is the [spam] section (SME: the spamassassin settings).
type Spam struct {
	// Sensitivity: veryhigh (2), high (3), medium (5), low (7), verylow (9)
	// set the tag level; "custom" uses TagLevel and RejectLevel.
	Sensitivity string  `toml:"sensitivity"`
	TagLevel    float64 `toml:"tag_level"`
	RejectLevel float64 `toml:"reject_level"`
	// Headers adds X-Spam-Status/X-Spam-Level to every scanned message.
	Headers       bool   `toml:"headers"`
	SubjectTag    bool   `toml:"subject_tag"`
	SubjectPrefix string `toml:"subject_prefix"`
}

// SensitivityLevels are SME's presets: the tag level each sensitivity sets.
var SensitivityLevels = map[string]float64{
	"veryhigh": 2, "high": 3, "medium": 5, "low": 7, "verylow": 9,
}

// EffectiveLevels returns the tag level, the reject level and whether
// rejection is on: rejection happens only with sensitivity "custom", as in SME.
func (s Spam) EffectiveLevels() (tag, reject float64, rejectOn bool) {
	if t, ok := SensitivityLevels[strings.ToLower(s.Sensitivity)]; ok {
		return t, 0, false
	}
	return s.TagLevel, s.RejectLevel, s.RejectLevel > 0
}

// BasicHeaders is the [basic_headers] section (SME: check_basicheaders).
type BasicHeaders struct {
	Required []string `toml:"required"`
	Action   string   `toml:"action"`   // "reject" or "score"
	Profiles []string `toml:"profiles"` // profiles it runs for
}

// Defaults returns the configuration with SME's defaults.
func Defaults() *Config {
	host, _ := os.Hostname()
	return &Config{
		Server: Server{
			MilterListen:    "inet:127.0.0.1:8891",
			PolicyListen:    "",
			SocketMode:      "0660",
			IdleTimeout:     Duration{10 * time.Minute},
			ShutdownTimeout: Duration{30 * time.Second},
			StateDir:        "/var/lib/mailwarden",
			SpoolThreshold:  Size(1 << 20),
			Hostname:        host,
		},
		Log:    Log{Level: "info", Format: "text"},
		Engine: Engine{CheckTimeout: Duration{10 * time.Second}, OnTimeout: "skip", OnError: "skip", OnPanic: "tempfail"},
		Profiles: Profiles{
			LocalNetworks:     []string{"127.0.0.0/8", "::1/128"},
			SubmissionDaemons: []string{"ORIGINATING"},
		},
		Limits: Limits{MaxMessageSize: 15000000, ScanSizeLimit: 500000},
		Spam: Spam{
			Sensitivity: "custom", TagLevel: 4, RejectLevel: 12,
			Headers: true, SubjectTag: false, SubjectPrefix: "[SPAM]",
		},
		BasicHeaders: BasicHeaders{Required: []string{"From", "Date"}, Action: "reject", Profiles: []string{"remote"}},
		Scores:       map[string]float64{},
		DKIM:         defaultDKIM(),
		BCC:          BCC{Mode: "bcc", Scope: "all"},
		Envelope:     defaultEnvelope(),
		Store:        DefaultStore(),
		Policy:       DefaultPolicy(),
		Karma:        DefaultKarma(),
		Load:         DefaultLoad(),
		RateLimit:    DefaultRateLimit(),
		Greylist:     DefaultGreylist(),
		DNS:          defaultDNS(),
		SPF:          defaultSPF(),
		Rules:        defaultRules(),
		Sorting:      defaultSorting(),
		Spamd:        defaultSpamd(),
		DMARC:        defaultDMARC(),
		Virus:        DefaultVirus(),
		Attachments:  DefaultAttachments(),
		Bayes:        DefaultBayes(),
		Stats:        defaultStats(),
	}
}

var failModes = map[string]bool{"skip": true, "tempfail": true}

var profileNames = map[string]bool{"local": true, "authenticated": true, "remote": true}

// validate checks values the decoder cannot.
func (c *Config) validate() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	for key, v := range map[string]string{"server.milter_listen": c.Server.MilterListen, "server.policy_listen": c.Server.PolicyListen, "server.metrics_listen": c.Server.MetricsListen} {
		if v != "" {
			if _, _, err := ParseListen(v); err != nil {
				add(key, "%v", err)
			}
		}
	}
	if m, err := strconv.ParseUint(c.Server.SocketMode, 8, 32); err != nil || m > 0o777 {
		add("server.socket_mode", "invalid mode %q (write an octal string such as \"0660\")", c.Server.SocketMode)
	} else if m&0o007 != 0 {
		add("server.socket_mode", "mode %q lets every local user talk to the socket; use 0660 with a shared group", c.Server.SocketMode)
	}
	switch strings.ToLower(c.Log.Level) {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log.level", "invalid level %q (trace, debug, info, warn, error)", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", "invalid format %q (text or json)", c.Log.Format)
	}
	for key, v := range map[string]string{"engine.on_timeout": c.Engine.OnTimeout, "engine.on_error": c.Engine.OnError, "engine.on_panic": c.Engine.OnPanic} {
		if !failModes[v] {
			add(key, "invalid mode %q (skip or tempfail)", v)
		}
	}
	if c.Engine.CheckTimeout.Duration <= 0 || c.Engine.CheckTimeout.Duration > 25*time.Second {
		add("engine.check_timeout", "must be between 0 and 25s (Postfix's milter command timeout is 30s)")
	}
	if _, err := Prefixes(c.Profiles.LocalNetworks); err != nil {
		add("profiles.local_networks", "%v", err)
	}
	s := c.Spam
	if _, ok := SensitivityLevels[strings.ToLower(s.Sensitivity)]; !ok && strings.ToLower(s.Sensitivity) != "custom" {
		add("spam.sensitivity", "invalid sensitivity %q (veryhigh, high, medium, low, verylow or custom)", s.Sensitivity)
	}
	if s.TagLevel < 0 || s.TagLevel > 100 {
		add("spam.tag_level", "must be between 0 and 100")
	}
	if s.RejectLevel < 0 || s.RejectLevel > 100 {
		add("spam.reject_level", "must be between 0 and 100 (0 disables rejection)")
	} else if s.RejectLevel > 0 && s.RejectLevel <= s.TagLevel {
		add("spam.reject_level", "reject level %.1f must be above the tag level %.1f", s.RejectLevel, s.TagLevel)
	}
	if c.BasicHeaders.Action != "reject" && c.BasicHeaders.Action != "score" {
		add("basic_headers.action", "invalid action %q (reject or score)", c.BasicHeaders.Action)
	}
	for _, p := range c.BasicHeaders.Profiles {
		if !profileNames[p] {
			add("basic_headers.profiles", "unknown profile %q (local, authenticated, remote)", p)
		}
	}
	ps = append(ps, c.validateDKIM()...)
	ps = append(ps, c.validateDisclaimer()...)
	ps = append(ps, c.validateBCC()...)
	ps = append(ps, c.validateEnvelope()...)
	ps = append(ps, c.validateDNS()...)
	ps = append(ps, c.validateSPF()...)
	ps = append(ps, c.validateRules()...)
	ps = append(ps, c.validateStats()...)
	ps = append(ps, c.validateWBList()...)
	ps = append(ps, c.validateSorting()...)
	ps = append(ps, c.validateSpamd()...)
	ps = append(ps, c.validateDMARC()...)
	ps = append(ps, c.validateStore()...)
	ps = append(ps, c.validatePolicy()...)
	ps = append(ps, c.validateKarma()...)
	ps = append(ps, c.validateLoad()...)
	ps = append(ps, c.validateRateLimit()...)
	ps = append(ps, c.validateGreylist()...)
	ps = append(ps, c.validateVirus()...)
	ps = append(ps, c.validateAttachments()...)
	ps = append(ps, c.validateBayes()...)
	return ps
}

// ParseListen parses a listener address: "unix:/path", "inet:host:port"
// (Postfix/Sendmail style) or "host:port". It returns the Go network name
// and address.
func ParseListen(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if !strings.HasPrefix(p, "/") {
			return "", "", fmt.Errorf("unix socket path %q must be absolute", p)
		}
		return "unix", p, nil
	case strings.HasPrefix(s, "inet:"):
		s = strings.TrimPrefix(s, "inet:")
	case strings.HasPrefix(s, "inet6:"):
		s = strings.TrimPrefix(s, "inet6:")
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", fmt.Errorf("listen address %q: write unix:/path or inet:127.0.0.1:PORT", s)
	}
	if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
		return "", "", fmt.Errorf("listen address %q: bad port", s)
	}
	return "tcp", s, nil
}
