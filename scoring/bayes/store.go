package bayes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Keys in the state store. Everything Bayes keeps is under "bayes:".
//
//	bayes:t:<hash>   one counter per token: spam<<40 | ham<<16 | day
//	bayes:nspam      messages learned as spam
//	bayes:nham       messages learned as ham
//	bayes:m:<msgid>  the class a message was learned as: 1 spam, 65536 ham
//
// A token's spam count, ham count and the day it was last learned (days
// since 2000-01-01) share one counter, so that learning a message is one
// atomic IncrMany on either backend: token counts, totals and the message's
// seen record change together or not at all, which is what makes a crash at
// any point harmless. The packing bounds a token's counts to 8,388,607 spam
// and 8,388,607 ham messages, far above any site's corpus (a ham field
// above that reads as one taken below zero; see underflow).
const (
	keyPrefix = "bayes:"
	keyTok    = "bayes:t:"
	keyNSpam  = "bayes:nspam"
	keyNHam   = "bayes:nham"
	keySeen   = "bayes:m:"

	spamShift = 40
	hamShift  = 16
	hamMask   = 1<<24 - 1
	dayMask   = 1<<16 - 1
)

// epoch is day 0 of the token day field.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func dayOf(t time.Time) int64 {
	d := int64(t.Sub(epoch) / (24 * time.Hour))
	if d < 0 {
		return 0
	}
	if d > dayMask {
		return dayMask
	}
	return d
}

// Class is what a message is learned as.
type Class int

const (
	// Forget removes a message's earlier learning.
	Forget Class = 0
	Spam   Class = 1
	Ham    Class = 2
)

func (c Class) String() string {
	switch c {
	case Spam:
		return "spam"
	case Ham:
		return "ham"
	}
	return "forget"
}

// Outcome says what learning one message did.
type Outcome int

const (
	Learned   Outcome = iota // counted for the first time
	Already                  // already learned as that class: nothing done
	Moved                    // learned as the other class before: moved
	Forgotten                // --forget removed it
	NotFound                 // --forget of a message never learned
)

var outcomeNames = [...]string{"learned", "already learned", "moved", "forgotten", "not learned before"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// MsgID identifies a message for the seen record: a hash of what stays the
// same however the message was delivered or copied (Message-ID, From,
// Subject and the body, trailing white space ignored), not of the fields
// MTAs and filters add on the way.
type MsgID string

// MessageID computes the MsgID of a message; subjectTag (the spam tagger's
// subject prefix, see Tokenizer.SubjectTag) is taken off the Subject first,
// so that a tagged copy has the identity of the message as it arrived.
func MessageID(m *message.Message, subjectTag string) (MsgID, error) {
	h := sha256.New()
	for _, name := range []string{"Message-ID", "From", "Subject"} {
		v := m.Header.Get(name)
		if name == "Subject" {
			v = StripSubjectTag(v, subjectTag)
		}
		io.WriteString(h, name+":"+strings.Join(strings.Fields(v), " ")+"\n")
	}
	if err := hashTrimmedLines(h, m.BodyReader()); err != nil {
		return "", fmt.Errorf("bayes: reading body: %w", err)
	}
	sum := h.Sum(nil)
	return MsgID(base64.RawURLEncoding.EncodeToString(sum[:16])), nil
}

var newline = []byte{'\n'}

// hashTrimmedLines writes r to h with the white space (space, tab, CR) at
// the end of each line left out, a line at a time.
func hashTrimmedLines(h io.Writer, r io.Reader) error {
	buf := make([]byte, 16<<10)
	var pending []byte // trailing white space not yet known to be inside a line
	for {
		n, err := r.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			seg, rest, nl := bytes.Cut(chunk, []byte{'\n'})
			if text := bytes.TrimRight(seg, " \t\r"); len(text) > 0 {
				h.Write(pending)
				h.Write(text)
				pending = pending[:0]
			}
			pending = append(pending, seg[len(bytes.TrimRight(seg, " \t\r")):]...)
			if nl {
				pending = pending[:0]
				h.Write(newline)
			}
			chunk = rest
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Hash is a token's key in the store: FNV-1a 64 of its text. At a million
// distinct tokens the chance of any collision is about 3·10⁻⁸.
func Hash(tok string) uint64 {
	// hash/fnv's New64a, written out: the same values without allocating
	// (TestHashIsFNV1a holds it to the library).
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i := 0; i < len(tok); i++ {
		h ^= uint64(tok[i])
		h *= prime64
	}
	return h
}

// Hashes hashes a token list.
func Hashes(toks []string) []uint64 {
	out := make([]uint64, len(toks))
	for i, t := range toks {
		out[i] = Hash(t)
	}
	return out
}

func tokKey(h uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h)
	return keyTok + base64.RawURLEncoding.EncodeToString(b[:])
}

// appendTokKeys appends the store keys of hashes[i] for each i in idx,
// written into one string: a lookup reads hundreds of keys, and one
// allocation for all of them instead of two each is a fifth of the time a
// long message's lookup takes.
func appendTokKeys(keys []string, hashes []uint64, idx []int) []string {
	n := len(tokKey(0))
	buf := make([]byte, 0, n*len(idx))
	for _, i := range idx {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], hashes[i])
		buf = append(buf, keyTok...)
		buf = base64.RawURLEncoding.AppendEncode(buf, b[:])
	}
	all := string(buf)
	for j := range idx {
		keys = append(keys, all[j*n:(j+1)*n])
	}
	return keys
}

func unpack(v int64) (Counts, int64) {
	if v < 0 {
		return Counts{}, 0
	}
	return Counts{Spam: uint32(v >> spamShift), Ham: uint32((v >> hamShift) & hamMask)}, v & dayMask
}

// DB is the Bayes token database on the project's state store (embedded
// bbolt or Redis). It is safe for concurrent use, and several processes may
// learn into one store at once.
type DB struct {
	s     store.Store
	now   func() time.Time
	cache *tokenCache // nil unless EnableCache
}

// NewDB returns the Bayes database kept in s.
func NewDB(s store.Store) *DB { return &DB{s: s, now: time.Now} }

// batchKeys is how many keys one store call carries (store.MaxBatch).
const batchKeys = store.MaxBatch

func (db *DB) getInts(ctx context.Context, keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	for start := 0; start < len(keys); start += batchKeys {
		end := min(start+batchKeys, len(keys))
		vals, err := db.s.GetMany(ctx, keys[start:end])
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			n, err := store.ParseInt(v)
			if err != nil {
				return nil, fmt.Errorf("bayes: corrupt counter %s: %w", keys[start+i], err)
			}
			out[start+i] = n
		}
	}
	return out, nil
}

// Totals returns how many spam and ham messages have been learned.
func (db *DB) Totals(ctx context.Context) (nspam, nham uint64, err error) {
	v, err := db.getInts(ctx, []string{keyNSpam, keyNHam})
	if err != nil {
		return 0, 0, err
	}
	return uint64(max(v[0], 0)), uint64(max(v[1], 0)), nil
}

// Lookup returns the counts of the tokens and the totals, in one read.
func (db *DB) Lookup(ctx context.Context, hashes []uint64) ([]Counts, uint64, uint64, error) {
	out := make([]Counts, len(hashes))
	// The totals are read every time; the tokens the cache holds are not.
	need := make([]int, 0, len(hashes))
	now := db.now().UnixNano()
	if db.cache != nil {
		need = db.cache.get(hashes, out, now)
	} else {
		for i := range hashes {
			need = append(need, i)
		}
	}
	keys := make([]string, 0, len(need)+2)
	keys = append(keys, keyNSpam, keyNHam)
	keys = appendTokKeys(keys, hashes, need)
	v, err := db.getInts(ctx, keys)
	if err != nil {
		return nil, 0, 0, err
	}
	read := make([]uint64, len(need))
	counts := make([]Counts, len(need))
	for j, i := range need {
		out[i], _ = unpack(v[j+2])
		read[j], counts[j] = hashes[i], out[i]
	}
	if db.cache != nil {
		db.cache.put(read, counts, now)
	}
	return out, uint64(max(v[0], 0)), uint64(max(v[1], 0)), nil
}

// Item is one message to learn, move or forget.
type Item struct {
	ID     MsgID
	Class  Class // Spam, Ham, or Forget
	Hashes []uint64
}

// Seen-record codes. They are far apart so that a concurrent learner's
// increment, not yet undone, never reads as a valid class (see apply).
const (
	codeSpam = 1
	codeHam  = 1 << 16
)

func code(c Class) int64 {
	switch c {
	case Spam:
		return codeSpam
	case Ham:
		return codeHam
	}
	return 0
}

func classOf(v int64) (Class, bool) {
	switch v {
	case 0:
		return Forget, true
	case codeSpam:
		return Spam, true
	case codeHam:
		return Ham, true
	}
	return Forget, false
}

// Another learner's increment is undone within one store round trip; a
// reader that sees such a transient seen value waits this long, this many
// times, before giving up.
const (
	transientWait  = 10 * time.Millisecond
	transientTries = 100
)

// seenStates reads seen records, waiting out transient values.
func (db *DB) seenStates(ctx context.Context, keys []string) ([]int64, error) {
	for try := 0; ; try++ {
		states, err := db.getInts(ctx, keys)
		if err != nil {
			return nil, err
		}
		ok := true
		for _, v := range states {
			if _, valid := classOf(v); !valid {
				ok = false
			}
		}
		if ok {
			return states, nil
		}
		if try >= transientTries {
			return nil, errors.New("bayes: a message's seen record stays inconsistent; another learner may have died mid-update (run `mailwarden bayes reset` if this persists)")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(transientWait):
		}
	}
}

// plan is what one item changes.
type plan struct {
	idx     int
	from    int64 // seen code before: 0, codeSpam, codeHam
	to      int64
	outcome Outcome
}

// Learn learns, moves or forgets messages. Each item is applied atomically
// with its seen record (all of an item's changes or none), so repeating a
// call after a crash changes nothing that was already done. Items naming the
// same message: the last one wins.
func (db *DB) Learn(ctx context.Context, items []Item) ([]Outcome, error) {
	if db.cache != nil {
		defer func() {
			for _, it := range items {
				db.cache.drop(it.Hashes)
			}
		}()
	}
	out := make([]Outcome, len(items))
	last := make(map[MsgID]int, len(items))
	for i, it := range items {
		if it.ID == "" {
			return nil, errors.New("bayes: item without a message id")
		}
		last[it.ID] = i
	}
	var idx []int
	for i, it := range items {
		if last[it.ID] == i {
			idx = append(idx, i)
		} else {
			out[i] = Already
		}
	}
	seenKeys := make([]string, len(idx))
	for j, i := range idx {
		seenKeys[j] = keySeen + string(items[i].ID)
	}
	states, err := db.seenStates(ctx, seenKeys)
	if err != nil {
		return nil, err
	}
	var todo []plan
	for j, i := range idx {
		p := plan{idx: i, from: states[j], to: code(items[i].Class)}
		switch {
		case p.from == p.to && p.to == 0:
			out[i] = NotFound
			continue
		case p.from == p.to:
			out[i] = Already
			continue
		case p.to == 0:
			p.outcome = Forgotten
		case p.from == 0:
			p.outcome = Learned
		default:
			p.outcome = Moved
		}
		todo = append(todo, p)
	}
	// Apply in groups that fit one atomic store call.
	for len(todo) > 0 {
		n, keys := 0, 0
		for n < len(todo) {
			k := 1 + len(items[todo[n].idx].Hashes)
			if n > 0 && keys+k+2 > batchKeys {
				break
			}
			keys += k
			n++
		}
		if err := db.apply(ctx, items, todo[:n], out); err != nil {
			return nil, err
		}
		todo = todo[n:]
	}
	return out, nil
}

func classDelta(c int64) (tok, nspam, nham int64) {
	switch c {
	case codeSpam:
		return 1 << spamShift, 1, 0
	case codeHam:
		return 1 << hamShift, 0, 1
	}
	return 0, 0, 0
}

// itemDeltas returns the counter changes of one plan (without day updates).
func itemDeltas(p plan) (tok, nspam, nham int64) {
	ta, sa, ha := classDelta(p.to)
	tr, sr, hr := classDelta(p.from)
	return ta - tr, sa - sr, ha - hr
}

func (db *DB) apply(ctx context.Context, items []Item, group []plan, out []Outcome) error {
	today := dayOf(db.now())
	index := make(map[uint64]int) // token hash -> its place in hashes
	var hashes []uint64
	learnsHash := make(map[uint64]bool)
	var dspam, dham int64
	for _, p := range group {
		_, sd, hd := itemDeltas(p)
		dspam += sd
		dham += hd
		for _, h := range items[p.idx].Hashes {
			if _, ok := index[h]; !ok {
				index[h] = 0
				hashes = append(hashes, h)
			}
			if p.to != 0 {
				learnsHash[h] = true
			}
		}
	}
	sort.Slice(hashes, func(i, j int) bool { return hashes[i] < hashes[j] })
	tkeys := make([]string, len(hashes))
	for i, h := range hashes {
		index[h] = i
		tkeys[i] = tokKey(h)
	}
	cur, err := db.getInts(ctx, tkeys)
	if err != nil {
		return err
	}
	// A count never goes below zero. Forgetting or moving a message whose
	// tokens are not all the ones it was learned with (learned by an
	// earlier tokenizer) would otherwise borrow from the next field of the
	// packed counter. As SpamAssassin's stores do, each plan's change is
	// clamped at zero against the counts as the plans before it left them,
	// and what was applied is kept for the undo below.
	type counts struct{ spam, ham int64 }
	run := make([]counts, len(hashes))
	for i := range hashes {
		c, _ := unpack(cur[i])
		run[i] = counts{int64(c.Spam), int64(c.Ham)}
	}
	total := make([]counts, len(hashes))
	applied := make([][]counts, len(group)) // per plan, per its Hashes
	for j, p := range group {
		_, sd, hd := itemDeltas(p)
		applied[j] = make([]counts, len(items[p.idx].Hashes))
		for k, h := range items[p.idx].Hashes {
			i := index[h]
			d := counts{max(sd, -run[i].spam), max(hd, -run[i].ham)}
			run[i].spam += d.spam
			run[i].ham += d.ham
			total[i].spam += d.spam
			total[i].ham += d.ham
			applied[j][k] = d
		}
	}
	keys := make([]string, 0, len(hashes)+len(group)+2)
	deltas := make([]int64, 0, cap(keys))
	for i, h := range hashes {
		d := total[i].spam<<spamShift + total[i].ham<<hamShift
		// Move each learned token's day forward to today.
		if _, day := unpack(cur[i]); learnsHash[h] && day < today {
			d += today - day
		}
		if d != 0 {
			keys = append(keys, tkeys[i])
			deltas = append(deltas, d)
		}
	}
	keys = append(keys, keyNSpam, keyNHam)
	deltas = append(deltas, dspam, dham)
	seenAt := len(keys)
	for _, p := range group {
		keys = append(keys, keySeen+string(items[p.idx].ID))
		deltas = append(deltas, p.to-p.from)
	}
	vals, err := db.s.IncrMany(ctx, keys, deltas, 0)
	if err != nil {
		return fmt.Errorf("bayes: learning: %w", err)
	}
	// Each token's value after our writes, for floorCounts below.
	after := make(map[string]int64, seenAt-2)
	for i, k := range keys[:seenAt-2] {
		after[k] = vals[i]
	}
	// Another learner may have changed one of these messages between our
	// read and our write: the seen record's new value, returned by the same
	// atomic call, then is not the code we meant (codes are far apart, so a
	// double increment is never a valid code). Undo exactly what we added for
	// that message and report it as done by the other learner. Of several
	// racing learners exactly one gets the code it meant.
	for j, p := range group {
		if vals[seenAt+j] == p.to {
			out[p.idx] = p.outcome
			continue
		}
		_, sd, hd := itemDeltas(p)
		ukeys := []string{keyNSpam, keyNHam, keySeen + string(items[p.idx].ID)}
		udeltas := []int64{-sd, -hd, -(p.to - p.from)}
		for k, h := range items[p.idx].Hashes {
			if d := applied[j][k]; d != (counts{}) {
				ukeys = append(ukeys, tokKey(h))
				udeltas = append(udeltas, -(d.spam<<spamShift + d.ham<<hamShift))
			}
		}
		uvals, err := db.s.IncrMany(ctx, ukeys, udeltas, 0)
		if err != nil {
			return fmt.Errorf("bayes: undoing a concurrent double learn: %w", err)
		}
		for i, k := range ukeys[3:] {
			after[k] = uvals[3+i]
		}
		out[p.idx] = Already
	}
	// The clamp above read the counts before the write. Another learner
	// taking the same token down in between (forgetting a different
	// message) can still take a field below zero: the values the atomic
	// calls returned show it, and one more increment puts it back.
	return db.floorCounts(ctx, after)
}

// underflow returns what to add to a token counter's value v, as an
// increment returned it, to bring a field that went below zero back to
// zero; 0 if none did. A ham field below zero borrows from the spam field
// and reads as a count near hamMask: ham counts above hamMask/2 (8,388,607,
// the spam field's own bound) are read as that. A spam field below zero
// makes the whole value negative.
func underflow(v int64) int64 {
	var fix int64
	if ham := (v >> hamShift) & hamMask; ham > hamMask/2 {
		fix = (hamMask + 1 - ham) << hamShift
	}
	if spam := (v + fix) >> spamShift; spam < 0 {
		fix += -spam << spamShift
	}
	return fix
}

// floorCounts puts back to zero the token fields our increments took below
// it (see underflow); after holds each token key's value after them. The correction is itself an increment, so it stays
// exact whatever other learners do meanwhile.
func (db *DB) floorCounts(ctx context.Context, after map[string]int64) error {
	var fk []string
	var fd []int64
	for k, v := range after {
		if fix := underflow(v); fix != 0 {
			fk, fd = append(fk, k), append(fd, fix)
		}
	}
	if len(fk) == 0 {
		return nil
	}
	if _, err := db.s.IncrMany(ctx, fk, fd, 0); err != nil {
		return fmt.Errorf("bayes: restoring a count taken below zero: %w", err)
	}
	return nil
}

// Class returns what a message was learned as (Forget: not learned).
func (db *DB) Class(ctx context.Context, id MsgID) (Class, error) {
	v, err := db.seenStates(ctx, []string{keySeen + string(id)})
	if err != nil {
		return Forget, err
	}
	c, _ := classOf(v[0])
	return c, nil
}

// Stats is what `mailwarden bayes stats` shows (SpamAssassin's
// `sa-learn --dump magic`).
type Stats struct {
	NSpam, NHam uint64
	NTokens     int
	Oldest      time.Time // day the least recently learned token was last learned
	Newest      time.Time
	Messages    int // seen records
}

// Stats scans the database.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var err error
	if st.NSpam, st.NHam, err = db.Totals(ctx); err != nil {
		return st, err
	}
	oldest, newest := int64(-1), int64(-1)
	err = db.s.Scan(ctx, keyTok, func(_ string, val []byte) error {
		n, err := store.ParseInt(val)
		if err != nil {
			return nil
		}
		c, day := unpack(n)
		if c.Spam == 0 && c.Ham == 0 {
			return nil
		}
		st.NTokens++
		if oldest < 0 || day < oldest {
			oldest = day
		}
		if day > newest {
			newest = day
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if oldest >= 0 {
		st.Oldest = epoch.AddDate(0, 0, int(oldest))
		st.Newest = epoch.AddDate(0, 0, int(newest))
	}
	err = db.s.Scan(ctx, keySeen, func(_ string, val []byte) error {
		if n, _ := store.ParseInt(val); n != 0 {
			st.Messages++
		}
		return nil
	})
	return st, err
}

// deleteChunk bounds one Delete call (one write transaction).
const deleteChunk = 1000

func (db *DB) deleteKeys(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += deleteChunk {
		if err := db.s.Delete(ctx, keys[start:min(start+deleteChunk, len(keys))]...); err != nil {
			return err
		}
	}
	return nil
}

// Expire deletes tokens not learned from for maxAge, and tokens whose
// counts all went to zero. It returns how many keys it deleted. The totals
// stay: they count messages, as SpamAssassin's do after its expiry.
func (db *DB) Expire(ctx context.Context, maxAge time.Duration) (int, error) {
	if db.cache != nil {
		defer db.cache.drop(nil)
	}
	cutoff := dayOf(db.now().Add(-maxAge))
	var dead []string
	err := db.s.Scan(ctx, keyTok, func(key string, val []byte) error {
		n, err := store.ParseInt(val)
		if err != nil {
			dead = append(dead, key)
			return nil
		}
		c, day := unpack(n)
		if day < cutoff || (c.Spam == 0 && c.Ham == 0) {
			dead = append(dead, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(dead), db.deleteKeys(ctx, dead)
}

// Reset deletes everything Bayes keeps: tokens, totals and seen records.
func (db *DB) Reset(ctx context.Context) error {
	if db.cache != nil {
		defer db.cache.drop(nil)
	}
	var keys []string
	if err := db.s.Scan(ctx, keyPrefix, func(key string, _ []byte) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return err
	}
	return db.deleteKeys(ctx, keys)
}
