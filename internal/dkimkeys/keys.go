package dkimkeys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names of the SME layout.
const (
	SelectorFile        = "selector"
	PrivateFile         = "private"
	PublicFile          = "public"
	Ed25519Suffix       = ".ed25519"
	DefaultDir          = "default"
	maxKeyFileSize      = 64 << 10 // a 16384-bit RSA PEM is ~12 kB; anything bigger is not a key
	maxSelectorFileSize = 1 << 10
)

// Algorithm is a DKIM key type (the k= tag).
type Algorithm string

const (
	RSA     Algorithm = "rsa"
	Ed25519 Algorithm = "ed25519"
)

// Key is one signing key.
type Key struct {
	Selector  string
	Algorithm Algorithm
	Bits      int // RSA modulus size; 256 for Ed25519
	Signer    crypto.Signer
	Path      string // the private key file
}

// Public returns the key's public half.
func (k *Key) Public() crypto.PublicKey { return k.Signer.Public() }

// Set is every key of a keys directory: by domain, plus the default.
type Set struct {
	Dir     string
	Domains map[string][]*Key // lower-cased domain → keys (RSA first)
	Default []*Key
}

// Lookup returns the keys for a domain: its own, else the default keys.
// own reports whether the domain has its own directory.
func (s *Set) Lookup(domain string) (keys []*Key, own bool) {
	if s == nil {
		return nil, false
	}
	if k, ok := s.Domains[strings.ToLower(domain)]; ok {
		return k, true
	}
	return s.Default, false
}

// DomainNames returns the domains with their own keys, sorted.
func (s *Set) DomainNames() []string {
	out := make([]string, 0, len(s.Domains))
	for d := range s.Domains {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// LoadDir reads a keys directory. A directory that does not exist gives an
// empty set and no error (signing then reports "no key" per message); a key
// that cannot be read, parsed or has loose permissions is an error.
func LoadDir(dir string) (*Set, error) {
	s := &Set{Dir: dir, Domains: map[string][]*Key{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dkim keys: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		keys, err := LoadDomainDir(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(keys) == 0 {
			continue
		}
		if name == DefaultDir {
			s.Default = keys
		} else {
			s.Domains[strings.ToLower(name)] = keys
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// LoadDomainDir reads the selector/private pairs of one domain directory:
// "selector"+"private" and "selector.ed25519"+"private.ed25519". A pair with
// no private key file is skipped; a selector file without its key is an
// error.
func LoadDomainDir(dir string) ([]*Key, error) {
	var keys []*Key
	for _, suffix := range []string{"", Ed25519Suffix} {
		selPath := filepath.Join(dir, SelectorFile+suffix)
		keyPath := filepath.Join(dir, PrivateFile+suffix)
		_, kerr := os.Stat(keyPath)
		sel, serr := readSelector(selPath)
		if errors.Is(kerr, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
			continue
		}
		if serr != nil {
			return nil, fmt.Errorf("dkim keys: %s: %w", selPath, serr)
		}
		if kerr != nil {
			return nil, fmt.Errorf("dkim keys: selector %s has no key: %w", selPath, kerr)
		}
		k, err := LoadKeyFile(keyPath)
		if err != nil {
			return nil, err
		}
		k.Selector = sel
		if len(keys) > 0 && keys[0].Selector == sel {
			return nil, fmt.Errorf("dkim keys: %s: the RSA and Ed25519 keys both use selector %q; one selector publishes one key record (rename one selector file and publish its record)", dir, sel)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func readSelector(path string) (string, error) {
	b, err := readSmall(path, maxSelectorFileSize)
	if err != nil {
		return "", err
	}
	sel := strings.TrimSpace(string(b))
	if err := ValidSelector(sel); err != nil {
		return "", err
	}
	return sel, nil
}

// ValidSelector checks a selector is a DNS label sequence (RFC 6376 3.1).
func ValidSelector(sel string) error {
	if sel == "" {
		return fmt.Errorf("empty selector")
	}
	if len(sel) > 63 {
		return fmt.Errorf("selector %q longer than a DNS label (63)", sel)
	}
	for _, label := range strings.Split(sel, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("selector %q is not a valid DNS name", sel)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("selector %q has character %q", sel, c)
			}
		}
	}
	return nil
}

// CheckPermissions refuses a private key file readable or writable by the
// group or by others.
func CheckPermissions(path string, mode fs.FileMode) error {
	if mode.Perm()&0o077 != 0 {
		return fmt.Errorf("dkim key %s has mode %04o: a signing key must be readable by its owner only; run `chmod 600 %s` (and chown it to the mailwarden user)",
			path, mode.Perm(), path)
	}
	return nil
}

// LoadKeyFile reads a PEM private key (RSA PKCS#1 as SME and opendkim-genkey
// write it, or PKCS#8 RSA/Ed25519), checking its permissions.
func LoadKeyFile(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dkim keys: %w", err)
	}
	if err := CheckPermissions(path, st.Mode()); err != nil {
		return nil, err
	}
	b, err := readSmall(path, maxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("dkim keys: %s: %w", path, err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("dkim keys: %s: %w", path, err)
	}
	k.Path = path
	return k, nil
}

// ParsePrivateKey parses a PEM private key.
func ParsePrivateKey(b []byte) (*Key, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("no PEM block (want -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)")
	}
	var priv any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	return keyOf(priv)
}

func keyOf(priv any) (*Key, error) {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		bits := p.N.BitLen()
		// RFC 8301 3.2: verifiers must not accept keys under 1024 bits.
		if bits < 1024 {
			return nil, fmt.Errorf("RSA key of %d bits: RFC 8301 requires at least 1024 (use 2048)", bits)
		}
		return &Key{Algorithm: RSA, Bits: bits, Signer: p}, nil
	case ed25519.PrivateKey:
		return &Key{Algorithm: Ed25519, Bits: 256, Signer: p}, nil
	case *ed25519.PrivateKey:
		return &Key{Algorithm: Ed25519, Bits: 256, Signer: *p}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T (RSA or Ed25519)", priv)
}

func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("file of %d bytes is too large (limit %d)", st.Size(), limit)
	}
	b := make([]byte, st.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}
