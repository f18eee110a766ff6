package app

import (
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// NewResolver builds the DNS resolver the [dns] section describes. It reads
// /etc/resolv.conf when no server is configured but does not touch the
// network. The daemon builds it once; a reload keeps it (changed [dns]
// settings take effect at the next restart).
func NewResolver(cfg *config.Config, log hclog.Logger) (*resolver.Resolver, error) {
	size := cfg.DNS.CacheSize
	if size == 0 {
		size = -1 // [dns] cache_size = 0 disables the cache
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return resolver.New(resolver.Config{
		Servers:   cfg.DNS.Servers,
		Timeout:   cfg.DNS.Timeout.Duration,
		Attempts:  cfg.DNS.Attempts,
		CacheSize: size,
	}, log.Named("dns"))
}
