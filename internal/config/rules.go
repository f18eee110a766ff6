package config

import (
	"os"
	"path"
)

// Rules is the [rules] section: SpamAssassin-style rule files
// (scoring/rules). SME: the spamassassin local.cf rules.
type Rules struct {
	Enabled bool `toml:"enabled"`
	// Paths are rule files or directories (every *.cf inside, in name order).
	Paths []string `toml:"paths"`
	// Profiles the rules check runs for.
	Profiles []string `toml:"profiles"`
}

// DefaultRulesDir is where packages install contrib/rules.
const DefaultRulesDir = "/etc/mailwarden/rules"

func defaultRules() Rules {
	return Rules{Enabled: true, Paths: []string{DefaultRulesDir}, Profiles: []string{"remote"}}
}

// RulesPathsSet reports whether the file set rules.paths (a missing
// default directory is not an error; a missing configured one is).
func (c *Config) RulesPathsSet() bool { return c.IsSet("rules.paths") }

// RulePathMissing reports whether p does not exist.
func RulePathMissing(p string) bool {
	_, err := os.Stat(p)
	return os.IsNotExist(err)
}

// RulePaths returns the rule paths with relative paths taken from the
// config file's directory.
func (c *Config) RulePaths() []string {
	out := make([]string, 0, len(c.Rules.Paths))
	for _, p := range c.Rules.Paths {
		if !path.IsAbs(p) && c.File != "" {
			p = path.Join(path.Dir(c.File), p)
		}
		out = append(out, p)
	}
	return out
}

func (c *Config) validateRules() Problems {
	var ps Problems
	// Whether the paths exist is checked when the rules are loaded (engine
	// build): the default directory may be absent on a machine without the
	// package's rules, and is then skipped with a warning.
	for _, p := range c.Rules.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("rules.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	return ps
}
