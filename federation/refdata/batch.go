package refdata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// RevocationNamespace holds revoked signer certificates: each item's Code is
// a certificate serial (lowercase hex) and its Name the reason. Only the
// national signer may publish it, and only additions.
const RevocationNamespace = "revocation"

// DefaultChunkBytes is the largest encoded change list of one log entry
// that Sign produces unless told otherwise.
const DefaultChunkBytes = 512 << 10

// MaxParts bounds the number of parts of one version.
const MaxParts = 1 << 16

// batchMagic starts every encoded batch: "YBR" and format version 1.
const batchMagic = "YBR\x01"

// Batch is one signed log entry: part Part (0-based) of Parts of version
// Version of Namespace. All parts of a version carry the same
// EffectiveFrom and become visible together when the last is applied.
type Batch struct {
	Namespace     string
	Version       uint64
	Part, Parts   uint32
	EffectiveFrom catalog.Date
	SignedAt      int64 // unix seconds; certificate validity is checked at this time
	Changes       []catalog.Change
	SignerCert    []byte // DER of the signer's SM2 signing certificate
	Sig           []byte // SM2 signature over SignedBytes

	changes []byte // canonical encoding of Changes, cached
}

// Signer signs batches with an SM2 key certified by the federation CA.
type Signer struct {
	Key  *sm.PrivateKey
	Cert *ca.Certificate
	// Now is the clock of SignedAt; nil means time.Now.
	Now func() time.Time
}

// Sign splits changes (sorted by code, see catalog.SortChanges) into parts
// whose encodings are at most maxBytes (0 means DefaultChunkBytes) and
// signs each part as one Batch of namespace ns, version v.
func (s *Signer) Sign(ns string, v uint64, effective catalog.Date, changes []catalog.Change, maxBytes int) ([]*Batch, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultChunkBytes
	}
	chunks, err := catalog.Chunk(changes, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("sign %s v%d: %w", ns, v, err)
	}
	if len(chunks) == 0 {
		chunks = [][]catalog.Change{nil}
	}
	if len(chunks) > MaxParts {
		return nil, fmt.Errorf("sign %s v%d: %d parts, more than %d", ns, v, len(chunks), MaxParts)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now().Unix()
	out := make([]*Batch, len(chunks))
	for i, ch := range chunks {
		b := &Batch{
			Namespace: ns, Version: v, Part: uint32(i), Parts: uint32(len(chunks)),
			EffectiveFrom: effective, SignedAt: at, Changes: ch, SignerCert: s.Cert.Raw,
		}
		msg, err := b.SignedBytes()
		if err != nil {
			return nil, fmt.Errorf("sign %s v%d part %d: %w", ns, v, i, err)
		}
		if b.Sig, err = sm.Sign(s.Key, msg); err != nil {
			return nil, fmt.Errorf("sign %s v%d part %d: %w", ns, v, i, err)
		}
		out[i] = b
	}
	return out, nil
}

func (b *Batch) encodedChanges() ([]byte, error) {
	if b.changes == nil {
		c, err := catalog.EncodeChanges(b.Changes)
		if err != nil {
			return nil, err
		}
		b.changes = c
	}
	return b.changes, nil
}

// SignedBytes returns the bytes the signature covers: every field but Sig,
// including the signer certificate.
func (b *Batch) SignedBytes() ([]byte, error) {
	ch, err := b.encodedChanges()
	if err != nil {
		return nil, err
	}
	dst := make([]byte, 0, 64+len(b.Namespace)+len(ch)+len(b.SignerCert))
	dst = append(dst, batchMagic...)
	dst = appendBytes(dst, []byte(b.Namespace))
	dst = binary.AppendUvarint(dst, b.Version)
	dst = binary.AppendUvarint(dst, uint64(b.Part))
	dst = binary.AppendUvarint(dst, uint64(b.Parts))
	dst = binary.AppendVarint(dst, int64(b.EffectiveFrom))
	dst = binary.AppendVarint(dst, b.SignedAt)
	dst = appendBytes(dst, ch)
	dst = appendBytes(dst, b.SignerCert)
	return dst, nil
}

// Encode returns the log entry: SignedBytes followed by the signature.
func (b *Batch) Encode() ([]byte, error) {
	msg, err := b.SignedBytes()
	if err != nil {
		return nil, fmt.Errorf("encode batch %s v%d part %d: %w", b.Namespace, b.Version, b.Part, err)
	}
	return appendBytes(msg, b.Sig), nil
}

// ErrMalformed reports bytes that are not an encoded Batch.
var ErrMalformed = errors.New("malformed batch")

// DecodeBatch decodes an entry produced by Encode. It checks the form only,
// not the signature.
func DecodeBatch(p []byte) (*Batch, error) {
	if len(p) < len(batchMagic) || string(p[:len(batchMagic)]) != batchMagic {
		return nil, fmt.Errorf("%w: bad header", ErrMalformed)
	}
	r := reader{p: p[len(batchMagic):]}
	b := &Batch{}
	b.Namespace = string(r.bytes())
	b.Version = r.uvarint()
	part, parts := r.uvarint(), r.uvarint()
	b.EffectiveFrom = catalog.Date(r.varint())
	b.SignedAt = r.varint()
	ch := r.bytes()
	b.SignerCert = r.bytes()
	b.Sig = r.bytes()
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, r.err)
	}
	if len(r.p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.p))
	}
	if parts == 0 || parts > MaxParts || part >= parts {
		return nil, fmt.Errorf("%w: part %d of %d", ErrMalformed, part, parts)
	}
	b.Part, b.Parts = uint32(part), uint32(parts)
	if len(b.Namespace) == 0 || len(b.Namespace) > 64 || strings.ContainsAny(b.Namespace, " \t\r\n") {
		return nil, fmt.Errorf("%w: namespace %q", ErrMalformed, b.Namespace)
	}
	cs, err := catalog.DecodeChanges(ch)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	b.Changes = cs
	b.changes = append([]byte(nil), ch...)
	return b, nil
}

// Hash returns the SM3 digest of the signed part of the batch (the
// signature excluded, so re-signing identical content gives the same hash).
func (b *Batch) Hash() ([sm.HashSize]byte, error) {
	ch, err := b.encodedChanges()
	if err != nil {
		return [sm.HashSize]byte{}, err
	}
	// SignedAt and the certificate are part of what was signed but not of
	// the content; hash the content so a re-signed retry is recognised.
	h := sm.NewHash()
	h.Write(appendBytes(nil, []byte(b.Namespace)))
	h.Write(binary.AppendUvarint(nil, b.Version))
	h.Write(binary.AppendUvarint(nil, uint64(b.Part)))
	h.Write(binary.AppendUvarint(nil, uint64(b.Parts)))
	h.Write(binary.AppendVarint(nil, int64(b.EffectiveFrom)))
	h.Write(ch)
	var out [sm.HashSize]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// reader decodes varints and length-prefixed byte strings, remembering the
// first error.
type reader struct {
	p   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.p)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.p = r.p[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.p)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.p = r.p[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.p)) {
		r.err = fmt.Errorf("field of %d bytes exceeds input", n)
		return nil
	}
	b := r.p[:n:n]
	r.p = r.p[n:]
	return b
}
