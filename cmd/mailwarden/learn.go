package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/learn"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// learnBatch is how many messages one store commit learns.
const learnBatch = learn.BatchSize

// maxLearnFile: larger files are skipped (as the watcher does).
const maxLearnFile = learn.MaxMessageSize

// cmdLearn is `mailwarden learn`, like sa-learn: --spam, --ham or --forget
// with files, maildirs, directories of messages and mbox files; or --watch
// to run the LearnAsSpam/LearnAsHam watcher in the foreground.
func cmdLearn(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("learn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	spam := fs.Bool("spam", false, "learn the messages as spam")
	ham := fs.Bool("ham", false, "learn the messages as ham (not spam)")
	forget := fs.Bool("forget", false, "forget what was learned from the messages")
	watch := fs.Bool("watch", false, "run the LearnAsSpam/LearnAsHam maildir watcher ([bayes.learn]) until interrupted")
	once := fs.Bool("once", false, "with --watch: one pass, then exit")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	n := 0
	for _, b := range []bool{*spam, *ham, *forget, *watch} {
		if b {
			n++
		}
	}
	if n != 1 || (*watch && len(paths) > 0) || (!*watch && len(paths) == 0) {
		fmt.Fprintln(stderr, "usage: mailwarden learn --spam|--ham|--forget PATH... [-c CONFIG]\n       mailwarden learn --watch [--once] [-c CONFIG]\nPATH: a message file, a maildir, a directory of messages or an mbox file")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	st, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden learn:", err)
		return 1
	}
	defer st.Close()
	l := &bayes.Learner{DB: bayes.NewDB(st), Tokenizer: bayes.Tokenizer{Bigrams: cfg.Bayes.Bigrams, SubjectTag: cfg.Spam.SubjectPrefix}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *watch {
		log := app.NewLogger(cfg.Log, stderr)
		w := learn.New(app.LearnConfig(cfg), l, log.Named("learn"))
		if *once {
			if _, err := w.Pass(ctx); err != nil {
				log.Error("learn pass", "error", err)
				return 1
			}
			return 0
		}
		w.Run(ctx, cfg.Bayes.Learn.Interval.Duration)
		return 0
	}

	class := bayes.Spam
	switch {
	case *ham:
		class = bayes.Ham
	case *forget:
		class = bayes.Forget
	}
	s := &learnRun{l: l, class: class, stderr: stderr}
	for _, p := range paths {
		if err := s.path(ctx, p); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p, err)
			s.failed++
			if ctx.Err() != nil {
				break
			}
		}
	}
	if err := s.flush(ctx); err != nil {
		fmt.Fprintln(stderr, "mailwarden learn:", err)
		return 1
	}
	if class == bayes.Forget {
		fmt.Fprintf(stdout, "Forgot %d message(s) (%d examined, %d not learned before, %d failed)\n",
			s.counts[bayes.Forgotten], s.examined, s.counts[bayes.NotFound], s.failed)
	} else {
		fmt.Fprintf(stdout, "Learned %d message(s) as %s (%d examined, %d moved from the other class, %d already learned, %d failed)\n",
			s.counts[bayes.Learned]+s.counts[bayes.Moved], class, s.examined, s.counts[bayes.Moved], s.counts[bayes.Already], s.failed)
	}
	if s.failed > 0 {
		return 1
	}
	return 0
}

type learnRun struct {
	l        *bayes.Learner
	class    bayes.Class
	stderr   io.Writer
	items    []bayes.Item
	counts   map[bayes.Outcome]int
	examined int
	failed   int
}

func (s *learnRun) add(ctx context.Context, name string, m *message.Message) error {
	defer m.Close()
	s.examined++
	it, err := s.l.Prepare(m, s.class)
	if err != nil {
		fmt.Fprintf(s.stderr, "%s: %v\n", name, err)
		s.failed++
		return nil
	}
	s.items = append(s.items, it)
	if len(s.items) >= learnBatch {
		return s.flush(ctx)
	}
	return nil
}

func (s *learnRun) flush(ctx context.Context) error {
	if len(s.items) == 0 {
		return nil
	}
	out, err := s.l.Learn(ctx, s.items)
	if err != nil {
		return err
	}
	if s.counts == nil {
		s.counts = make(map[bayes.Outcome]int)
	}
	for _, o := range out {
		s.counts[o]++
	}
	s.items = s.items[:0]
	return nil
}

// path learns a file, an mbox, a maildir or a directory tree.
func (s *learnRun) path(ctx context.Context, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return s.file(ctx, p)
	}
	var files []string
	err = filepath.WalkDir(p, func(fp string, d os.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(s.stderr, "%s: %v\n", fp, err)
			s.failed++
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			// Maildir's tmp/ holds messages still being delivered.
			if fp != p && (name == "tmp" || (strings.HasPrefix(name, ".") && !isLearnableFolder(name))) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || !d.Type().IsRegular() {
			return nil
		}
		files = append(files, fp)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.file(ctx, f); err != nil {
			fmt.Fprintf(s.stderr, "%s: %v\n", f, err)
			s.failed++
		}
	}
	return nil
}

// isLearnableFolder: a Maildir++ subfolder given inside a maildir tree is
// walked (".Junk", ".LearnAsSpam"); dot-directories of programs are not.
func isLearnableFolder(name string) bool {
	return len(name) > 1 && name[1] != '.'
}

func (s *learnRun) file(ctx context.Context, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	mbox := isMbox(f)
	if st.Size() > maxLearnFile && !mbox {
		return fmt.Errorf("larger than %d bytes; skipped", maxLearnFile)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if mbox {
		return s.mbox(ctx, p, f)
	}
	m, err := message.Parse(f, 1<<20, "")
	if err != nil {
		return err
	}
	return s.add(ctx, p, m)
}

// isMbox reports whether a file holds more than one message in mbox form:
// it starts with a "From " line and has another one after an empty line.
func isMbox(f *os.File) bool {
	br := bufio.NewReader(f)
	first, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "From ") {
		return false
	}
	blank := false
	for i := 0; i < 1<<20; i++ {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, "From ") && blank {
			return true
		}
		blank = strings.TrimRight(line, "\r\n") == ""
		if err != nil {
			return false
		}
	}
	return false
}

// mbox splits an mbox file on "From " lines that follow an empty line
// (mboxrd: ">From " lines are unquoted).
func (s *learnRun) mbox(ctx context.Context, name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var cur bytes.Buffer
	n := 0
	emit := func() error {
		if cur.Len() == 0 {
			return nil
		}
		n++
		m, err := message.Parse(bytes.NewReader(cur.Bytes()), 1<<20, "")
		cur.Reset()
		if errors.Is(err, message.ErrEmpty) {
			return nil
		}
		if err != nil {
			fmt.Fprintf(s.stderr, "%s: message %d: %v\n", name, n, err)
			s.failed++
			return nil
		}
		return s.add(ctx, fmt.Sprintf("%s#%d", name, n), m)
	}
	prevBlank := true
	for {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, "From ") && prevBlank {
			if e := emit(); e != nil {
				return e
			}
			if cur.Len() > maxLearnFile {
				cur.Reset()
			}
		} else if line != "" {
			if strings.HasPrefix(line, ">") && strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
				line = line[1:]
			}
			if cur.Len() < maxLearnFile {
				cur.WriteString(line)
			}
		}
		prevBlank = strings.TrimRight(line, "\r\n") == ""
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return emit()
}
