package attach

import (
	"bytes"
	"encoding/binary"
)

// Kind is a detected executable content type.
type Kind string

// Kinds detected from content, whatever the file name says.
const (
	KindPE     Kind = "pe"     // Windows/DOS executable, DLL ("MZ" + "PE\0\0")
	KindELF    Kind = "elf"    // Linux/Unix executable ("\x7fELF")
	KindMachO  Kind = "macho"  // macOS executable (thin or universal)
	KindScript Kind = "script" // "#!" interpreter script
)

// AllKinds lists every kind, the default of block_content.
var AllKinds = []Kind{KindPE, KindELF, KindMachO, KindScript}

// Detect returns the executable kind of content from its first bytes, or ""
// when it is not an executable. head needs no more than the first 512 bytes.
func Detect(head []byte) Kind {
	switch {
	case isPE(head):
		return KindPE
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return KindELF
	case isMachO(head):
		return KindMachO
	case bytes.HasPrefix(head, []byte("#!")) && isShebang(head[2:]):
		return KindScript
	}
	return ""
}

// isPE: the DOS header ("MZ") holds at 0x3C the offset of the PE header
// ("PE\0\0"). When that offset lies within head it must point at the PE
// signature; past head (a large DOS stub) "MZ" with a plausible offset is
// taken as an executable. A text that merely starts with "MZ" fails both.
func isPE(h []byte) bool {
	if len(h) < 0x40 || h[0] != 'M' || h[1] != 'Z' {
		return false
	}
	off := binary.LittleEndian.Uint32(h[0x3c:])
	if off < 0x40 || off > 1<<20 {
		return false
	}
	if int(off)+4 <= len(h) {
		return bytes.Equal(h[off:off+4], []byte("PE\x00\x00"))
	}
	return true
}

// isMachO recognises thin Mach-O (32/64-bit, both byte orders) and universal
// ("fat") binaries. 0xCAFEBABE is also Java's class-file magic; the next word
// tells them apart: a fat binary's architecture count is small, a class
// file's version is 45 or more.
func isMachO(h []byte) bool {
	if len(h) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(h) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xcafebabe:
		n := binary.BigEndian.Uint32(h[4:])
		return n > 0 && n < 45
	}
	return false
}

// isShebang checks that what follows "#!" looks like an interpreter path
// ("/bin/sh", " /usr/bin/env python"), not prose.
func isShebang(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) < 2 || rest[0] != '/' {
		return false
	}
	for _, c := range rest {
		if c == '\n' || c == '\r' || c == ' ' || c == '\t' {
			break
		}
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// isZip reports whether content is a zip archive (local file header, or the
// end record of an empty archive).
func isZip(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}
