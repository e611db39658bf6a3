package refdata

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// EntryFormat names an encoding of the raft log entries that carry signed
// batches. Every format starts with a 4-byte header "YB" + kind + version.
// A node reads every format up to the one its build knows and advertises
// that one in its gossip metadata; the leader writes the newest format
// every member of the raft configuration advertises, so a federation
// keeps replicating while its nodes are upgraded one at a time.
type EntryFormat uint8

const (
	// FormatPlain is the encoded batch itself (header "YBR\x01"); every
	// release reads it. A member that advertises nothing gets it.
	FormatPlain EntryFormat = 1
	// FormatDeflate is the encoded batch DEFLATE-compressed behind the
	// header "YBZ\x01".
	FormatDeflate EntryFormat = 2
	// LatestFormat is the newest format this build reads and writes.
	LatestFormat = FormatDeflate
)

// String names the format for logs and errors.
func (f EntryFormat) String() string {
	switch f {
	case FormatPlain:
		return "1 (plain)"
	case FormatDeflate:
		return "2 (deflate)"
	}
	return fmt.Sprintf("%d (unknown)", uint8(f))
}

// compressedMagic starts a raft log entry holding a DEFLATE-compressed
// signed batch. The leader compresses each entry once before appending it,
// so followers receive, log and decrypt a fraction of the bytes (catalogue
// text is highly repetitive); every node expands it before verifying. The
// signature covers the batch, not its compressed form.
const compressedMagic = "YBZ\x01"

// headerLen is the length of every format's header.
const headerLen = 4

// maxExpanded bounds an expanded entry (a signed part is 512 KiB by
// default).
const maxExpanded = 256 << 20

// UnsupportedFormatError reports a log entry in a format this node does
// not read: it was written by a newer leader. The node must not apply it
// (nor record it as a rejection, which the nodes that read it would not
// do): its state machine stops until it is upgraded, then replays.
type UnsupportedFormatError struct {
	Index  uint64
	Header string // the entry's first bytes, quoted
	Format EntryFormat
	Reads  EntryFormat // newest format this node reads
}

func (e *UnsupportedFormatError) Error() string {
	what := "an unknown entry format (header " + e.Header + ")"
	if e.Format != 0 {
		what = "entry format " + e.Format.String()
	}
	return fmt.Sprintf("raft entry %d is in %s; this node reads entry formats up to %s: upgrade it to the leader's release",
		e.Index, what, e.Reads)
}

// formatOf returns the format of a log entry by its header: 0 and ok
// false for a header that is no entry format at all (malformed input,
// rejected like any other bad batch); 0 and ok true for a "YB" header this
// build does not know (a future format).
func formatOf(d []byte) (f EntryFormat, ok bool) {
	if len(d) < headerLen || d[0] != 'Y' || d[1] != 'B' {
		return 0, false
	}
	switch string(d[:headerLen]) {
	case batchMagic:
		return FormatPlain, true
	case compressedMagic:
		return FormatDeflate, true
	}
	return 0, true
}

// checkFormat returns *UnsupportedFormatError when entry idx is in a
// format newer than reads or unknown to this build.
func checkFormat(idx uint64, d []byte, reads EntryFormat) error {
	f, ok := formatOf(d)
	if !ok || (f != 0 && f <= reads) {
		return nil
	}
	return &UnsupportedFormatError{Index: idx, Header: fmt.Sprintf("%q", d[:headerLen]), Format: f, Reads: reads}
}

// encodeEntry returns the log form of an encoded batch in format f.
func encodeEntry(d []byte, f EntryFormat) ([]byte, error) {
	switch f {
	case FormatPlain:
		return d, nil
	case FormatDeflate:
		return compressEntry(d)
	}
	return nil, fmt.Errorf("refdata: cannot write entry format %s", f)
}

// compressEntry returns the compressed log form of an encoded batch.
func compressEntry(d []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(d)/3 + len(compressedMagic))
	buf.WriteString(compressedMagic)
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("refdata compress: %w", err)
	}
	if _, err := w.Write(d); err != nil {
		return nil, fmt.Errorf("refdata compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("refdata compress: %w", err)
	}
	return buf.Bytes(), nil
}

// expandEntry returns the encoded batch of a log entry: the entry itself
// when it is not compressed.
func expandEntry(d []byte) ([]byte, error) {
	if !bytes.HasPrefix(d, []byte(compressedMagic)) {
		return d, nil
	}
	r := flate.NewReader(bytes.NewReader(d[len(compressedMagic):]))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxExpanded+1))
	if err != nil {
		return nil, fmt.Errorf("compressed entry: %w", err)
	}
	if len(out) > maxExpanded {
		return nil, errors.New("compressed entry: expands beyond the limit")
	}
	return out, nil
}
