// Package smedb reads the flat-file configuration databases of Koozali SME
// Server (e-smith): /home/e-smith/db/configuration, accounts, domains,
// spamassassin, ... as written by esmith::config and esmith::DB::db.
//
// Format (esmith::config _readconf, esmith::db _db_string_to_type_and_hash,
// esmith::DB::db::Record prop):
//
//   - one record per line, "key=value", split at the first '='; blank lines
//     and lines whose first non-blank character is '#' are comments;
//   - key and value lose leading and trailing blanks (esmith::config trims
//     both when it stores them, and trims the key when it looks one up);
//   - the value is "type|prop|value|prop|value...", split at every '|' not
//     preceded by a backslash (split /(?<!\\)\|/, $value, -1: empty trailing
//     fields are kept); a plain "key=value" record has only a type, which is
//     its value (configuration's DomainName=example.com);
//   - the two-character sequence "\n" in the raw value stands for a newline
//     (db_get), and "\|" in a property value for a literal '|' (Record->prop
//     unescapes it; esmith::db itself leaves it escaped);
//   - a later line for the same key replaces an earlier one (a hash);
//   - a property name without a value (odd field count) has the empty value.
//
// A line without '=' is not a record; it is reported in DB.Warnings with its
// line number and otherwise skipped, as esmith::config would give it an
// undefined value. Limits: MaxLineBytes, MaxRecords.
//
// Symbols: none (this is a parser). Config keys: none; see
// internal/smeimport for the mapping of settings to mailwarden's TOML.
package smedb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Limits of the parser, with their reasons.
const (
	// MaxLineBytes bounds one record line: SME's longest real values
	// (RBL lists, ssh keys in accounts) are a few kB; a longer line is not
	// an e-smith database.
	MaxLineBytes = 1 << 20
	// MaxRecords bounds the records of one database: a large SME accounts
	// db has a few thousand; more means the file is not what we think.
	MaxRecords = 200000
)

// Record is one "key=type|prop|value..." line.
type Record struct {
	Key   string
	Type  string
	Props map[string]string
	// PropOrder lists the property names in file order.
	PropOrder []string
	Line      int
}

// Prop returns a property's value and whether it is set.
func (r *Record) Prop(name string) (string, bool) {
	if r == nil {
		return "", false
	}
	v, ok := r.Props[name]
	return v, ok
}

// DB is one parsed database.
type DB struct {
	Name    string // file name ("configuration")
	Records map[string]*Record
	// Warnings are lines that are not records ("file:line: ...").
	Warnings []string
}

// Get returns the record of a key, or nil.
func (db *DB) Get(key string) *Record {
	if db == nil {
		return nil
	}
	return db.Records[key]
}

// Keys returns every key, sorted.
func (db *DB) Keys() []string {
	if db == nil {
		return nil
	}
	keys := make([]string, 0, len(db.Records))
	for k := range db.Records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OfType returns the records of one type (e.g. "domain", "user"), by key.
func (db *DB) OfType(typ string) []*Record {
	var out []*Record
	for _, k := range db.Keys() {
		if r := db.Records[k]; r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Load reads a database file.
func Load(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(filepath.Base(path), f)
}

// Parse reads a database; name is used in warnings and errors.
func Parse(name string, r io.Reader) (*DB, error) {
	db := &DB{Name: name, Records: map[string]*Record{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: not a key=value record: %q", name, n, clip(trimmed)))
			continue
		}
		if _, dup := db.Records[key]; !dup && len(db.Records) >= MaxRecords {
			return nil, fmt.Errorf("%s:%d: more than %d records", name, n, MaxRecords)
		}
		rec := &Record{Key: key, Props: map[string]string{}, Line: n}
		fields := Split(strings.TrimSpace(value))
		rec.Type = unescape(fields[0])
		for i := 1; i < len(fields); i += 2 {
			prop := unescape(fields[i])
			val := ""
			if i+1 < len(fields) {
				val = unescape(fields[i+1])
			}
			if _, seen := rec.Props[prop]; !seen {
				rec.PropOrder = append(rec.PropOrder, prop)
			}
			rec.Props[prop] = val
		}
		db.Records[key] = rec
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("%s: a line is longer than %d bytes: not an e-smith database", name, MaxLineBytes)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return db, nil
}

// Split splits a raw value at every '|' not preceded by a backslash, keeping
// empty fields (Perl's split /(?<!\\)\|/, $v, -1). The fields are still
// escaped. It always returns at least one field.
func Split(v string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '|' && (i == 0 || v[i-1] != '\\') {
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// unescape turns "\n" into a newline and "\|" into '|'.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	s = strings.ReplaceAll(s, `\n`, "\n")
	return strings.ReplaceAll(s, `\|`, "|")
}

func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// Escape is the inverse of the value unescaping, for writing test data:
// '|' becomes "\|" and a newline "\n".
func Escape(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		switch c {
		case '|':
			b.WriteString(`\|`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
