package attach

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strings"
)

// Limits on archive inspection, the counterparts of ClamAV's MaxFiles,
// MaxRecursion and an archive compression-ratio limit. An archive that
// crosses one is refused as a possible archive bomb; it is never expanded
// past them: only the first HeadBytes of each member are decompressed (for
// the content check), and a nested zip is read only within the budget.
type Limits struct {
	// MaxFiles is the number of members looked at, all levels together
	// (ClamAV MaxFiles, default 10000; mail needs far fewer).
	MaxFiles int
	// MaxRecursion is how deep archives may nest: 1 allows a zip in the
	// mail but no zip inside it (ClamAV MaxRecursion, default 17).
	MaxRecursion int
	// MaxRatio is the highest uncompressed/compressed ratio accepted for a
	// member of at least MinRatioSize bytes. Deflate tops out near 1032:1;
	// ordinary documents compress 2-20:1, logs and CSV up to ~100:1.
	MaxRatio int
	// MaxExpanded is the total of bytes decompressed while inspecting one
	// message (heads of members and nested archives).
	MaxExpanded int64
}

// Default archive limits.
const (
	DefaultMaxFiles     = 1000
	DefaultMaxRecursion = 5
	DefaultMaxRatio     = 200
	DefaultMaxExpanded  = 64 << 20
	// MinRatioSize: small members may compress extremely well (a page of
	// spaces) without being a threat; the ratio limit applies from here.
	MinRatioSize = 1 << 20
	// HeadBytes is what is decompressed of each member for the content
	// check (magic numbers sit in the first bytes).
	HeadBytes = 512
	// MaxNameInReply bounds a file name quoted back to the client.
	MaxNameInReply = 80
)

// DefaultLimits returns the default archive limits.
func DefaultLimits() Limits {
	return Limits{MaxFiles: DefaultMaxFiles, MaxRecursion: DefaultMaxRecursion, MaxRatio: DefaultMaxRatio, MaxExpanded: DefaultMaxExpanded}
}

// Reason is why a file was flagged.
type Reason string

// Reasons, each with its own symbol (see Symbols).
const (
	ReasonExtension  Reason = "extension"  // blocked file-name extension
	ReasonContent    Reason = "content"    // executable content, whatever the name
	ReasonArchived   Reason = "archived"   // blocked name or content inside an archive
	ReasonBomb       Reason = "bomb"       // archive limits crossed
	ReasonEncrypted  Reason = "encrypted"  // password-protected archive member
	ReasonBadArchive Reason = "badarchive" // archive that cannot be read
)

// Finding is one flagged file.
type Finding struct {
	Reason Reason
	// Name is the attachment's file name, or archive/member for archived
	// files ("docs.zip/setup.exe").
	Name string
	// Detail: the extension, the executable kind, or the limit crossed.
	Detail string
}

func (f Finding) String() string { return string(f.Reason) + ":" + f.Name + ":" + f.Detail }

// inspector walks archives within the limits; one per message.
type inspector struct {
	lim      Limits
	exts     map[string]bool
	kinds    map[Kind]bool
	files    int
	expanded int64
	out      []Finding
	// stop is set by the first limit crossed: the message is refused and
	// nothing more is expanded.
	stop bool
}

func (in *inspector) add(f Finding) {
	in.out = append(in.out, f)
	if f.Reason == ReasonBomb {
		in.stop = true
	}
}

// checkName flags a blocked extension; name is the member or file name.
func (in *inspector) blockedExt(name string) (string, bool) {
	ext := Extension(name)
	return ext, ext != "" && in.exts[ext]
}

// Extension returns the lower-cased last extension of a file name, as
// Windows would see it: trailing dots and spaces are ignored ("a.exe. " is
// an .exe), and directories in the name are dropped.
func Extension(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.TrimRight(name, ". \t")
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// zip inspects a zip archive held in data; label names it in findings and
// depth is its nesting level (1 for a zip attached to the mail).
func (in *inspector) zip(data []byte, label string, depth int) {
	if depth > in.lim.MaxRecursion {
		in.add(Finding{ReasonBomb, label, fmt.Sprintf("nested deeper than %d archives", in.lim.MaxRecursion)})
		return
	}
	// Read the entry count from the end record before parsing: a central
	// directory of millions of entries would cost memory to parse.
	if n, ok := zipEntryCount(data); ok && in.files+n > in.lim.MaxFiles {
		in.add(Finding{ReasonBomb, label, fmt.Sprintf("more than %d files", in.lim.MaxFiles)})
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		in.add(Finding{ReasonBadArchive, label, "unreadable zip"})
		return
	}
	for _, f := range zr.File {
		if in.stop {
			return
		}
		if f.FileInfo().IsDir() {
			continue
		}
		in.files++
		if in.files > in.lim.MaxFiles {
			in.add(Finding{ReasonBomb, label, fmt.Sprintf("more than %d files", in.lim.MaxFiles)})
			return
		}
		name := label + "/" + f.Name
		if ext, bad := in.blockedExt(f.Name); bad {
			in.add(Finding{ReasonArchived, name, "." + ext})
		}
		if f.Flags&0x1 != 0 {
			// Encrypted: the name is readable, the content is not.
			in.add(Finding{ReasonEncrypted, name, "password-protected"})
			continue
		}
		if f.UncompressedSize64 >= MinRatioSize {
			if f.CompressedSize64 == 0 || f.UncompressedSize64/f.CompressedSize64 > uint64(in.lim.MaxRatio) {
				in.add(Finding{ReasonBomb, name, fmt.Sprintf("compression ratio over %d:1 (%d bytes declared)", in.lim.MaxRatio, f.UncompressedSize64)})
				return
			}
		}
		head, err := in.read(f, HeadBytes)
		if err != nil {
			in.add(Finding{ReasonBadArchive, name, "unreadable member"})
			continue
		}
		if k := Detect(head); k != "" && in.kinds[k] {
			in.add(Finding{ReasonArchived, name, string(k)})
		}
		if isZip(head) {
			if depth+1 > in.lim.MaxRecursion {
				in.add(Finding{ReasonBomb, name, fmt.Sprintf("nested deeper than %d archives", in.lim.MaxRecursion)})
				return
			}
			if int64(f.UncompressedSize64) > in.lim.MaxExpanded-in.expanded {
				in.add(Finding{ReasonBomb, name, fmt.Sprintf("expands past %d bytes", in.lim.MaxExpanded)})
				return
			}
			inner, err := in.read(f, int64(f.UncompressedSize64))
			if err != nil {
				in.add(Finding{ReasonBadArchive, name, "unreadable member"})
				continue
			}
			in.zip(inner, name, depth+1)
		}
	}
}

// read decompresses at most max bytes of a member, counting them against
// the budget. archive/zip itself refuses a member that inflates past its
// declared size.
func (in *inspector) read(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if left := in.lim.MaxExpanded - in.expanded; max > left {
		max = left
	}
	if max < 0 {
		max = 0
	}
	data, err := io.ReadAll(io.LimitReader(rc, max))
	in.expanded += int64(len(data))
	if err != nil && len(data) == 0 {
		return nil, err
	}
	return data, nil
}

// zipEntryCount reads the total entry count from the end of central
// directory record (APPNOTE 4.3.16), searching the last 64 KiB + 22 bytes.
// A ZIP64 count (0xFFFF) is reported as 65535: more than any mail needs.
func zipEntryCount(data []byte) (int, bool) {
	const eocdLen = 22
	if len(data) < eocdLen {
		return 0, false
	}
	start := len(data) - (eocdLen + 0xffff)
	if start < 0 {
		start = 0
	}
	i := bytes.LastIndex(data[start:], []byte("PK\x05\x06"))
	if i < 0 || start+i+eocdLen > len(data) {
		return 0, false
	}
	rec := data[start+i:]
	return int(binary.LittleEndian.Uint16(rec[10:12])), true
}
