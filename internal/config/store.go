package config

import (
	"net/url"
	"path/filepath"
)

// Store is the [store] section: where state that outlives a message (karma,
// greylisting, rate limits, Bayes tokens, DMARC report records, statistics)
// is kept. See internal/store.
type Store struct {
	// Backend: "embedded" (a bbolt file, no server) or "redis" (several
	// mailwarden instances sharing state).
	Backend string `toml:"backend"`
	// Path of the embedded file; default STATE_DIR/state.db.
	Path string `toml:"path"`
	// RedisURL: "redis://[:password@]host:port/db".
	RedisURL string `toml:"redis_url"`
	// RedisPrefix is prepended to every key in Redis.
	RedisPrefix string `toml:"redis_prefix"`
}

// DefaultStore is the [store] section's defaults.
func DefaultStore() Store {
	return Store{Backend: "embedded", RedisURL: "redis://127.0.0.1:6379/0", RedisPrefix: "mailwarden:"}
}

// FilePath returns the embedded store's file.
func (c *Config) StoreFilePath() string {
	if c.Store.Path != "" {
		return c.Store.Path
	}
	return filepath.Join(c.Server.StateDir, "state.db")
}

func (c *Config) validateStore() Problems {
	var ps Problems
	s := c.Store
	switch s.Backend {
	case "embedded":
		if s.Path != "" && !filepath.IsAbs(s.Path) {
			ps = append(ps, c.problem("store.path", "path %q must be absolute", s.Path))
		}
	case "redis":
		u, err := url.Parse(s.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			ps = append(ps, c.problem("store.redis_url", "invalid Redis URL %q (write redis://127.0.0.1:6379/0)", s.RedisURL))
		}
	default:
		ps = append(ps, c.problem("store.backend", "unknown backend %q (embedded or redis)", s.Backend))
	}
	return ps
}
