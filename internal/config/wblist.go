package config

import "strings"

// WBList is the [wblist] section: SpamAssassin's whitelist_from and
// blacklist_from (SME: the spamassassin whitelist/blacklist settings).
type WBList struct {
	// WhitelistFrom / BlacklistFrom: sender patterns matched against the
	// envelope sender and the From address; '*' matches any run of
	// characters, '?' one: "*@example.com", "*@*.xyz", "boss@example.org".
	WhitelistFrom []string `toml:"whitelist_from"`
	BlacklistFrom []string `toml:"blacklist_from"`
}

func (c *Config) validateWBList() Problems {
	var ps Problems
	for key, list := range map[string][]string{"wblist.whitelist_from": c.WBList.WhitelistFrom, "wblist.blacklist_from": c.WBList.BlacklistFrom} {
		for _, p := range list {
			if strings.TrimSpace(p) == "" || strings.ContainsAny(p, " \t,;") {
				ps = append(ps, c.problem(key, "bad sender pattern %q (write e.g. \"*@example.com\")", p))
			}
		}
	}
	return ps
}
