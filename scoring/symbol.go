package scoring

import (
	"fmt"
	"sort"
	"strings"
)

// SymbolDef declares a symbol a check may add, with its default weight.
// Weights are overridable in the [scores] table of the config.
type SymbolDef struct {
	Name        string
	Weight      float64
	Description string
}

// Symbol is one finding on a message.
type Symbol struct {
	Name        string   `json:"name"`
	Score       float64  `json:"score"`
	Options     []string `json:"options,omitempty"`
	Description string   `json:"description,omitempty"`
	Check       string   `json:"check,omitempty"`
}

// String renders NAME(score) or NAME(score){opt,...} as the summary log does.
func (s Symbol) String() string {
	if len(s.Options) == 0 {
		return fmt.Sprintf("%s(%.2f)", s.Name, s.Score)
	}
	return fmt.Sprintf("%s(%.2f){%s}", s.Name, s.Score, strings.Join(s.Options, ","))
}

// SortSymbols orders symbols by descending absolute score, then by name.
func SortSymbols(syms []Symbol) {
	sort.SliceStable(syms, func(i, j int) bool {
		ai, aj := abs(syms[i].Score), abs(syms[j].Score)
		if ai != aj {
			return ai > aj
		}
		return syms[i].Name < syms[j].Name
	})
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Engine-level symbols: the engine adds these itself.
const (
	SymCheckTimeout = "CHECK_TIMEOUT" // a check ran out of its time budget
	SymCheckError   = "CHECK_ERROR"   // a check failed (DNS, store, ...)
	SymCheckPanic   = "CHECK_PANIC"   // a check panicked
)

var engineSymbols = []SymbolDef{
	{SymCheckTimeout, 0, "A check did not finish within its time budget and was skipped"},
	{SymCheckError, 0, "A check failed and was skipped"},
	{SymCheckPanic, 0, "A check crashed; see the log for its stack"},
}
