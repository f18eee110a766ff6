// Package attach blocks dangerous attachments, as SME Server's "Block
// executable content" e-mail setting does (qpsmtpd's attachment pattern
// filter): by file-name extension from a configurable list of executable and
// script types (zip is allowed), by content recognised from its first bytes
// whatever the name says (Windows PE, ELF, Mach-O, "#!" scripts), and by the
// names and content of the members of zip archives (archive/zip on the
// decoded attachment, nested zips included), within limits modelled on
// ClamAV's MaxFiles, MaxRecursion and an archive compression-ratio limit so
// that an archive bomb is refused instead of expanded. Other archive formats
// (rar, 7z, tar) are not opened; clamd (scoring/virus) still scans them.
//
// A blocked attachment is refused at end of data with 554 5.7.1 and a reply
// naming the offending file; with action = "score" only the symbols are
// added. Like the virus scan it runs for whitelisted mail too
// (scoring.AlwaysRun): SME's whitelists are forgeable envelope data, and
// whitelisting means "skip the spam checks", not "let executables through".
// Attachments come from internal/mime (decoded parts, RFC 2183/2231
// file names), parsed once per message.
//
// Symbols (default weights; with action "reject" the weight matters only
// for the log):
//
//	ATTACH_BLOCKED_EXT       10.0  file name with a blocked extension
//	ATTACH_EXECUTABLE        10.0  executable content (pe, elf, macho, script)
//	ATTACH_ARCHIVE_BLOCKED   10.0  blocked name or executable inside a zip
//	ATTACH_ARCHIVE_BOMB      10.0  zip over max_files, max_recursion, max_ratio or max_expanded
//	ATTACH_ARCHIVE_ENCRYPTED  1.0  password-protected zip member (scored, never refused)
//	ATTACH_ARCHIVE_BAD        1.0  zip that cannot be read (scored, never refused)
//	ATTACH_UNINSPECTED        3.0  MIME decoding limits hit, the rest not inspected (scored)
//
// Config: [attachments] enabled, action ("reject" or "score"), extensions,
// block_content, archives, max_files, max_recursion, max_ratio, max_expanded,
// profiles.
package attach

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymBlockedExt     = "ATTACH_BLOCKED_EXT"
	SymExecutable     = "ATTACH_EXECUTABLE"
	SymArchiveBlocked = "ATTACH_ARCHIVE_BLOCKED"
	SymArchiveBomb    = "ATTACH_ARCHIVE_BOMB"
	SymEncrypted      = "ATTACH_ARCHIVE_ENCRYPTED"
	SymBadArchive     = "ATTACH_ARCHIVE_BAD"
	SymUninspected    = "ATTACH_UNINSPECTED"
)

// DefaultExtensions are the executable and script types blocked by default:
// the types SME's "Block executable content" list and Outlook's Level 1
// list name (Windows executables, installers, scripts, shortcuts, help
// files that run code). Archives (zip) and documents are allowed.
var DefaultExtensions = []string{
	"ade", "adp", "app", "bas", "bat", "chm", "cmd", "com", "cpl", "crt", "dll",
	"exe", "hlp", "hta", "inf", "ins", "isp", "jar", "js", "jse", "lnk", "mda",
	"mdb", "mde", "mdt", "mdw", "mdz", "msc", "msi", "msp", "mst", "ocx", "pcd",
	"pif", "ps1", "reg", "scf", "scr", "sct", "shb", "shs", "url", "vb", "vbe",
	"vbs", "wsc", "wsf", "wsh",
}

// Config of the check.
type Config struct {
	// Extensions blocked, without the dot, any case.
	Extensions []string
	// Content lists the executable kinds refused whatever the name.
	Content []Kind
	// Archives: look at the members of zip attachments.
	Archives bool
	Limits   Limits
	// Reject refuses the message; otherwise the symbols only score it.
	Reject bool
	// Profiles the check runs for by default (none given: all).
	Profiles []scoring.Profile
	Logger   hclog.Logger
}

// Check is the attachment check.
type Check struct {
	cfg   Config
	exts  map[string]bool
	kinds map[Kind]bool
	log   hclog.Logger
}

var (
	_ scoring.Check     = (*Check)(nil)
	_ scoring.Profiled  = (*Check)(nil)
	_ scoring.AlwaysRun = (*Check)(nil)
)

// New returns the check. Zero limits get the defaults.
func New(cfg Config) *Check {
	d := DefaultLimits()
	if cfg.Limits.MaxFiles <= 0 {
		cfg.Limits.MaxFiles = d.MaxFiles
	}
	if cfg.Limits.MaxRecursion <= 0 {
		cfg.Limits.MaxRecursion = d.MaxRecursion
	}
	if cfg.Limits.MaxRatio <= 0 {
		cfg.Limits.MaxRatio = d.MaxRatio
	}
	if cfg.Limits.MaxExpanded <= 0 {
		cfg.Limits.MaxExpanded = d.MaxExpanded
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = scoring.AllProfiles
	}
	c := &Check{cfg: cfg, exts: make(map[string]bool), kinds: make(map[Kind]bool), log: cfg.Logger}
	if c.log == nil {
		c.log = hclog.NewNullLogger()
	}
	for _, e := range cfg.Extensions {
		c.exts[strings.ToLower(strings.TrimPrefix(e, "."))] = true
	}
	for _, k := range cfg.Content {
		c.kinds[k] = true
	}
	return c
}

func (c *Check) Name() string                       { return "attachments" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageEOM }
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }
func (c *Check) AlwaysRun() bool                    { return true }

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymBlockedExt, Weight: 10, Description: "Attachment with a blocked file-name extension"},
		{Name: SymExecutable, Weight: 10, Description: "Attachment with executable content"},
		{Name: SymArchiveBlocked, Weight: 10, Description: "Blocked file inside a zip attachment"},
		{Name: SymArchiveBomb, Weight: 10, Description: "Zip attachment over the archive limits (possible archive bomb)"},
		{Name: SymEncrypted, Weight: 1, Description: "Password-protected file inside a zip attachment"},
		{Name: SymBadArchive, Weight: 1, Description: "Zip attachment that cannot be read"},
		{Name: SymUninspected, Weight: 3, Description: "MIME limits cut the decoding short; later attachments not inspected"},
	}
}

// File is one attachment as the check sees it.
type File struct {
	Name string // file name ("" when none)
	Data []byte // decoded content
	// Truncated: Data is not the whole content.
	Truncated bool
}

// Inspect judges a list of attachments; it is what Run does after MIME
// decoding, exported for tests and for `mailwarden check`.
func (c *Check) Inspect(files []File) []Finding {
	in := &inspector{lim: c.cfg.Limits, exts: c.exts, kinds: c.kinds}
	for i, f := range files {
		if in.stop {
			break
		}
		label := f.Name
		if label == "" {
			label = fmt.Sprintf("part%d", i+1)
		}
		if ext, bad := in.blockedExt(f.Name); bad {
			in.add(Finding{ReasonExtension, label, "." + ext})
		}
		head := f.Data
		if len(head) > HeadBytes {
			head = head[:HeadBytes]
		}
		if k := Detect(head); k != "" && c.kinds[k] {
			in.add(Finding{ReasonContent, label, string(k)})
		}
		if c.cfg.Archives && isZip(head) {
			if f.Truncated {
				in.add(Finding{ReasonBadArchive, label, "zip too large to inspect"})
				continue
			}
			in.zip(f.Data, label, 1)
		}
	}
	return in.out
}

// Run implements scoring.Check.
func (c *Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	p := mime.Get(tx)
	var files []File
	for _, pt := range p.Parts {
		// Text bodies are not attachments; a named part always is. A text
		// part that is a binary executable all the same (an ELF labelled
		// text/plain, no name) is inspected as one; a text starting with
		// "#!" is left alone (a pasted script is ordinary mail).
		if !pt.IsAttachment && pt.Filename == "" {
			if k := Detect(pt.Head); k != "" && k != KindScript {
				files = append(files, File{Data: pt.Data, Truncated: pt.Truncated})
			}
			continue
		}
		files = append(files, File{Name: pt.Filename, Data: pt.Data, Truncated: pt.Truncated})
	}
	if p.Truncated {
		// The decoder stopped at one of its limits (internal/mime MaxParts,
		// MaxDecodedBytes, MaxDepth): what lies beyond was not inspected.
		// Scored, not refused: clamd still scans the whole message.
		r.Add(SymUninspected)
	}
	findings := c.Inspect(files)
	var refuse *Finding
	for i, f := range findings {
		sym := symbolFor(f.Reason)
		r.Add(sym, f.Name+"("+f.Detail+")")
		if refuse == nil && sym != SymEncrypted && sym != SymBadArchive {
			refuse = &findings[i]
		}
	}
	if len(findings) > 0 {
		c.log.Debug("attachments flagged", "qid", tx.QueueID, "findings", len(findings), "first", findings[0].String())
	}
	if refuse != nil && c.cfg.Reject {
		r.Force(scoring.Reject, Reply(*refuse), "blocked attachment "+refuse.String())
	}
	return nil
}

func symbolFor(r Reason) string {
	switch r {
	case ReasonExtension:
		return SymBlockedExt
	case ReasonContent:
		return SymExecutable
	case ReasonArchived:
		return SymArchiveBlocked
	case ReasonBomb:
		return SymArchiveBomb
	case ReasonEncrypted:
		return SymEncrypted
	}
	return SymBadArchive
}

// Reply is the SMTP reply refusing a finding; it names the attachment.
func Reply(f Finding) scoring.Reply {
	name := SafeName(f.Name)
	var why string
	switch f.Reason {
	case ReasonExtension:
		why = "file type " + SafeName(f.Detail) + " is not accepted here"
	case ReasonContent, ReasonArchived:
		why = "executable or blocked file type (" + SafeName(f.Detail) + ") is not accepted here"
	case ReasonBomb:
		why = "archive exceeds the inspection limits (" + SafeName(f.Detail) + ")"
	default:
		why = "not accepted here"
	}
	return scoring.Reply{Code: 554, Enhanced: "5.7.1", Text: fmt.Sprintf("Attachment %q refused: %s", name, why)}
}

// SafeName makes a file name fit for an SMTP reply: printable ASCII only
// (others become '?'), no quotes, at most MaxNameInReply characters.
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= MaxNameInReply {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
