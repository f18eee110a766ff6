package benchutil

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Mail is one corpus message as a milter client sends it: its header
// fields and its body.
type Mail struct {
	Name   string // the file's path
	Fields []message.Field
	Body   []byte
}

// maxMail bounds a message read from a corpus.
const maxMail = 64 << 20

// LoadMail reads one message file.
func LoadMail(path string) (Mail, error) {
	f, err := os.Open(path)
	if err != nil {
		return Mail{}, err
	}
	defer f.Close()
	m, err := message.Parse(f, maxMail, "")
	if err != nil {
		return Mail{}, err
	}
	defer m.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(m.BodyReader()); err != nil {
		return Mail{}, err
	}
	return Mail{Name: path, Fields: m.Header.Fields, Body: body.Bytes()}, nil
}

// LoadCorpus reads the messages under dir, sorted by path, at most max (0:
// all): every regular file but dot files, the corpus's cmds files and
// index.tsv. Files that do not parse as a message are skipped.
func LoadCorpus(dir string, max int) ([]Mail, error) {
	var out []Mail
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (max > 0 && len(out) >= max) {
			return err
		}
		if n := d.Name(); strings.HasPrefix(n, ".") || strings.HasPrefix(n, "cmds") || strings.HasSuffix(n, ".tsv") {
			return nil
		}
		m, err := LoadMail(p)
		if err != nil {
			return nil // not a message
		}
		out = append(out, m)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// MilterClient is a go-milter client offering every action, with the
// timeouts the load tools use.
func MilterClient(network, address string) *gomilter.Client {
	return gomilter.NewClient(network, address,
		gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|gomilter.OptAddRcpt|gomilter.OptRemoveRcpt|gomilter.OptChangeBody|gomilter.OptQuarantine|gomilter.OptChangeFrom|gomilter.OptSetMacros),
		gomilter.WithReadTimeout(60*time.Second), gomilter.WithWriteTimeout(60*time.Second))
}
