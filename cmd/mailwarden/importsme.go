package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/smeimport"
)

// cmdImportSME: mailwarden import-sme DIR [-o FILE]. Reads a copy of an SME
// server's /home/e-smith/db and writes a policy file carrying its settings
// over (stdout by default). The output is validated as `config check` does
// before it is written; a file that would not load is not written.
func cmdImportSME(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import-sme", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the policy file here (default: standard output)")
	force := fs.Bool("force", false, "overwrite an existing -o file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailwarden import-sme DIR [-o FILE] [--force]")
		fmt.Fprintln(stderr, "  DIR: a copy of the SME server's /home/e-smith/db (configuration, accounts, domains, spamassassin, networks)")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	src, err := smeimport.LoadDir(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden import-sme:", err)
		return 1
	}
	res := smeimport.Convert(src)
	name := *out
	if name == "" {
		name = "import-sme output"
	}
	cfg, err := config.Parse(name, res.TOML)
	if err == nil {
		_, err = app.BuildEngine(cfg, app.Deps{})
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailwarden import-sme: the converted file does not validate (a bug, please report it):\n%v\n", err)
		stdout.Write(res.TOML)
		return 1
	}
	if *out == "" {
		stdout.Write(res.TOML)
	} else {
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if *force {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(*out, flags, 0o640)
		if err != nil {
			fmt.Fprintln(stderr, "mailwarden import-sme:", err, "(--force overwrites)")
			return 1
		}
		if _, err := f.Write(res.TOML); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "mailwarden import-sme:", err)
			return 1
		}
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "mailwarden import-sme:", err)
			return 1
		}
	}
	for _, w := range src.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintf(stderr, "import-sme: %d settings carried over from %s, %d not (listed at the top of the file)\n",
		res.Carried, filepath.Clean(src.Dir), len(res.Skipped))
	return 0
}
