package main

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestStatsReportAfterTraffic sends mail through a real daemon, then checks
// `mailwarden stats` (text and HTML) against what was sent, and renders the
// HTML report in headless Chromium to a PNG kept in .artifacts/.
func TestStatsReportAfterTraffic(t *testing.T) {
	// Remote mail meets the inbound DNS checks: serve them a loopback zone.
	dns := dnstest.New(t)
	dns.AddRR(t, "example.com. 300 IN A 192.0.2.80", "client.example.net. 300 IN A 192.0.2.1")
	d := testenv.StartDaemon(t, `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[dns]
servers = ["`+dns.Addr()+`"]
[profiles]
local_networks = ["10.0.0.0/8"]
[basic_headers]
required = ["From", "Date"]
action = "reject"
profiles = ["remote"]
[spam]
tag_level = 4.0
[stats]
retention_days = 7
`)
	hdrOK := [][2]string{{"From", " a@example.com"}, {"Date", " Wed, 25 Nov 2026 10:00:00 +0000"}, {"Subject", " hi"}}
	hdrBad := [][2]string{{"From", " a@example.com"}, {"Subject", " no date"}}
	const ham, rejected, outbound = 4, 2, 3
	for i := 0; i < ham; i++ {
		testenv.MilterSend(t, d.MilterAddr, "192.0.2.1", hdrOK, "hello\r\n")
	}
	for i := 0; i < rejected; i++ {
		testenv.MilterSend(t, d.MilterAddr, "192.0.2.1", hdrBad, "hello\r\n")
	}
	for i := 0; i < outbound; i++ {
		testenv.MilterSend(t, d.MilterAddr, "10.1.1.1", hdrOK, "hello\r\n")
	}
	d.Stop()

	html := filepath.Join(t.TempDir(), "report.html")
	out, err := exec.Command(testenv.Mailwarden(t), "stats", "-c", d.ConfigPath, "--html", html).CombinedOutput()
	if err != nil {
		t.Fatalf("mailwarden stats: %v\n%s", err, out)
	}
	text := string(out)
	for cat, want := range map[string]int{"ham": ham, "rejected-other": rejected, "outbound": outbound, "total": ham + rejected + outbound} {
		m := regexp.MustCompile(`(?m)^` + cat + ` +(\d+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s line in:\n%s", cat, text)
		}
		if n, _ := strconv.Atoi(m[1]); n != want {
			t.Errorf("%s = %d, want %d\n%s", cat, n, want, text)
		}
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for cat, want := range map[string]int{"ham": ham, "rejected-other": rejected, "outbound": outbound} {
		if !strings.Contains(string(page), `data-category="`+cat+`" data-count="`+strconv.Itoa(want)+`"`) {
			t.Errorf("HTML lacks %s=%d", cat, want)
		}
	}
	if !strings.Contains(string(page), `data-count="`+strconv.Itoa(ham+rejected+outbound)+`"`) {
		t.Error("HTML total wrong")
	}

	chromium := testenv.RequireBinary(t, "chromium")
	artifacts := filepath.Join(testenv.RepoRoot(), ".artifacts")
	os.MkdirAll(artifacts, 0o755)
	shot := filepath.Join(artifacts, "mailstats-report.png")
	os.Remove(shot)
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--window-size=1000,900", "--screenshot="+shot, "file://"+html)
	done := make(chan error, 1)
	var cout []byte
	go func() { cout, err = cmd.CombinedOutput(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, cout)
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("chromium did not finish in 90s")
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, cout)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 900 {
		t.Errorf("screenshot %v", b)
	}
	// The chart's bars are drawn: the ham colour (#4caf50) appears.
	found := false
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y && !found; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 == 0x4c && g>>8 == 0xaf && b>>8 == 0x50 {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no ham-coloured bar in the rendered chart")
	}
	t.Logf("report rendered to %s", shot)
}
