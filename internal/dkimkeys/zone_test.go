package dkimkeys

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestZoneTXTParses checks the printed records with a real zone-file parser:
// the split record reads back as the whole value.
func TestZoneTXTParses(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []GenerateOptions{{Bits: 2048, Selector: "r"}, {Bits: 1024, Selector: "s", Force: true}, {Algorithm: Ed25519, Selector: "e"}} {
		k, err := Generate(dir, "example.com", o)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := TXTRecord(k.Public())
		t.Run(string(k.Algorithm)+"-"+k.Selector, func(t *testing.T) {
			zp := dns.NewZoneParser(strings.NewReader(ZoneTXT(RecordName(k.Selector, "example.com"), rec)+"\n"), "", "")
			rr, ok := zp.Next()
			if !ok || zp.Err() != nil {
				t.Fatalf("does not parse: %v", zp.Err())
			}
			txt, isTXT := rr.(*dns.TXT)
			if !isTXT || strings.Join(txt.Txt, "") != rec {
				t.Fatalf("read back %v", rr)
			}
			if rr.Header().Name != k.Selector+"._domainkey.example.com." {
				t.Errorf("name %s", rr.Header().Name)
			}
		})
	}
}
