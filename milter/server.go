package milter

import (
	"context"
	"net"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/scoring"
)

// Options configure the milter front-end.
type Options struct {
	// IdleTimeout closes an MTA connection that sends nothing for this long.
	IdleTimeout time.Duration
	// SpoolThreshold and SpoolDir: bodies past the threshold go to a file.
	SpoolThreshold int64
	SpoolDir       string
	// OnPanic is the reply when a callback panics (default tempfail).
	OnPanic scoring.Action
}

// Server is the milter listener.
type Server struct {
	engines *scoring.Current
	opts    Options
	log     hclog.Logger
	srv     *gomilter.Server
}

// Macros requested per stage. Postfix has no {if_addr}; the queue id "i" is
// known from DATA on.
var macroRequests = []struct {
	stage  gomilter.MacroStage
	macros []gomilter.MacroName
}{
	{gomilter.StageConnect, []string{gomilter.MacroClientAddr, gomilter.MacroClientName, gomilter.MacroDaemonName, gomilter.MacroDaemonAddr, gomilter.MacroMTAFQDN}},
	{gomilter.StageHelo, []string{gomilter.MacroTlsVersion, gomilter.MacroCipher}},
	{gomilter.StageMail, []string{gomilter.MacroAuthAuthen, gomilter.MacroAuthType, gomilter.MacroQueueId, gomilter.MacroDaemonName}},
	{gomilter.StageRcpt, []string{gomilter.MacroQueueId}},
	{gomilter.StageData, []string{gomilter.MacroQueueId}},
	{gomilter.StageEOH, []string{gomilter.MacroQueueId}},
	{gomilter.StageEOM, []string{gomilter.MacroQueueId}},
}

// Actions we may take at end of message.
const actions = gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptAddRcpt |
	gomilter.OptRemoveRcpt | gomilter.OptChangeBody | gomilter.OptQuarantine

// Protocol: no replies where we never refuse (connect, helo, data, headers,
// body: fewer round trips), no unknown commands, header values as sent
// (leading space kept, for DKIM).
const protocol = gomilter.OptNoUnknown | gomilter.OptNoConnReply | gomilter.OptNoHeloReply |
	gomilter.OptNoDataReply | gomilter.OptNoHeaderReply | gomilter.OptNoBodyReply |
	gomilter.OptHeaderLeadingSpace

// New returns a milter server using the engine in force in engines.
func New(engines *scoring.Current, opts Options, log hclog.Logger) *Server {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.OnPanic == scoring.Accept {
		opts.OnPanic = scoring.Tempfail
	}
	s := &Server{engines: engines, opts: opts, log: log}
	mopts := ServerOptions(opts.IdleTimeout)
	mopts = append(mopts, gomilter.WithMilter(func() gomilter.Milter { return newSession(s) }))
	s.srv = gomilter.NewServer(mopts...)
	return s
}

// ServerOptions returns the go-milter options mailwarden negotiates with
// (actions, protocol steps without replies, macro requests). The benchmark's
// do-nothing ceiling server uses the same, so the comparison is fair.
func ServerOptions(idle time.Duration) []gomilter.Option {
	mopts := []gomilter.Option{
		gomilter.WithActions(actions),
		gomilter.WithProtocols(protocol),
	}
	if idle > 0 {
		mopts = append(mopts, gomilter.WithReadTimeout(idle))
	}
	for _, r := range macroRequests {
		mopts = append(mopts, gomilter.WithMacroRequest(r.stage, r.macros))
	}
	return mopts
}

// CoalescingListener wraps a listener so that each milter frame written on
// its connections leaves in one write (see frameConn).
func CoalescingListener(ln net.Listener) net.Listener { return frameListener{ln} }

// Serve accepts MTA connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(frameListener{ln})
	if err == gomilter.ErrServerClosed {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for sessions in flight until ctx ends,
// then closes what is left (the MTA applies milter_default_action).
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Sessions returns how many MTA connections were served in total.
func (s *Server) Sessions() uint64 { return s.srv.MilterCount() }
