package config

import (
	"net"
	"net/mail"
)

// Stats is the [stats] section: SME's daily mail statistics (mailstats).
type Stats struct {
	// Enabled counts every message into hourly buckets in the store.
	Enabled bool `toml:"enabled"`
	// RetentionDays keeps this many days of statistics.
	RetentionDays int `toml:"retention_days"`
	// ReportTo receives the daily report (plain text and HTML); "" sends none.
	ReportTo string `toml:"report_to"`
	// ReportFrom is the report's sender; default mailwarden@HOSTNAME.
	ReportFrom string `toml:"report_from"`
	// SMTP is the local MTA the report is handed to.
	SMTP string `toml:"smtp"`
	// ReportHour is the hour (local time) at which yesterday's report is sent.
	ReportHour int `toml:"report_hour"`
}

func defaultStats() Stats {
	return Stats{Enabled: true, RetentionDays: 31, SMTP: "127.0.0.1:25", ReportHour: 0}
}

func (c *Config) validateStats() Problems {
	var ps Problems
	s := c.Stats
	if s.RetentionDays < 1 || s.RetentionDays > 3660 {
		ps = append(ps, c.problem("stats.retention_days", "must be between 1 and 3660"))
	}
	if s.ReportHour < 0 || s.ReportHour > 23 {
		ps = append(ps, c.problem("stats.report_hour", "must be an hour from 0 to 23"))
	}
	for key, v := range map[string]string{"stats.report_to": s.ReportTo, "stats.report_from": s.ReportFrom} {
		if v != "" {
			if _, err := mail.ParseAddress(v); err != nil {
				ps = append(ps, c.problem(key, "invalid address %q", v))
			}
		}
	}
	if _, _, err := net.SplitHostPort(s.SMTP); err != nil {
		ps = append(ps, c.problem("stats.smtp", "write host:port, e.g. 127.0.0.1:25"))
	}
	return ps
}
