package doctor

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteText prints the checklist: one line per item, its evidence, and the
// fix under items that did not pass.
func WriteText(w io.Writer, r *Report) {
	last := "\x00"
	marks := map[Status]string{Pass: "PASS", Warn: "WARN", Fail: "FAIL"}
	var n = map[Status]int{}
	for _, it := range r.Items {
		if it.Domain != last {
			last = it.Domain
			if it.Domain == "" {
				fmt.Fprintln(w, "server:")
			} else {
				fmt.Fprintf(w, "%s:\n", it.Domain)
			}
		}
		n[it.Status]++
		fmt.Fprintf(w, "  [%s] %-11s %s\n", marks[it.Status], it.Check, it.Evidence)
		if it.Fix != "" {
			fmt.Fprintf(w, "         fix: %s\n", it.Fix)
		}
	}
	fmt.Fprintf(w, "%d passed, %d warnings, %d failed\n", n[Pass], n[Warn], n[Fail])
}

// WriteJSON prints the report as JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
