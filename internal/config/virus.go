package config

import (
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd"
)

// Virus is the [virus] section (SME: the clamav settings). See scoring/virus.
type Virus struct {
	// Enabled scans mail with clamd. Off in the built-in defaults (a daemon
	// cannot assume a clamd); the shipped config turns it on, as SME does.
	Enabled bool `toml:"enabled"`
	// Clamd is the daemon's address: "unix:/run/clamav/clamd.ctl" (Debian's
	// LocalSocket) or "inet:127.0.0.1:3310".
	Clamd string `toml:"clamd"`
	// Timeout bounds one scan; engine.check_timeout bounds it too.
	Timeout Duration `toml:"timeout"`
	// MaxSize (SME: MaxScannerSize, 25 MB): larger mail is not scanned and
	// gets CLAM_SKIPPED_SIZE. Keep it at or below clamd's StreamMaxLength.
	MaxSize Size `toml:"max_size"`
	// Mode: "message" streams the whole message (clamd decodes MIME and
	// archives); "parts" streams each decoded part.
	Mode string `toml:"mode"`
	// OnFailure: clamd down, failing or too slow: "tempfail" (451, the MTA
	// retries) or "accept" (delivered with CLAM_FAIL).
	OnFailure string `toml:"on_failure"`
	// Sessions is how many idle clamd connections (IDSESSION) are kept for
	// reuse; 0 opens one connection per scan. See BENCHMARKS.md.
	Sessions int `toml:"sessions"`
	// Header adds X-Virus-Checked to delivered mail ("Checked by ClamAV on
	// HOST", or "Not checked ..." when it went through unscanned).
	Header bool `toml:"header"`
	// Profiles the scan runs for: drop "local" and "authenticated" to scan
	// inbound mail only.
	Profiles []string `toml:"profiles"`
	// ScoreSignatures turn signatures into a scored symbol instead of a
	// reject, optionally for listed senders only.
	ScoreSignatures []ScoreSignature `toml:"score_signatures"`
}

// ScoreSignature is one [[virus.score_signatures]] entry.
type ScoreSignature struct {
	Signature string   `toml:"signature"`
	Senders   []string `toml:"senders"`
}

// MaxClamdSessions bounds virus.sessions: every idle session is a socket
// clamd keeps open for us.
const MaxClamdSessions = 64

// DefaultVirus is the [virus] section's defaults.
func DefaultVirus() Virus {
	return Virus{
		Enabled:   false,
		Clamd:     "unix:/run/clamav/clamd.ctl",
		Timeout:   Duration{8 * time.Second},
		MaxSize:   25_000_000,
		Mode:      "message",
		OnFailure: "tempfail",
		Sessions:  0,
		Header:    true,
		Profiles:  []string{"local", "authenticated", "remote"},
	}
}

func (c *Config) validateVirus() Problems {
	var ps Problems
	v := c.Virus
	if _, _, err := clamd.ParseAddress(v.Clamd); err != nil {
		ps = append(ps, c.problem("virus.clamd", "%v", err))
	}
	if v.Timeout.Duration <= 0 {
		ps = append(ps, c.problem("virus.timeout", "must be above 0"))
	}
	// A timeout at or above engine.check_timeout is harmless: the check
	// ends its scan 200 ms inside the engine's budget either way, so
	// on_failure still decides.
	if v.MaxSize < 0 {
		ps = append(ps, c.problem("virus.max_size", "must not be negative (0: no limit)"))
	}
	if v.Mode != "message" && v.Mode != "parts" {
		ps = append(ps, c.problem("virus.mode", "invalid mode %q (message or parts)", v.Mode))
	}
	if v.OnFailure != "tempfail" && v.OnFailure != "accept" {
		ps = append(ps, c.problem("virus.on_failure", "invalid value %q (tempfail or accept)", v.OnFailure))
	}
	if v.Sessions < 0 || v.Sessions > MaxClamdSessions {
		ps = append(ps, c.problem("virus.sessions", "must be between 0 and %d (clamd's MaxThreads defaults to 10)", MaxClamdSessions))
	}
	for _, p := range v.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("virus.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	for _, s := range v.ScoreSignatures {
		if s.Signature == "" || strings.ContainsAny(s.Signature, " \t\r\n") {
			ps = append(ps, c.problem("virus.score_signatures", "signature %q: write one ClamAV signature name, e.g. \"Heuristics.Phishing.Email.SpoofedDomain\"", s.Signature))
		}
		for _, snd := range s.Senders {
			if strings.TrimSpace(snd) == "" || strings.ContainsAny(snd, " \t,<>") {
				ps = append(ps, c.problem("virus.score_signatures", "sender %q: write an address or a domain (\"bank.example\")", snd))
			}
		}
	}
	return ps
}
