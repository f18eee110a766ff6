package testenv

import (
	"bytes"
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// MilterResult is what a milter answered to one message.
type MilterResult struct {
	Action *gomilter.Action
	Mods   []gomilter.ModifyAction
}

// Header returns the value a modification added or changed for name.
func (r MilterResult) Header(name string) (string, bool) {
	for _, m := range r.Mods {
		if (m.Type == gomilter.ActionAddHeader || m.Type == gomilter.ActionChangeHeader || m.Type == gomilter.ActionInsertHeader) && m.HeaderName == name {
			return m.HeaderValue, true
		}
	}
	return "", false
}

// MilterSend drives one message through a milter at addr ("127.0.0.1:PORT")
// with go-milter's client, as an MTA would, from client IP ip. Header values
// keep their leading space, as Postfix sends them. It stops early, as the MTA
// would, when a stage refuses.
func MilterSend(t testing.TB, addr, ip string, hdr [][2]string, body string) MilterResult {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|
		gomilter.OptAddRcpt|gomilter.OptRemoveRcpt|gomilter.OptChangeBody|gomilter.OptQuarantine|gomilter.OptSetMacros))
	s, err := c.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatalf("milter session: %v", err)
	}
	defer s.Close()
	steps := []func() (*gomilter.Action, error){
		func() (*gomilter.Action, error) { return s.Conn("client.example.net", gomilter.FamilyInet, 25, ip) },
		func() (*gomilter.Action, error) { return s.Helo("client.example.net") },
		func() (*gomilter.Action, error) { return s.Mail("sender@example.com", "") },
		func() (*gomilter.Action, error) { return s.Rcpt("rcpt@example.org", "") },
		s.DataStart,
	}
	for _, h := range hdr {
		h := h
		steps = append(steps, func() (*gomilter.Action, error) { return s.HeaderField(h[0], h[1], nil) })
	}
	steps = append(steps, s.HeaderEnd)
	for _, step := range steps {
		a, err := step()
		if err != nil {
			t.Fatalf("milter: %v", err)
		}
		if a.StopProcessing() || a.Type == gomilter.ActionDiscard || a.Type == gomilter.ActionAccept {
			return MilterResult{Action: a}
		}
	}
	mods, a, err := s.BodyReadFrom(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("milter body: %v", err)
	}
	return MilterResult{Action: a, Mods: mods}
}
