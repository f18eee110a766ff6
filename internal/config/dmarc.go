package config

import (
	"net/mail"
	"os"
	"strings"
	"time"
)

// DMARC is the [dmarc] section: DKIM verification, DMARC (RFC 7489) with
// SME's DMARCReject and DMARCReporting, and the Authentication-Results
// header (RFC 8601).
type DMARC struct {
	// Enabled runs the "dkim" and "dmarc" checks.
	Enabled bool `toml:"enabled"`
	// Reject is SME's DMARCReject: a message failing DMARC under p=reject
	// is refused at end of data (550 5.7.1). Off: symbols and scores only.
	Reject bool `toml:"reject"`
	// QuarantineAction is what a failing p=quarantine gets when Reject is
	// on: "quarantine" (hold), "tag" (spam headers) or "none".
	QuarantineAction string `toml:"quarantine_action"`
	// Profiles the checks run for.
	Profiles []string `toml:"profiles"`
	// PSLFile is a Public Suffix List file to use instead of the list
	// compiled into mailwarden ("" = compiled-in).
	PSLFile string `toml:"psl_file"`
	// AuthservID names this host in Authentication-Results ("" = [server]
	// hostname); "none" disables the header.
	AuthservID string `toml:"authserv_id"`

	// Reporting is SME's DMARCReporting: record evaluations and send daily
	// aggregate reports to the rua= addresses.
	Reporting bool `toml:"reporting"`
	// ReportInterval is the period each aggregate report covers (RFC 7489
	// 7.2: at least daily is expected).
	ReportInterval Duration `toml:"report_interval"`
	// ReportOrgName and ReportEmail identify us in reports (org_name,
	// email, and the From of report messages). Default: [server] hostname
	// and noreply-dmarc@hostname.
	ReportOrgName string `toml:"report_org_name"`
	ReportEmail   string `toml:"report_email"`
	// ReportSMTP is the local MTA reports are handed to.
	ReportSMTP string `toml:"report_smtp"`
	// ReportRetention is how long recorded evaluations are kept when
	// reports cannot be sent.
	ReportRetention Duration `toml:"report_retention"`
}

func defaultDMARC() DMARC {
	return DMARC{
		Enabled: true, Reject: true, QuarantineAction: "quarantine", Profiles: []string{"remote"},
		Reporting: true, ReportInterval: Duration{24 * time.Hour}, ReportSMTP: "127.0.0.1:25",
		ReportRetention: Duration{7 * 24 * time.Hour},
	}
}

// EffectiveAuthservID returns the authserv-id to write ("" = no header).
func (c *Config) EffectiveAuthservID() string {
	switch c.DMARC.AuthservID {
	case "none":
		return ""
	case "":
		if c.Server.Hostname != "" {
			return c.Server.Hostname
		}
		h, _ := os.Hostname()
		return h
	}
	return c.DMARC.AuthservID
}

// EffectiveReportIdentity returns the report org_name and sender address.
func (c *Config) EffectiveReportIdentity() (org, email string) {
	host := c.Server.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	org, email = c.DMARC.ReportOrgName, c.DMARC.ReportEmail
	if org == "" {
		org = host
	}
	if email == "" {
		email = "noreply-dmarc@" + host
	}
	return org, email
}

func (c *Config) validateDMARC() Problems {
	var ps Problems
	d := c.DMARC
	switch d.QuarantineAction {
	case "quarantine", "tag", "none":
	default:
		ps = append(ps, c.problem("dmarc.quarantine_action", "invalid action %q (quarantine, tag or none)", d.QuarantineAction))
	}
	for _, p := range d.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("dmarc.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	if d.PSLFile != "" {
		if _, err := os.Stat(d.PSLFile); err != nil {
			ps = append(ps, c.problem("dmarc.psl_file", "%v", err))
		}
	}
	if strings.ContainsAny(d.AuthservID, " \t;()\"\r\n") {
		ps = append(ps, c.problem("dmarc.authserv_id", "%q is not a valid authserv-id (a host name, RFC 8601 2.5)", d.AuthservID))
	}
	if d.ReportInterval.Duration < time.Hour || d.ReportInterval.Duration > 7*24*time.Hour {
		ps = append(ps, c.problem("dmarc.report_interval", "must be between 1h and 168h (RFC 7489 7.2: reports are expected daily)"))
	}
	if d.ReportRetention.Duration < d.ReportInterval.Duration {
		ps = append(ps, c.problem("dmarc.report_retention", "must be at least report_interval (%s)", d.ReportInterval.Duration))
	}
	if d.ReportEmail != "" {
		if a, err := mail.ParseAddress(d.ReportEmail); err != nil || a.Address != d.ReportEmail {
			ps = append(ps, c.problem("dmarc.report_email", "%q is not a bare address (user@example.org)", d.ReportEmail))
		}
	}
	if _, _, err := ParseListen(d.ReportSMTP); err != nil || strings.HasPrefix(d.ReportSMTP, "unix:") {
		ps = append(ps, c.problem("dmarc.report_smtp", "%q: want host:port of the local MTA", d.ReportSMTP))
	}
	return ps
}
