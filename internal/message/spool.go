package message

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// DefaultSpoolThreshold is the body size past which a body is written to a
// temporary file instead of being held in memory: large enough that typical
// mail (median ~10 kB) never touches the disk, small enough that 100
// concurrent sessions with large attachments stay within tens of MB.
const DefaultSpoolThreshold = 1 << 20

// Spool collects a message body. It keeps up to Threshold bytes in memory and
// moves everything to a temporary file in Dir once that is exceeded. Close
// removes the file. The zero value keeps everything in memory up to
// DefaultSpoolThreshold and then spools to os.TempDir().
type Spool struct {
	Threshold int64
	Dir       string

	mem  bytes.Buffer
	file *os.File
	size int64
}

// Write appends body bytes.
func (s *Spool) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	if s.file != nil {
		return s.file.Write(p)
	}
	limit := s.Threshold
	if limit <= 0 {
		limit = DefaultSpoolThreshold
	}
	if int64(s.mem.Len()+len(p)) <= limit {
		return s.mem.Write(p)
	}
	f, err := os.CreateTemp(s.Dir, "mailwarden-body-*")
	if err != nil {
		s.size -= int64(len(p))
		return 0, fmt.Errorf("spool body: %w", err)
	}
	// Unlinked at once where possible: nothing is left behind if we die.
	_ = os.Remove(f.Name())
	if _, err := f.Write(s.mem.Bytes()); err != nil {
		f.Close()
		return 0, fmt.Errorf("spool body: %w", err)
	}
	s.mem = bytes.Buffer{}
	s.file = f
	return f.Write(p)
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return s.size }

// Spooled reports whether the body went to disk.
func (s *Spool) Spooled() bool { return s.file != nil }

// Reader returns a reader over the whole body from its start. Several readers
// may be used one after another (not concurrently with Write).
func (s *Spool) Reader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size)
	}
	return bytes.NewReader(s.mem.Bytes())
}

// ReaderAt gives random access to the body.
func (s *Spool) ReaderAt() io.ReaderAt {
	if s.file != nil {
		return s.file
	}
	return bytes.NewReader(s.mem.Bytes())
}

// Close releases the temporary file, if any.
func (s *Spool) Close() error {
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	s.mem = bytes.Buffer{}
	return nil
}
