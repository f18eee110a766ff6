package dmarc

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// tsv reads a TSV file of the shared OpenDMARC cases: "case<TAB>cols...".
func tsv(t *testing.T, name string, cols int) [][]string {
	t.Helper()
	dir := testenv.SharedDir(t, "testdata/dmarc/opendmarc")
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != cols {
			t.Fatalf("%s: %d columns in %q, want %d", name, len(c), line, cols)
		}
		out = append(out, c)
	}
	return out
}

// TestRecordParseOpenDMARC runs OpenDMARC's record-parse cases. mailwarden
// follows RFC 7489 6.3 where OpenDMARC is stricter or looser:
//   - invalid optional values (sp, adkim, aspf, rf, ri, pct) are ignored
//     with a warning, the record stays usable with the defaults (OpenDMARC:
//     error_bad_value) — cases 9-14 and 19;
//   - "p=n" is not a policy (OpenDMARC matches by prefix) — case 5;
//   - invalid report URIs are ignored (as OpenDMARC does) — cases 17-18;
//     ftp: is a valid URI and kept (reports go to mailto: only) — case 16.
func TestRecordParseOpenDMARC(t *testing.T) {
	ours := map[string]string{
		"5": "error_bad_value", "9": "ok_warn", "10": "ok_warn", "11": "ok_warn", "12": "ok_warn",
		"13": "ok_warn", "14": "ok_warn", "17": "ok_warn", "18": "ok_warn", "19": "ok_warn",
	}
	cases := tsv(t, "record-parse.tsv", 3)
	if len(cases) != 19 {
		t.Fatalf("%d cases, want 19", len(cases))
	}
	for _, c := range cases {
		t.Run("case"+c[0], func(t *testing.T) {
			want := c[2]
			if o, ok := ours[c[0]]; ok {
				want = o
			}
			r, err := Parse(c[1])
			got := "ok"
			switch {
			case errors.Is(err, ErrEmpty):
				got = "error_empty"
			case errors.Is(err, ErrBadVersion):
				got = "error_bad_version"
			case errors.Is(err, ErrBadPolicy):
				got = "error_bad_value"
			case errors.Is(err, ErrNoPolicy):
				got = "error_no_required_p"
			case err != nil:
				got = "error: " + err.Error()
			case len(r.Warnings) > 0:
				got = "ok_warn"
			}
			if got != want {
				t.Errorf("Parse(%q) = %s (%v), want %s (OpenDMARC: %s)", c[1], got, err, want, c[2])
			}
		})
	}
}

func TestRecordParse(t *testing.T) {
	tests := []struct {
		name  string
		rec   string
		check func(r *Record) bool
		err   error
	}{
		{"defaults", "v=DMARC1; p=reject", func(r *Record) bool {
			return r.P == PolicyReject && r.SP == "" && r.ADKIM == Relaxed && r.ASPF == Relaxed && r.Pct == 100 && r.FO == "0"
		}, nil},
		{"all tags", "v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20;fo=1:d;rua=mailto:a@x.org!10m,mailto:b@y.org;ri=3600", func(r *Record) bool {
			return r.P == PolicyQuarantine && r.SP == PolicyNone && r.ADKIM == Strict && r.ASPF == Strict && r.Pct == 20 &&
				r.FO == "1:d" && len(r.RUA) == 2 && r.RI == 3600 && len(r.Warnings) == 0
		}, nil},
		{"case-insensitive values", "v=DMARC1; P=Reject; ADKIM=S", func(r *Record) bool { return r.P == PolicyReject && r.ADKIM == Strict }, nil},
		{"no p but rua", "v=DMARC1; rua=mailto:r@x.org", func(r *Record) bool { return r.P == PolicyNone }, nil},
		{"bad p but rua", "v=DMARC1; p=junk; rua=mailto:r@x.org", func(r *Record) bool { return r.P == PolicyNone }, nil},
		{"v not first", "p=reject; v=DMARC1", nil, ErrBadVersion},
		{"lower-case version value", "v=dmarc1; p=reject", nil, ErrBadVersion},
		{"too long", "v=DMARC1; p=none; x=" + strings.Repeat("a", MaxRecordLen), nil, ErrTooLong},
		{"pct 0", "v=DMARC1; p=reject; pct=0", func(r *Record) bool { return r.Pct == 0 }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.rec)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Errorf("unexpected record %+v", r)
			}
		})
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		addr    string
		size    int64
		wantErr bool
	}{
		{"mailto:dmarc@example.com", "dmarc@example.com", 0, false},
		{"mailto:dmarc@example.com!10m", "dmarc@example.com", 10 << 20, false},
		{"mailto:dmarc@example.com!500", "dmarc@example.com", 500, false},
		{"mailto:d%40x@example.com", "", 0, true},
		{"mailto://abuse.com", "", 0, true},
		{"https://example.com/r", "", 0, false},
		{"example.com", "", 0, true},
		{"mailto:a@b.c!x", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := ParseURI(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && (u.Address != tc.addr || u.MaxSize != tc.size) {
				t.Errorf("got %+v", u)
			}
		})
	}
}

// FuzzParse: the record parser never panics, and what it accepts has a
// valid policy, modes and pct.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=none", "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:a@b.c!10m",
		"v=DMARC1;", "V=BOB", "v=DMARC1; p=none; rf=000", "v=DMARC1; rua=mailto:x@y.z", ";;;=;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if _, ok := parsePolicy(string(r.P)); !ok {
			t.Fatalf("accepted record with policy %q", r.P)
		}
		if r.SP != "" {
			if _, ok := parsePolicy(string(r.SP)); !ok {
				t.Fatalf("accepted record with sp %q", r.SP)
			}
		}
		if r.Pct < 0 || r.Pct > 100 || (r.ADKIM != Relaxed && r.ADKIM != Strict) || (r.ASPF != Relaxed && r.ASPF != Strict) {
			t.Fatalf("bad record %+v from %q", r, s)
		}
		for _, u := range r.RUA {
			if _, err := ParseURI(u); err != nil {
				t.Fatalf("kept bad URI %q", u)
			}
		}
	})
}
