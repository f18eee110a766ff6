package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/policy"
)

// startPolicy opens [server] policy_listen, when set, and serves the Postfix
// policy-delegation protocol on it beside the milter.
func (d *Daemon) startPolicy(cfg *config.Config) error {
	if cfg.Server.PolicyListen == "" {
		return nil
	}
	ln, err := Listen(cfg.Server.PolicyListen, cfg.Server.SocketMode)
	if err != nil {
		return fmt.Errorf("policy listener: %w", err)
	}
	tempfail := policy.DeferIfPermit
	if cfg.Policy.TempfailAction == "defer" {
		tempfail = policy.Defer
	}
	d.policy = policy.New(&d.engines, policy.Options{
		TempfailAction: tempfail,
		IdleTimeout:    cfg.Policy.IdleTimeout.Duration,
		CacheSize:      cfg.Policy.CacheSize,
	}, d.log.Named("policy"))
	d.lns = append(d.lns, ln)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := d.policy.Serve(ln)
		if err != nil && !errors.Is(err, policy.ErrServerClosed) {
			d.log.Error("policy listener stopped", "error", err)
		}
		d.served("policy")
	}()
	d.log.Info("policy server listening", "addr", ln.Addr().String())
	return nil
}

// shutdownPolicy drains the policy server: idle connections close at once,
// requests in flight are answered.
func (d *Daemon) shutdownPolicy(ctx context.Context) error {
	if d.policy == nil {
		return nil
	}
	return d.policy.Shutdown(ctx)
}
