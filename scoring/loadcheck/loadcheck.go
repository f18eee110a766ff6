// Package loadcheck implements SME's MaxLoad (qpsmtpd's loadcheck plugin):
// while the machine's 1-minute load average (the first field of
// /proc/loadavg, see proc(5)) exceeds MaxLoad, mail from remote clients is
// deferred with a 4xx so that the senders retry later; local and
// authenticated clients are never deferred by it.
//
// Symbols (default weights): LOAD_HIGH (0; the check defers).
//
// Config: [load] enabled (built-in default false; deploy/mailwarden.toml
// turns it on, as SME), max_load (SME MaxLoad, default 7).
package loadcheck

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/scoring"
)

// SymLoadHigh is added when the load is over the limit.
const SymLoadHigh = "LOAD_HIGH"

const (
	// DefaultPath is Linux's load average file.
	DefaultPath = "/proc/loadavg"
	// cacheFor: the kernel updates the load average every 5 s; reading it
	// once a second is plenty, and keeps a connection storm from turning
	// into a storm of file reads.
	cacheFor = time.Second
	// maxFileSize bounds what is read from the file (it is ~30 bytes).
	maxFileSize = 256
)

// Config of the check.
type Config struct {
	MaxLoad float64
	Path    string // DefaultPath unless testing
}

// Check is the load check.
type Check struct {
	cfg Config

	mu   sync.Mutex
	at   time.Time
	load float64
	err  error
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	return &Check{cfg: cfg}
}

func (c *Check) Name() string                       { return "load" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageConnect }
func (c *Check) DefaultProfiles() []scoring.Profile { return []scoring.Profile{scoring.ProfileRemote} }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymLoadHigh, Weight: 0, Description: "Server load too high; remote mail deferred"}}
}

// ParseLoadavg returns the 1-minute load average from /proc/loadavg text
// ("0.52 0.58 0.59 1/467 12345").
func ParseLoadavg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("loadavg: empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || v != v {
		return 0, fmt.Errorf("loadavg: bad value %q", f[0])
	}
	return v, nil
}

// Load returns the current 1-minute load average (cached for a second).
func (c *Check) Load() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.at) >= cacheFor {
		c.at = now
		c.load, c.err = readLoad(c.cfg.Path)
	}
	return c.load, c.err
}

func readLoad(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, maxFileSize)
	n, err := f.Read(buf)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return ParseLoadavg(buf[:n])
}

// Run implements scoring.Check.
func (c *Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	load, err := c.Load()
	if err != nil {
		return err
	}
	if load > c.cfg.MaxLoad {
		opt := strconv.FormatFloat(load, 'f', 2, 64)
		r.Add(SymLoadHigh, opt)
		r.Force(scoring.Tempfail, scoring.Reply{Code: 451, Enhanced: "4.3.2", Text: "Server busy, please try again later"},
			fmt.Sprintf("load %s > max_load %g", opt, c.cfg.MaxLoad))
	}
	return nil
}
