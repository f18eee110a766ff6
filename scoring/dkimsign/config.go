package dkimsign

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dkimkeys"
)

// FromConfig loads the keys named by the [dkim] section and returns the
// modifier. It is called when an engine is built (start and reload): a key
// that cannot be used fails the build, and the running engine stays.
func FromConfig(c config.DKIM, log hclog.Logger) (*Signer, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	cfg := Config{
		Enabled:  c.Signing,
		Domains:  c.Domains,
		Headers:  c.Headers,
		Oversign: c.Oversign,
		Unlisted: Unlisted(c.UnlistedUsers),
		Senders:  map[string][]string{},
		Policies: map[string]DomainPolicy{},
		Logger:   log,
	}
	for u, list := range c.Senders {
		cfg.Senders[strings.ToLower(u)] = list
	}
	if !c.Signing {
		return New(cfg), nil
	}
	var errs []error
	set, err := dkimkeys.LoadDir(c.KeysDir)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Keys = set
	for name, o := range c.Domain {
		p := DomainPolicy{Disabled: o.Signing != nil && !*o.Signing}
		for _, pair := range [][2]string{{o.Selector, o.KeyFile}, {o.Ed25519Selector, o.Ed25519KeyFile}} {
			if pair[1] == "" {
				continue
			}
			k, err := dkimkeys.LoadKeyFile(pair[1])
			if err != nil {
				errs = append(errs, fmt.Errorf("[dkim.domain.%q]: %w", name, err))
				continue
			}
			k.Selector = pair[0]
			p.Keys = append(p.Keys, k)
		}
		cfg.Policies[strings.ToLower(strings.TrimSuffix(name, "."))] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := 0
	if set != nil {
		n = len(set.Domains)
	}
	log.Info("dkim keys loaded", "dir", c.KeysDir, "domains", n, "default", set != nil && len(set.Default) > 0)
	if c.Signing && set != nil && len(set.Default) > 0 && len(c.Domains) == 0 {
		// SME's layout often has only default/: it signs for the domains
		// listed, never for any From domain a client writes.
		log.Warn("dkim: the default key signs no domain until [dkim] domains lists the domains it is for", "dir", c.KeysDir)
	}
	return New(cfg), nil
}
