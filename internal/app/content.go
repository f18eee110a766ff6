package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/clamd"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/attach"
	"github.com/mailwarden/mailwarden/scoring/virus"
)

// clamdProbeTimeout bounds the PING sent to clamd when an engine is built:
// it only produces a warning, so it must not hold up a start or reload.
const clamdProbeTimeout = time.Second

// contentChecks are the end-of-message content checks of [virus] and
// [attachments]: the clamd scan first (it runs even for whitelisted mail),
// then attachment blocking.
func contentChecks(cfg *config.Config, log hclog.Logger) []scoring.Check {
	var out []scoring.Check
	if v := cfg.Virus; v.Enabled {
		// The address was validated with the config.
		client, err := clamd.New(v.Clamd, v.Timeout.Duration)
		if err == nil {
			client.Sessions = v.Sessions
			// Say at start and reload when clamd is not there: mail would be
			// tempfailed (or accepted unscanned) until it is.
			ctx, cancel := context.WithTimeout(context.Background(), clamdProbeTimeout)
			if perr := client.Ping(ctx); perr != nil {
				log.Warn("clamd not answering; until it does, mail gets [virus] on_failure", "clamd", v.Clamd, "on_failure", v.OnFailure, "error", perr)
			}
			cancel()
			soft := make([]virus.SoftSignature, len(v.ScoreSignatures))
			for i, s := range v.ScoreSignatures {
				soft[i] = virus.SoftSignature{Signature: s.Signature, Senders: s.Senders}
			}
			out = append(out, virus.New(virus.Config{
				Client:   client,
				MaxSize:  int64(v.MaxSize),
				Mode:     v.Mode,
				Tempfail: v.OnFailure == "tempfail",
				Soft:     soft,
				Profiles: profiles(v.Profiles),
				Logger:   log.Named("virus"),
			}))
		}
	}
	if a := cfg.Attachments; a.Enabled {
		kinds := make([]attach.Kind, len(a.BlockContent))
		for i, k := range a.BlockContent {
			kinds[i] = attach.Kind(k)
		}
		out = append(out, attach.New(attach.Config{
			Extensions: a.Extensions,
			Content:    kinds,
			Archives:   a.Archives,
			Limits: attach.Limits{
				MaxFiles: a.MaxFiles, MaxRecursion: a.MaxRecursion, MaxRatio: a.MaxRatio, MaxExpanded: int64(a.MaxExpanded),
			},
			Reject:   a.Action == "reject",
			Profiles: profiles(a.Profiles),
			Logger:   log.Named("attachments"),
		}))
	}
	return out
}

// virusHeader is the X-Virus-Checked modifier of [virus] header.
func virusHeader(cfg *config.Config) scoring.Modifier {
	return &virus.Header{Enabled: cfg.Virus.Enabled && cfg.Virus.Header, Host: cfg.Server.Hostname}
}
