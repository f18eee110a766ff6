package bayes

import (
	"context"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Learner prepares messages for the database with the tokenizer the
// classifier uses; the CLI, the maildir watcher and autolearn share it.
type Learner struct {
	DB        *DB
	Tokenizer Tokenizer
}

// Prepare tokenizes a message into an Item of the given class.
func (l *Learner) Prepare(m *message.Message, class Class) (Item, error) {
	id, err := MessageID(m, l.Tokenizer.SubjectTag)
	if err != nil {
		return Item{}, err
	}
	return Item{ID: id, Class: class, Hashes: Hashes(l.Tokenizer.Tokens(Extract(m)))}, nil
}

// Learn applies prepared items (see DB.Learn).
func (l *Learner) Learn(ctx context.Context, items []Item) ([]Outcome, error) {
	return l.DB.Learn(ctx, items)
}
