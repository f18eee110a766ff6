package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dkimkeys"
)

// cmdDKIM implements `mailwarden dkim keygen DOMAIN [--selector S]
// [--rsa-bits 2048|--ed25519] [--force] [--owner USER] [-c FILE]
// [--dir KEYS_DIR]`: a new key
// pair in the SME layout (dkim.keys_dir of the config, or --dir), then the
// record to publish.
func cmdDKIM(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "keygen" {
		fmt.Fprintln(stderr, "usage: mailwarden dkim keygen DOMAIN [--selector nov2026] [--rsa-bits 2048|--ed25519] [--force] [--owner USER] [-c FILE] [--dir KEYS_DIR]")
		return 2
	}
	fs := flag.NewFlagSet("dkim keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	selector := fs.String("selector", "", "selector (default: month and year, e.g. nov2026)")
	bits := fs.Int("rsa-bits", 2048, "RSA key size: 2048, or 1024 for DNS providers limited to 255-character records")
	ed := fs.Bool("ed25519", false, "make an Ed25519 key (RFC 8463) beside the RSA one")
	force := fs.Bool("force", false, "replace an existing key of the same type")
	cfgPath := fs.String("c", defaultConfig, "policy file (for dkim.keys_dir)")
	dir := fs.String("dir", "", "keys directory (overrides dkim.keys_dir)")
	owner := fs.String("owner", "", "give the domain's key files to this user (the one mailwarden runs as)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "dkim keygen: give exactly one DOMAIN (\"default\" for the fallback key)")
		return 2
	}
	keysDir, err := keysDirFor(*cfgPath, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	o := dkimkeys.GenerateOptions{Algorithm: dkimkeys.RSA, Bits: *bits, Selector: *selector, Force: *force}
	if *ed {
		o.Algorithm, o.Bits = dkimkeys.Ed25519, 0
	}
	k, err := dkimkeys.Generate(keysDir, pos[0], o)
	if err != nil {
		fmt.Fprintf(stderr, "dkim keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "; wrote %s (%s %d bits, selector %s, mode 0600)\n", k.Path, k.Algorithm, k.Bits, k.Selector)
	if *owner != "" {
		if err := chownDomainDir(filepath.Dir(k.Path), *owner); err != nil {
			fmt.Fprintf(stderr, "dkim keygen: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "; owned by %s; reload mailwarden to use it\n", *owner)
	} else {
		fmt.Fprintln(stdout, "; make it readable by the user mailwarden runs as (--owner, or chown), then reload mailwarden")
	}
	domain := pos[0]
	if domain == dkimkeys.DefaultDir {
		domain = "YOUR-DOMAIN"
	}
	if err := printDKIM(stdout, domain, k); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// chownDomainDir gives a domain directory and its files to a user (and the
// user's group), keeping their modes.
func chownDomainDir(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Chown(filepath.Join(dir, e.Name()), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// keysDirFor returns --dir, else dkim.keys_dir of the config file (when it
// exists), else the default.
func keysDirFor(cfgPath, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		if _, serr := os.Stat(cfgPath); errors.Is(serr, fs.ErrNotExist) && cfgPath == defaultConfig {
			return config.Defaults().DKIM.KeysDir, nil
		}
		return "", err
	}
	return cfg.DKIM.KeysDir, nil
}

// printDKIM prints a key's record: whole (as a comment, for web panels that
// take one string) and in zone-file syntax split into 255-octet strings.
func printDKIM(w io.Writer, domain string, k *dkimkeys.Key) error {
	rec, err := dkimkeys.TXTRecord(k.Public())
	if err != nil {
		return err
	}
	name := dkimkeys.RecordName(k.Selector, domain)
	fmt.Fprintf(w, "; DKIM %s key, %d bits, selector %s; whole value:\n; %s\n", k.Algorithm, k.Bits, k.Selector, rec)
	fmt.Fprintln(w, dkimkeys.ZoneTXT(name, rec))
	return nil
}
