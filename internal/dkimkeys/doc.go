// Package dkimkeys manages DKIM signing keys in the Koozali SME Server layout
// and prints the DNS records that publish them.
//
// Layout (SME keeps it in /home/e-smith/dkimkeys; mailwarden's default is
// /etc/mailwarden/dkimkeys, config key dkim.keys_dir):
//
//	KEYS_DIR/example.com/selector          the selector, one line ("nov2026")
//	KEYS_DIR/example.com/private           RSA private key, PEM (PKCS#1 or PKCS#8)
//	KEYS_DIR/example.com/public            public key, PEM (for reference)
//	KEYS_DIR/example.com/selector.ed25519  optional second selector ...
//	KEYS_DIR/example.com/private.ed25519   ... with an Ed25519 key (RFC 8463), PKCS#8
//	KEYS_DIR/default/...                   the same files: the fallback key for
//	                                       every signing domain without its own
//
// A domain may hold an RSA key, an Ed25519 key or both; with both, a message
// gets two signatures (RFC 8463 section 1 recommends dual signing while
// verifiers catch up). Keys are read once, at start and on reload.
//
// A private key that is readable or writable by the group or by others is
// refused with an error naming the file and the chmod that fixes it: a
// leaked signing key lets anybody send mail as the domain.
//
// Generate writes a new pair with a dated selector ("nov2026", SME's
// qpsmtpd-dkim style) and mode 0600; TXTRecord and SplitTXT render the
// record to publish (RFC 6376 3.6.1, TXT strings at most 255 octets per
// RFC 1035 3.3.14).
package dkimkeys
