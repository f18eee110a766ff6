package dkimsign

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// benchMessage is a typical 10 kB text message.
func benchMessage(b *testing.B) *message.Message {
	b.Helper()
	var body strings.Builder
	for body.Len() < 10<<10 {
		body.WriteString("The quarterly figures are attached below, as discussed on the phone.  \r\n")
	}
	raw := "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: figures\r\nDate: Wed, 25 Nov 2026 17:00:00 +0000\r\n" +
		"Message-ID: <1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body.String()
	m, err := message.Parse(strings.NewReader(raw), 1<<20, "")
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkSign measures one signature (the EOM latency signing adds) per
// key type; signatures/s = 1e9 / ns/op.
//
//	go test -run XXX -bench BenchmarkSign -benchtime 2s ./scoring/dkimsign/
func BenchmarkSign(b *testing.B) {
	for _, kt := range []struct {
		name string
		o    dkimkeys.GenerateOptions
	}{
		{"rsa2048", dkimkeys.GenerateOptions{Selector: "s", Bits: 2048}},
		{"rsa1024", dkimkeys.GenerateOptions{Selector: "s", Bits: 1024}},
		{"ed25519", dkimkeys.GenerateOptions{Selector: "e", Algorithm: dkimkeys.Ed25519}},
	} {
		b.Run(kt.name, func(b *testing.B) {
			dir := b.TempDir()
			if _, err := dkimkeys.Generate(dir, "example.com", kt.o); err != nil {
				b.Fatal(err)
			}
			set, err := dkimkeys.LoadDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			s := New(Config{Enabled: true, Keys: set, Domains: []string{"example.com"}, Oversign: []string{"From"}})
			m := benchMessage(b)
			defer m.Close()
			b.SetBytes(m.Size())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tx := &scoring.Transaction{Profile: scoring.ProfileLocal, Message: m}
				c := &scoring.Changes{}
				c.Add("X-Spam-Status", "No, score=0.0")
				if err := s.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
					b.Fatal(err)
				}
				if len(c.Headers) != 2 {
					b.Fatal("not signed")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
		})
	}
}

// BenchmarkSignParallel: signatures/s with all cores busy.
func BenchmarkSignParallel(b *testing.B) {
	dir := b.TempDir()
	dkimkeys.Generate(dir, "example.com", dkimkeys.GenerateOptions{Selector: "s", Bits: 2048})
	set, _ := dkimkeys.LoadDir(dir)
	s := New(Config{Enabled: true, Keys: set, Domains: []string{"example.com"}})
	m := benchMessage(b)
	defer m.Close()
	var raw bytes.Buffer
	fmt.Fprint(&raw, "")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tx := &scoring.Transaction{Profile: scoring.ProfileLocal, Message: m}
			c := &scoring.Changes{}
			if err := s.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}
