package refdata

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// compressedMagic starts a raft log entry holding a DEFLATE-compressed
// signed batch. The leader compresses each entry once before appending it,
// so followers receive, log and decrypt a fraction of the bytes (catalogue
// text is highly repetitive); every node expands it before verifying. The
// signature covers the batch, not its compressed form.
const compressedMagic = "YBZ\x01"

// maxExpanded bounds an expanded entry (a signed part is 512 KiB by
// default).
const maxExpanded = 256 << 20

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
