package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/mailstats"
	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/milter"
	"github.com/mailwarden/mailwarden/policy"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// NewLogger builds the process logger from the [log] section.
func NewLogger(c config.Log, out io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "mailwarden",
		Level:      hclog.LevelFromString(c.Level),
		JSONFormat: c.Format == "json",
		Output:     out,
		TimeFormat: "2006-01-02T15:04:05.000Z07:00",
	})
}

// Daemon is the running mailwarden: listeners around one engine that a
// reload replaces.
type Daemon struct {
	path    string
	log     hclog.Logger
	deps    Deps
	engines scoring.Current

	mu     sync.Mutex
	cfg    *config.Config
	milter *milter.Server
	policy *policy.Server
	lns    []net.Listener
	wg     sync.WaitGroup
	// stopping is set when Shutdown starts; listenerDown when a listener
	// stopped serving before that (Healthy, the systemd watchdog).
	stopping, listenerDown atomic.Bool
	// stopReports ends the DMARC aggregate report timer.
	stopReports context.CancelFunc
}

// NewDaemon loads the config and builds the first engine; nothing listens yet.
func NewDaemon(path string, log hclog.Logger) (*Daemon, error) {
	d := &Daemon{path: path, log: log, deps: Deps{Logger: log}}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	// The resolver is built once for the process; a reload keeps it.
	if d.deps.Resolver, err = NewResolver(cfg, log); err != nil {
		return nil, err
	}
	// The store is opened once for the process; a reload keeps it.
	if d.deps.Store, err = OpenStore(cfg); err != nil {
		return nil, err
	}
	// Metrics count verdicts, check latency, DNS, store errors and Bayes.
	d.deps.Metrics = metrics.New()
	d.deps.Store = d.deps.Metrics.WrapStore(d.deps.Store)
	if r := d.deps.Resolver; r != nil {
		d.deps.Metrics.WatchDNS(func() metrics.DNSStats {
			st := r.Stats()
			return metrics.DNSStats{Queries: st.Queries, CacheHits: st.CacheHits, Errors: st.Errors}
		})
	}
	bdb := bayes.NewDB(d.deps.Store)
	d.deps.Metrics.WatchBayes(bdb.Totals)
	// Daily statistics: counted in memory, written to the store every few
	// seconds (mailstats.FlushInterval) and at shutdown.
	d.deps.Stats = mailstats.NewRecorder(d.deps.Store, cfg.Stats.RetentionDays)
	e, err := BuildEngine(cfg, d.deps)
	if err != nil {
		d.deps.Store.Close()
		return nil, err
	}
	d.cfg = cfg
	d.engines.Store(e)
	return d, nil
}

// served records that a listener's serve loop returned: outside Shutdown
// the daemon no longer answers there.
func (d *Daemon) served(name string) {
	if !d.stopping.Load() {
		d.listenerDown.Store(true)
		d.log.Error("listener no longer serving; the watchdog will report the daemon unhealthy", "listener", name)
	}
}

// Healthy reports whether the daemon can judge mail: an engine is loaded
// and every listener it opened still serves. systemd's watchdog restarts a
// daemon that stops being healthy.
func (d *Daemon) Healthy() bool {
	return d.engines.Load() != nil && !d.listenerDown.Load()
}

// Engines gives access to the engine in force.
func (d *Daemon) Engines() *scoring.Current { return &d.engines }

// Start opens the listeners and serves in the background.
func (d *Daemon) Start() error {
	cfg := d.cfg
	if err := d.startMetrics(cfg); err != nil {
		return err
	}
	if cfg.Server.MilterListen != "" {
		ln, err := Listen(cfg.Server.MilterListen, cfg.Server.SocketMode)
		if err != nil {
			return fmt.Errorf("milter listener: %w", err)
		}
		onPanic := failMode(cfg.Engine.OnPanic)
		d.milter = milter.New(&d.engines, milter.Options{
			IdleTimeout:    cfg.Server.IdleTimeout.Duration,
			SpoolThreshold: int64(cfg.Server.SpoolThreshold),
			SpoolDir:       cfg.Server.SpoolDir,
			OnPanic:        onPanic,
		}, d.log.Named("milter"))
		d.lns = append(d.lns, ln)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			err := d.milter.Serve(ln)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				d.log.Error("milter listener stopped", "error", err)
			}
			d.served("milter")
		}()
		d.log.Info("milter listening", "addr", ln.Addr().String())
	}
	if err := d.startPolicy(cfg); err != nil {
		return err
	}
	var rctx context.Context
	rctx, d.stopReports = context.WithCancel(context.Background())
	startDMARCReports(rctx, cfg, d.deps, d.log)
	startStatsReports(rctx, cfg, d.deps, d.log)
	startWatcher(rctx, cfg, d.deps, &d.wg)
	return nil
}

// startMetrics serves /metrics on [server] metrics_listen.
func (d *Daemon) startMetrics(cfg *config.Config) error {
	if cfg.Server.MetricsListen == "" || d.deps.Metrics == nil {
		return nil
	}
	spec := cfg.Server.MetricsListen
	if _, _, err := config.ParseListen(spec); err != nil {
		return err
	}
	ln, err := Listen(spec, cfg.Server.SocketMode)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	d.lns = append(d.lns, ln)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.deps.Metrics.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			d.log.Error("metrics listener stopped", "error", err)
		}
	}()
	d.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// Metrics returns the process's metrics.
func (d *Daemon) Metrics() *metrics.Metrics { return d.deps.Metrics }

// Addrs returns the addresses listened on, in the order started.
func (d *Daemon) Addrs() []net.Addr {
	var out []net.Addr
	for _, ln := range d.lns {
		out = append(out, ln.Addr())
	}
	return out
}

// Reload reads the config file again and swaps in a new engine. A bad file
// is reported and changes nothing; sessions in flight finish on the engine
// they started with. Listener addresses are not changed by a reload.
func (d *Daemon) Reload() error {
	cfg, e, err := LoadEngine(d.path, d.deps)
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration", "file", d.path, "error", err.Error())
		return err
	}
	d.mu.Lock()
	old := d.cfg
	d.cfg = cfg
	d.mu.Unlock()
	if cfg.Server.MilterListen != old.Server.MilterListen || cfg.Server.PolicyListen != old.Server.PolicyListen {
		d.log.Warn("listener addresses changed; they take effect at the next restart")
	}
	prev := d.engines.Store(e)
	closeEngineLater(prev, d.log)
	d.log.Info("configuration reloaded", "file", d.path)
	return nil
}

// closeEngineLater releases an old engine's resources once the sessions that
// may still use it have had time to finish.
func closeEngineLater(e *scoring.Engine, log hclog.Logger) {
	if e == nil {
		return
	}
	time.AfterFunc(10*time.Minute, func() {
		for _, c := range e.Checks() {
			if cl, ok := c.(scoring.Closer); ok {
				if err := cl.Close(); err != nil {
					log.Warn("closing old check", "check", c.Name(), "error", err)
				}
			}
		}
	})
}

// Shutdown stops accepting, drains sessions in flight until ctx ends, and
// closes what is left.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.stopping.Store(true)
	var err error
	if d.stopReports != nil {
		d.stopReports()
	}
	if d.milter != nil {
		err = d.milter.Shutdown(ctx)
	}
	if perr := d.shutdownPolicy(ctx); err == nil {
		err = perr
	}
	for _, ln := range d.lns {
		ln.Close()
	}
	d.wg.Wait()
	// Checks holding background work (Bayes autolearn batches) finish it
	// while the store is still open.
	if e := d.engines.Load(); e != nil {
		for _, c := range e.Checks() {
			if cl, ok := c.(scoring.Closer); ok {
				if cerr := cl.Close(); cerr != nil {
					d.log.Warn("closing check", "check", c.Name(), "error", cerr)
				}
			}
		}
	}
	if d.deps.Stats != nil {
		if serr := d.deps.Stats.Close(); serr != nil {
			d.log.Warn("writing the last statistics", "error", serr)
		}
	}
	if d.deps.Store != nil {
		if cerr := d.deps.Store.Close(); cerr != nil {
			d.log.Warn("closing the state store", "error", cerr)
		}
	}
	return err
}

// ShutdownTimeout is the configured drain time.
func (d *Daemon) ShutdownTimeout() time.Duration { return d.cfg.Server.ShutdownTimeout.Duration }

// Listen opens a listener for "unix:/path" or "inet:host:port". A stale unix
// socket (nobody listening) is replaced; the socket gets the given mode.
func Listen(spec, mode string) (net.Listener, error) {
	network, addr, err := config.ParseListen(spec)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if _, err := os.Stat(addr); err == nil {
			if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
				c.Close()
				return nil, fmt.Errorf("%s: another process is listening", addr)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("remove stale socket: %w", err)
			}
		}
		m, err := strconv.ParseUint(mode, 8, 32)
		if err != nil {
			m = 0o660
		}
		// Create it with tight permissions from the start, then set the mode.
		old := umask(0o177)
		ln, err := net.Listen("unix", addr)
		umask(old)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(addr, os.FileMode(m)); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	}
	return net.Listen("tcp", addr)
}
