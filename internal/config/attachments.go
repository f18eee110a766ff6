package config

import (
	"github.com/mailwarden/mailwarden/scoring/attach"
)

// Attachments is the [attachments] section (SME: "Block executable
// content"). See scoring/attach.
type Attachments struct {
	Enabled bool `toml:"enabled"`
	// Action: "reject" (554 naming the file) or "score".
	Action string `toml:"action"`
	// Extensions blocked, without the dot.
	Extensions []string `toml:"extensions"`
	// BlockContent: executable kinds refused whatever the name: pe, elf,
	// macho, script.
	BlockContent []string `toml:"block_content"`
	// Archives: look inside zip attachments.
	Archives bool `toml:"archives"`
	// Archive limits (ClamAV MaxFiles, MaxRecursion, a compression ratio,
	// and a budget of bytes expanded per message).
	MaxFiles     int  `toml:"max_files"`
	MaxRecursion int  `toml:"max_recursion"`
	MaxRatio     int  `toml:"max_ratio"`
	MaxExpanded  Size `toml:"max_expanded"`
	// Profiles the check runs for.
	Profiles []string `toml:"profiles"`
}

// DefaultAttachments is the [attachments] section's defaults.
func DefaultAttachments() Attachments {
	kinds := make([]string, len(attach.AllKinds))
	for i, k := range attach.AllKinds {
		kinds[i] = string(k)
	}
	return Attachments{
		Enabled:      true,
		Action:       "reject",
		Extensions:   append([]string(nil), attach.DefaultExtensions...),
		BlockContent: kinds,
		Archives:     true,
		MaxFiles:     attach.DefaultMaxFiles,
		MaxRecursion: attach.DefaultMaxRecursion,
		MaxRatio:     attach.DefaultMaxRatio,
		MaxExpanded:  attach.DefaultMaxExpanded,
		Profiles:     []string{"local", "authenticated", "remote"},
	}
}

func (c *Config) validateAttachments() Problems {
	var ps Problems
	a := c.Attachments
	if a.Action != "reject" && a.Action != "score" {
		ps = append(ps, c.problem("attachments.action", "invalid action %q (reject or score)", a.Action))
	}
	for _, e := range a.Extensions {
		if !validExt(e) {
			ps = append(ps, c.problem("attachments.extensions", "invalid extension %q (letters and digits, e.g. \"exe\")", e))
		}
	}
	known := map[string]bool{}
	for _, k := range attach.AllKinds {
		known[string(k)] = true
	}
	for _, k := range a.BlockContent {
		if !known[k] {
			ps = append(ps, c.problem("attachments.block_content", "unknown kind %q (pe, elf, macho, script)", k))
		}
	}
	if a.MaxFiles <= 0 {
		ps = append(ps, c.problem("attachments.max_files", "must be above 0"))
	}
	if a.MaxRecursion <= 0 || a.MaxRecursion > 64 {
		ps = append(ps, c.problem("attachments.max_recursion", "must be between 1 and 64"))
	}
	if a.MaxRatio < 2 {
		ps = append(ps, c.problem("attachments.max_ratio", "must be at least 2"))
	}
	if a.MaxExpanded < 1<<20 || a.MaxExpanded > 1<<30 {
		ps = append(ps, c.problem("attachments.max_expanded", "must be between 1MiB and 1GiB"))
	}
	for _, p := range a.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("attachments.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	return ps
}

func validExt(e string) bool {
	if len(e) > 0 && e[0] == '.' {
		e = e[1:]
	}
	if e == "" || len(e) > 16 {
		return false
	}
	for _, r := range e {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
