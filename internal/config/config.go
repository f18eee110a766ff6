package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the whole policy file. Each section's type is in the file named
// after it.
type Config struct {
	Server       Server             `toml:"server"`
	Log          Log                `toml:"log"`
	Engine       Engine             `toml:"engine"`
	Profiles     Profiles           `toml:"profiles"`
	Limits       Limits             `toml:"limits"`
	Spam         Spam               `toml:"spam"`
	BasicHeaders BasicHeaders       `toml:"basic_headers"`
	DKIM         DKIM               `toml:"dkim"`
	Disclaimer   Disclaimer         `toml:"disclaimer"`
	BCC          BCC                `toml:"bcc"`
	Envelope     Envelope           `toml:"envelope"`
	Store        Store              `toml:"store"`
	Policy       Policy             `toml:"policy"`
	Karma        Karma              `toml:"karma"`
	Load         LoadCheck          `toml:"load"`
	RateLimit    RateLimit          `toml:"rate_limit"`
	Greylist     Greylist           `toml:"greylist"`
	DNS          DNS                `toml:"dns"`
	SPF          SPF                `toml:"spf"`
	DMARC        DMARC              `toml:"dmarc"`
	Virus        Virus              `toml:"virus"`
	Bayes        Bayes              `toml:"bayes"`
	Attachments  Attachments        `toml:"attachments"`
	Rules        Rules              `toml:"rules"`
	WBList       WBList             `toml:"wblist"`
	Sorting      Sorting            `toml:"sorting"`
	Spamd        Spamd              `toml:"spamd"`
	Stats        Stats              `toml:"stats"`
	Scores       map[string]float64 `toml:"scores"`

	// File is the path the config was read from ("" for defaults).
	File string `toml:"-"`
	// lines maps a dotted key to the line it was set on.
	lines map[string]int
}

// Problem is one error in a config file.
type Problem struct {
	File string
	Line int    // 0 when the key was not in the file (a default)
	Key  string // dotted key, e.g. "spam.tag_level"
	Msg  string
}

func (p Problem) Error() string {
	loc := p.File
	if loc == "" {
		loc = "config"
	}
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// Problems is every error found in a file.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Load reads and validates a config file. The error, if any, is a Problems
// listing every error with file, line and key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

var lineRE = regexp.MustCompile(`line (\d+)(?: \(last key "([^"]*)"\))?: (.*)`)

// Parse decodes and validates config text; path is used in errors only.
func Parse(path string, data []byte) (*Config, error) {
	cfg := Defaults()
	cfg.File = path
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Problems{{File: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}}
		}
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, Problems{{File: path, Line: line, Key: m[2], Msg: m[3]}}
		}
		return nil, Problems{{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
	}
	cfg.lines = keyLines(data)
	var ps Problems
	for _, k := range md.Undecoded() {
		key := k.String()
		ps = append(ps, Problem{File: path, Line: cfg.Line(key), Key: key, Msg: "unknown key" + hint(key)})
	}
	ps = append(ps, cfg.validate()...)
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return nil, ps
	}
	return cfg, nil
}

// hint suggests the SME spelling's mailwarden key for common mistakes.
func hint(key string) string {
	last := key[strings.LastIndexByte(key, '.')+1:]
	if s, ok := smeNames[strings.ToLower(last)]; ok {
		return fmt.Sprintf(" (SME's %s is %q here)", last, s)
	}
	return ""
}

// smeNames maps SME setting names (lower-cased) to mailwarden keys, for hints.
var smeNames = map[string]string{
	"taglevel":        "spam.tag_level",
	"rejectlevel":     "spam.reject_level",
	"sensitivity":     "spam.sensitivity",
	"subjecttag":      "spam.subject_tag",
	"maxmessagesize":  "limits.max_message_size",
	"rbllist":         "envelope.dnsbl.zones",
	"sbllist":         "envelope.rhsbl.zones",
	"ubllist":         "envelope.uribl.zones",
	"dnsbl":           "envelope.dnsbl.enabled",
	"rhsbl":           "envelope.rhsbl.enabled",
	"helopolicy":      "envelope.helo.policy",
	"spfrejectpolicy": "spf.reject_policy",
	"karmanegative":   "karma.negative",
	"karmastrikes":    "karma.strikes",
	"maxload":         "load.max_load",
	"maxscannersize":  "virus.max_size",
	"dmarcreject":     "dmarc.reject",
	"dmarcreporting":  "dmarc.reporting",
}

// IsSet reports whether the file itself set this dotted key (Line falls
// back to the enclosing table's line; this does not).
func (c *Config) IsSet(key string) bool {
	_, ok := c.lines[key]
	return ok
}

// Line returns the line a dotted key was set on, or 0.
func (c *Config) Line(key string) int {
	for k := key; k != ""; {
		if l, ok := c.lines[k]; ok {
			return l
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// problem builds a Problem for a key of this config.
func (c *Config) problem(key, format string, args ...any) Problem {
	return Problem{File: c.File, Line: c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// keyLines finds the line of every key and table header in TOML text. It
// understands the subset the policy file uses (tables, arrays of tables,
// bare, quoted and dotted keys); it is for error messages only.
func keyLines(data []byte) map[string]int {
	out := make(map[string]int)
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	depth := 0 // inside a multi-line array
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if depth > 0 {
			depth += strings.Count(line, "[") - strings.Count(line, "]")
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			name := strings.Trim(strings.SplitN(line, "#", 2)[0], " []")
			table = normKey(name)
			if _, ok := out[table]; !ok {
				out[table] = n
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := normKey(strings.TrimSpace(k))
		if table != "" {
			full = table + "." + full
		}
		if _, ok := out[full]; !ok {
			out[full] = n
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			depth = strings.Count(v, "[") - strings.Count(v, "]")
		}
	}
	return out
}

func normKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
