package scoring

import (
	"context"
	"io"
)

// Modifier changes a message after the verdict, in the milter path only.
// Modifiers run in the fixed order cmd/mailwarden wires them: strip forged
// Authentication-Results, add Authentication-Results and X-Spam headers,
// subject tag, disclaimer, DKIM signing (last, so it signs what leaves), BCC.
type Modifier interface {
	Name() string
	Modify(ctx context.Context, tx *Transaction, v *Verdict, c *Changes) error
}

// HeaderOp is the kind of a header change.
type HeaderOp int

const (
	// AddHeader appends a field at the end of the header.
	AddHeader HeaderOp = iota
	// InsertHeader inserts a field at Index (0: before the first field),
	// counted over all fields.
	InsertHeader
	// ChangeHeader replaces the Index-th field named Name (1-based, per
	// name, libmilter semantics); an empty Value deletes it.
	ChangeHeader
)

// HeaderChange is one header modification.
type HeaderChange struct {
	Op    HeaderOp
	Index int
	Name  string
	Value string
}

// Changes is what the modifiers decided to do to a message.
type Changes struct {
	Headers  []HeaderChange
	AddRcpts []string
	DelRcpts []string
	// NewBody, if set, replaces the body (CRLF line endings).
	NewBody io.Reader
	// Quarantine, if set, holds the message with this reason.
	Quarantine string
}

// Add appends a header field.
func (c *Changes) Add(name, value string) {
	c.Headers = append(c.Headers, HeaderChange{Op: AddHeader, Name: name, Value: value})
}

// Insert inserts a header field at index over all fields (0: first).
func (c *Changes) Insert(index int, name, value string) {
	c.Headers = append(c.Headers, HeaderChange{Op: InsertHeader, Index: index, Name: name, Value: value})
}

// Change replaces the index-th (1-based) field called name.
func (c *Changes) Change(name string, index int, value string) {
	c.Headers = append(c.Headers, HeaderChange{Op: ChangeHeader, Index: index, Name: name, Value: value})
}

// Delete removes the index-th (1-based) field called name.
func (c *Changes) Delete(name string, index int) { c.Change(name, index, "") }

// Empty reports whether there is nothing to do.
func (c *Changes) Empty() bool {
	return len(c.Headers) == 0 && len(c.AddRcpts) == 0 && len(c.DelRcpts) == 0 && c.NewBody == nil && c.Quarantine == ""
}

// Modify runs the modifiers for a verdict that lets the message through
// (accept, tag, quarantine). A failing modifier is logged and skipped: a
// message is never lost for want of a header.
func (e *Engine) Modify(ctx context.Context, tx *Transaction, v *Verdict) *Changes {
	c := &Changes{}
	if v.Action >= Discard {
		return c
	}
	if v.Action == Quarantine {
		reason := v.Reason
		if reason == "" {
			reason = "held by mailwarden"
		}
		c.Quarantine = reason
	}
	for _, m := range e.mods {
		if err := safeModify(ctx, m, tx, v, c); err != nil {
			e.log.Error("modifier failed", "modifier", m.Name(), "qid", tx.QueueID, "error", err)
		}
	}
	return c
}

func safeModify(ctx context.Context, m Modifier, tx *Transaction, v *Verdict, c *Changes) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{value: r}
		}
	}()
	return m.Modify(ctx, tx, v, c)
}

func (p panicError) Error() string { return "panic: " + stringOf(p.value) }

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return "non-string panic value"
}
