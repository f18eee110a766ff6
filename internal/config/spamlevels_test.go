package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestSensitivityLevels checks SME's Sensitivity presets: each sets the tag
// level, and rejection happens only with "custom" (and a reject level > 0).
func TestSensitivityLevels(t *testing.T) {
	tests := []struct {
		sens           string
		tag, reject    float64
		rejectOn       bool
		extra, errPart string
	}{
		{"veryhigh", 2, 0, false, "", ""},
		{"high", 3, 0, false, "", ""},
		{"medium", 5, 0, false, "", ""},
		{"low", 7, 0, false, "", ""},
		{"verylow", 9, 0, false, "", ""},
		{"VeryHigh", 2, 0, false, "", ""},
		{"custom", 4, 12, true, "", ""},
		{"custom", 6, 0, false, "tag_level = 6.0\nreject_level = 0.0\n", ""},
		{"custom", 0, 0, false, "tag_level = 8.0\nreject_level = 5.0\n", "spam.reject_level: reject level 5.0 must be above the tag level 8.0"},
		{"paranoid", 0, 0, false, "", "spam.sensitivity: invalid sensitivity"},
	}
	for _, tc := range tests {
		t.Run(tc.sens+tc.extra, func(t *testing.T) {
			text := fmt.Sprintf("[spam]\nsensitivity = %q\n%s", tc.sens, tc.extra)
			cfg, err := Parse("x.toml", []byte(text))
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err %v, want %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tag, reject, on := cfg.Spam.EffectiveLevels()
			if tag != tc.tag || reject != tc.reject || on != tc.rejectOn {
				t.Errorf("levels = %v %v %v, want %v %v %v", tag, reject, on, tc.tag, tc.reject, tc.rejectOn)
			}
		})
	}
}

func TestSpamSectionsParse(t *testing.T) {
	tests := []struct{ text, err string }{
		{"[rules]\npaths = [\"a\"]\nprofiles = [\"remote\", \"local\"]\n", ""},
		{"[rules]\nprofiles = [\"nobody\"]\n", "x.toml:2: rules.profiles: unknown profile"},
		{"[wblist]\nwhitelist_from = [\"*@example.com\", \"a b\"]\n", "wblist.whitelist_from: bad sender pattern \"a b\""},
		{"[sorting]\nheader = \"X Bad\"\n", "sorting.header: invalid header field name"},
		{"[spamd]\nenabled = true\naddress = \"nowhere\"\n", "x.toml:3: spamd.address"},
		{"[spamd]\ntimeout = \"1m\"\n", "spamd.timeout: must be between"},
		{"[rules]\nfiles = [\"x\"]\n", "rules.files: unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tc.text))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}
