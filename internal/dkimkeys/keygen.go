package dkimkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultSelector is the dated selector for a new key: the month and year
// ("nov2026"), so that a rotated key gets a new name and the old record can
// stay published until mail signed with it has been delivered.
func DefaultSelector(t time.Time) string {
	return strings.ToLower(t.Format("Jan")) + t.Format("2006")
}

// GenerateOptions say what key to make.
type GenerateOptions struct {
	Algorithm Algorithm // RSA (default) or Ed25519
	Bits      int       // RSA: 1024 or 2048 (default), 3072, 4096
	Selector  string    // default: DefaultSelector(now)
	// Force replaces an existing key of the same algorithm.
	Force bool
}

// Generate creates a key pair in dir/domain (domain "default" for the
// fallback key), writing selector, private (mode 0600) and public files as
// the SME layout has them. It refuses to replace an existing key unless
// Force is set.
func Generate(dir, domain string, o GenerateOptions) (*Key, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || strings.ContainsAny(domain, "/\\ ") || strings.HasPrefix(domain, ".") {
		return nil, fmt.Errorf("invalid domain %q", domain)
	}
	if o.Algorithm == "" {
		o.Algorithm = RSA
	}
	if o.Selector == "" {
		o.Selector = DefaultSelector(time.Now())
		if o.Algorithm == Ed25519 {
			// Beside an RSA key: one selector names one key record.
			o.Selector += "-ed"
		}
	}
	if err := ValidSelector(o.Selector); err != nil {
		return nil, err
	}
	other := SelectorFile + Ed25519Suffix
	if o.Algorithm == Ed25519 {
		other = SelectorFile
	}
	if sel, err := readSelector(filepath.Join(dir, strings.ToLower(strings.TrimSuffix(domain, ".")), other)); err == nil && sel == o.Selector {
		return nil, fmt.Errorf("selector %q already names the domain's other key; one selector publishes one key record", sel)
	}
	var priv any
	var key *Key
	suffix := ""
	switch o.Algorithm {
	case RSA:
		if o.Bits == 0 {
			o.Bits = 2048
		}
		switch o.Bits {
		case 1024, 2048, 3072, 4096:
		default:
			return nil, fmt.Errorf("RSA key size %d: use 2048 (or 1024 for DNS providers limited to 255-character records)", o.Bits)
		}
		k, err := rsa.GenerateKey(rand.Reader, o.Bits)
		if err != nil {
			return nil, err
		}
		priv = k
		key = &Key{Algorithm: RSA, Bits: o.Bits, Signer: k}
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		priv = k
		key = &Key{Algorithm: Ed25519, Bits: 256, Signer: k}
		suffix = Ed25519Suffix
	default:
		return nil, fmt.Errorf("unknown algorithm %q (rsa or ed25519)", o.Algorithm)
	}
	ddir := filepath.Join(dir, domain)
	keyPath := filepath.Join(ddir, PrivateFile+suffix)
	if _, err := os.Stat(keyPath); err == nil && !o.Force {
		return nil, fmt.Errorf("%s exists; pass --force to replace it (publish the new record first)", keyPath)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The keys directory holds no secret itself (the daemon's user must be
	// able to enter it); a domain's directory is private to its owner.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(ddir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	var block *pem.Block
	if rk, ok := priv.(*rsa.PrivateKey); ok {
		// PKCS#1, as SME and opendkim-genkey write RSA keys.
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(ddir, PublicFile+suffix), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(ddir, SelectorFile+suffix), []byte(o.Selector+"\n"), 0o644); err != nil {
		return nil, err
	}
	key.Selector = o.Selector
	key.Path = keyPath
	return key, nil
}

// writeFileAtomic writes a file through a temporary name, with its final
// mode from the start (a key is never briefly world-readable).
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
