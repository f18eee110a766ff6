package rules

import "testing"

// FuzzLoad feeds arbitrary rule text to the parser: it must return rules or
// errors, never panic, and every loaded regexp rule must be runnable.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"body R /wire transfer/i\nscore R 2\n",
		"header R From:addr =~ /\\@example\\.com$/ [if-unset: x]\n",
		"meta M (A && !B) || (C + D) >= 2\n",
		"score X (1)\n",
		"body R m{a(?=b)}\n",
		"ifplugin X\nbody R /a/\nendif\n",
		"uri U /^https?:\\/\\/[^\\/]*bit\\.ly/\n",
		"body R /a{2,3}(?:x|yz)+\\Z/x\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := LoadString("fuzz.cf", text)
		if err != nil {
			if _, ok := err.(LoadErrors); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, r := range s.Rules {
			if r.Re != nil {
				r.Re.MatchString("some text wire transfer")
			}
			if r.Kind == KindMeta {
				r.meta.eval(func(string) float64 { return 1 })
			}
		}
	})
}
