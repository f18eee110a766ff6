package attach

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// pe returns the start of a Windows executable: a DOS header whose e_lfanew
// points at a PE signature, as every linker writes it.
func pe() []byte {
	b := make([]byte, 0x100)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func elf(t *testing.T) []byte {
	t.Helper()
	// A real ELF binary of this machine.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := f.Read(b)
	return b[:n]
}

func TestDetect(t *testing.T) {
	macho := []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}
	fat := []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}
	javaClass := []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52}
	mzText := append([]byte("MZ is the postcode of our office; please see the enclosed plan for the route and parking."), make([]byte, 64)...)
	tests := []struct {
		name string
		head []byte
		want Kind
	}{
		{"pe", pe(), KindPE},
		{"elf", elf(t), KindELF},
		{"macho 64 le", macho, KindMachO},
		{"macho fat", fat, KindMachO},
		{"java class is not macho", javaClass, ""},
		{"shell script", []byte("#!/bin/sh\nrm -rf ~\n"), KindScript},
		{"env script", []byte("#! /usr/bin/env python3\n"), KindScript},
		{"hash bang prose", []byte("#!important notes\n"), ""},
		{"text starting MZ", mzText, ""},
		{"pdf", []byte("%PDF-1.7\n"), ""},
		{"zip", []byte("PK\x03\x04rest"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.head); got != tt.want {
				t.Fatalf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExtension(t *testing.T) {
	tests := map[string]string{
		"a.exe": "exe", "A.EXE": "exe", "invoice.pdf.exe": "exe", "x.exe. ": "exe", "dir\\x.vbs": "vbs",
		"dir/x.js": "js", "noext": "", "trailingdot.": "", ".bashrc": "bashrc", "": "",
		// Right-to-left override: shown as "invoiceexe.pdf", really an .exe.
		"invoice\u202efdp.exe": "exe",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := Extension(in); got != want {
				t.Fatalf("Extension(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

type member struct {
	name string
	data []byte
	enc  bool
}

func mkzip(t testing.TB, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		if m.enc {
			h.Flags |= 0x1
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func defaultCheck() *Check {
	return New(Config{Extensions: DefaultExtensions, Content: AllKinds, Archives: true, Reject: true})
}

// nested wraps a zip n times: a.zip holding b.zip holding ...
func nested(t testing.TB, inner []byte, n int) []byte {
	for i := 0; i < n; i++ {
		inner = mkzip(t, member{name: "level.zip", data: inner})
	}
	return inner
}

func TestInspect(t *testing.T) {
	c := defaultCheck()
	doc := []byte("%PDF-1.4\nhello")
	tests := []struct {
		name   string
		files  []File
		reason Reason // "" = nothing found
		inName string
	}{
		{"plain pdf", []File{{Name: "report.pdf", Data: doc}}, "", ""},
		{"zip allowed", []File{{Name: "docs.zip", Data: mkzip(t, member{"a.pdf", doc, false}, member{"b.txt", []byte("hi"), false})}}, "", ""},
		{"blocked extension", []File{{Name: "setup.exe", Data: []byte("not really")}}, ReasonExtension, "setup.exe"},
		{"blocked extension upper case double", []File{{Name: "Invoice.PDF.Scr", Data: doc}}, ReasonExtension, "Invoice.PDF.Scr"},
		{"disguised pe", []File{{Name: "photo.jpg", Data: pe()}}, ReasonContent, "photo.jpg"},
		{"disguised elf", []File{{Name: "notes.txt", Data: elf(t)}}, ReasonContent, "notes.txt"},
		{"unnamed script", []File{{Name: "", Data: []byte("#!/bin/bash\ncurl x | sh\n")}}, ReasonContent, "part1"},
		{"blocked name in zip", []File{{Name: "docs.zip", Data: mkzip(t, member{"a.pdf", doc, false}, member{"sub/run.vbs", []byte("x"), false})}}, ReasonArchived, "docs.zip/sub/run.vbs"},
		{"executable in zip", []File{{Name: "docs.zip", Data: mkzip(t, member{"readme.txt", pe(), false})}}, ReasonArchived, "docs.zip/readme.txt"},
		{"zip named innocently", []File{{Name: "scan.pdf", Data: mkzip(t, member{"x.exe", []byte("x"), false})}}, ReasonArchived, "scan.pdf/x.exe"},
		{"blocked name in nested zip", []File{{Name: "a.zip", Data: mkzip(t, member{"b.zip", mkzip(t, member{"c.bat", []byte("x"), false}), false})}}, ReasonArchived, "a.zip/b.zip/c.bat"},
		{"too deep", []File{{Name: "deep.zip", Data: nested(t, doc, DefaultMaxRecursion+1)}}, ReasonBomb, ""},
		{"encrypted member", []File{{Name: "secret.zip", Data: mkzip(t, member{"a.doc", []byte("xx"), true})}}, ReasonEncrypted, "secret.zip/a.doc"},
		{"broken zip", []File{{Name: "bad.zip", Data: []byte("PK\x03\x04garbage")}}, ReasonBadArchive, "bad.zip"},
		{"truncated zip", []File{{Name: "big.zip", Data: mkzip(t, member{"a", doc, false}), Truncated: true}}, ReasonBadArchive, "big.zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Inspect(tt.files)
			if tt.reason == "" {
				if len(got) != 0 {
					t.Fatalf("flagged %v", got)
				}
				return
			}
			for _, f := range got {
				if f.Reason == tt.reason && (tt.inName == "" || f.Name == tt.inName) {
					return
				}
			}
			t.Fatalf("want %s on %q, got %v", tt.reason, tt.inName, got)
		})
	}
}

func TestConfigurable(t *testing.T) {
	c := New(Config{Extensions: []string{".DOCM"}, Content: []Kind{KindELF}, Archives: false})
	if got := c.Inspect([]File{{Name: "a.exe", Data: pe()}}); len(got) != 0 {
		t.Fatalf("exe and pe not configured, flagged %v", got)
	}
	if got := c.Inspect([]File{{Name: "m.docm", Data: nil}}); len(got) != 1 || got[0].Reason != ReasonExtension {
		t.Fatalf("docm configured, got %v", got)
	}
	if got := c.Inspect([]File{{Name: "a.zip", Data: mkzip(t, member{"x.docm", nil, false})}}); len(got) != 0 {
		t.Fatalf("archives off, got %v", got)
	}
}

// zeros returns a zip holding one member of n zero bytes.
func zeros(t testing.TB, name string, n int) []byte {
	return mkzip(t, member{name: name, data: make([]byte, n)})
}

// TestArchiveBombs feeds archives that would expand to gigabytes or more and
// checks that each is refused quickly, with little memory.
func TestArchiveBombs(t *testing.T) {
	// 42.zip-style: 16 copies per level of a 16 MiB member, 4 levels:
	// 16^3 * 16 * 16 MiB = 1 TiB expanded, a few hundred kB on the wire.
	leaf := zeros(t, "zeros.bin", 16<<20)
	layer := leaf
	for level := 0; level < 3; level++ {
		var ms []member
		for i := 0; i < 16; i++ {
			ms = append(ms, member{name: "part" + string(rune('a'+i)) + ".zip", data: layer})
		}
		layer = mkzip(t, ms...)
	}
	var many []member
	for i := 0; i < DefaultMaxFiles+1; i++ {
		many = append(many, member{name: "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".txt"})
	}
	// Without the ratio limit the file count and the expansion budget still
	// stop the 42.zip-style archive.
	noRatio := New(Config{Extensions: DefaultExtensions, Content: AllKinds, Archives: true, Reject: true,
		Limits: Limits{MaxRatio: 1 << 30}})
	tests := []struct {
		name string
		data []byte
		c    *Check
	}{
		{"ratio", zeros(t, "big.bin", 32<<20), defaultCheck()},
		{"nested 42.zip style", layer, defaultCheck()},
		{"nested 42.zip style without ratio limit", layer, noRatio},
		{"many files", mkzip(t, many...), defaultCheck()},
		{"deep", nested(t, []byte("x"), 20), defaultCheck()},
	}
	for _, tt := range tests {
		c := tt.c
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			got := c.Inspect([]File{{Name: "bomb.zip", Data: tt.data}})
			d := time.Since(start)
			runtime.ReadMemStats(&after)
			bomb := false
			for _, f := range got {
				bomb = bomb || f.Reason == ReasonBomb
			}
			if !bomb {
				t.Fatalf("not refused as a bomb: %v", got)
			}
			if d > timeScale*2*time.Second {
				t.Errorf("took %v", d)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*DefaultMaxExpanded+64<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%d bytes on the wire, refused in %v: %v", len(tt.data), d, got[len(got)-1])
		})
	}
}

func mail(parts ...string) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n")
	b.WriteString("--BB\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n")
	for _, p := range parts {
		b.WriteString("--BB\r\n" + p)
	}
	b.WriteString("--BB--\r\n")
	return b.String()
}

func manyParts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = attachment("a.txt", "text/plain", []byte("x"))
	}
	return out
}

// bodyPart is an unnamed inline part (no filename, no attachment
// disposition), base64-encoded.
func bodyPart(ctype string, data []byte) string {
	return "Content-Type: " + ctype + "\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(data) + "\r\n"
}

func attachment(name, ctype string, data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	return "Content-Type: " + ctype + "; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n"
}

// TestEngine runs the check in an engine on parsed messages and checks the
// verdict and the reply, which must name the attachment.
func TestEngine(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		reject  bool
		action  scoring.Action
		replyIn string
		symbol  string
	}{
		{"clean", mail(attachment("report.pdf", "application/pdf", []byte("%PDF-1.4 x"))), true, scoring.Accept, "", ""},
		{"exe", mail(attachment("setup.exe", "application/octet-stream", []byte("x"))), true, scoring.Reject, `"setup.exe"`, SymBlockedExt},
		{"disguised", mail(attachment("holiday.jpg", "image/jpeg", pe())), true, scoring.Reject, `"holiday.jpg"`, SymExecutable},
		{"in zip", mail(attachment("docs.zip", "application/zip", mkzip(t, member{"doc.pdf.lnk", []byte("x"), false}))), true, scoring.Reject, `"docs.zip/doc.pdf.lnk"`, SymArchiveBlocked},
		{"past the MIME part limit", mail(manyParts(520)...), true, scoring.Accept, "", SymUninspected},
		{"score mode", mail(attachment("setup.exe", "application/octet-stream", []byte("x"))), false, scoring.Tag, "", SymBlockedExt},
		{"executable as an unnamed part", mail(bodyPart("application/octet-stream", pe())), true, scoring.Reject, `"part1"`, SymExecutable},
		{"ELF as unnamed text/plain", mail(bodyPart("text/plain", elf(t))), true, scoring.Reject, `"part1"`, SymExecutable},
		{"a pasted script in the body is mail", mail(bodyPart("text/plain", []byte("#!/bin/sh\necho hello\n"))), true, scoring.Accept, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{Extensions: DefaultExtensions, Content: AllKinds, Archives: true, Reject: tt.reject})
			e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := message.Parse(strings.NewReader(tt.msg), 0, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tx := &scoring.Transaction{Message: m, Profile: scoring.ProfileRemote}
			e.RunStage(context.Background(), scoring.StageEOM, tx)
			v := e.Verdict(tx)
			if v.Action != tt.action {
				t.Fatalf("action %v (%s), want %v", v.Action, v.Reason, tt.action)
			}
			if tt.replyIn != "" {
				if v.Reply.Code != 554 || !strings.Contains(v.Reply.Text, tt.replyIn) {
					t.Fatalf("reply %q does not name %s", v.Reply, tt.replyIn)
				}
			}
			if tt.symbol != "" && !tx.HasSymbol(tt.symbol) {
				t.Fatalf("no %s in %v", tt.symbol, v.SymbolNames())
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	tests := map[string]string{
		"a.exe":                  "a.exe",
		"evil\"\r\n250 ok":       "evil???250 ok",
		"Résumé.exe":             "R?sum?.exe",
		strings.Repeat("a", 200): strings.Repeat("a", MaxNameInReply) + "...",
	}
	for in, want := range tests {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzInspect feeds arbitrary bytes as a zip attachment: never a panic, and
// quick.
func FuzzInspect(f *testing.F) {
	f.Add(mkzip(f, member{"a.exe", []byte("x"), false}))
	f.Add(nested(f, []byte("MZ"), 3))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff"))
	c := defaultCheck()
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c.Inspect([]File{{Name: "f.zip", Data: data}})
		if d := time.Since(start); d > timeScale*2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// BenchmarkInspect: a pdf and a zip of 20 small documents, the common case.
func BenchmarkInspect(b *testing.B) {
	var ms []member
	for i := 0; i < 20; i++ {
		ms = append(ms, member{name: "doc" + string(rune('a'+i)) + ".txt", data: bytes.Repeat([]byte("quarterly figures "), 600)})
	}
	files := []File{{Name: "report.pdf", Data: []byte("%PDF-1.4 ...")}, {Name: "docs.zip", Data: mkzip(b, ms...)}}
	c := defaultCheck()
	for b.Loop() {
		if got := c.Inspect(files); len(got) != 0 {
			b.Fatal(got)
		}
	}
}

// whitelister whitelists every message at connect, as a whitelist check does.
type whitelister struct{}

func (whitelister) Name() string                 { return "wl" }
func (whitelister) Stage() scoring.Stage         { return scoring.StageConnect }
func (whitelister) Symbols() []scoring.SymbolDef { return nil }
func (whitelister) Run(_ context.Context, _ *scoring.Transaction, r *scoring.Result) error {
	r.Whitelist()
	return nil
}

func TestWhitelistedStillBlocked(t *testing.T) {
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{whitelister{}, defaultCheck()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.Parse(strings.NewReader(mail(attachment("setup.exe", "application/octet-stream", []byte("x")))), 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tx := &scoring.Transaction{Message: m, Profile: scoring.ProfileRemote}
	e.RunStage(context.Background(), scoring.StageConnect, tx)
	e.RunStage(context.Background(), scoring.StageEOM, tx)
	if !tx.Whitelisted() {
		t.Fatal("setup: not whitelisted")
	}
	if v := e.Verdict(tx); v.Action != scoring.Reject {
		t.Fatalf("whitelisted .exe: %v", v.Action)
	}
}
