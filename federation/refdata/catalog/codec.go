package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/ybfed/ybfed/internal/fen"
)

// magic starts every encoded batch: "YBC" and format version 1.
const magic = "YBC\x01"

// ErrNotCanonical reports bytes that decode but are not the canonical
// encoding of what they hold (unsorted codes, long varints, trailing bytes).
var ErrNotCanonical = errors.New("not canonical")

// EncodeChanges returns the canonical encoding of a batch of changes. The
// changes must be sorted by strictly increasing Code (SortChanges); the
// encoding of a given batch is unique, so it can be signed and hashed.
func EncodeChanges(cs []Change) ([]byte, error) {
	size := len(magic) + 10
	for i := range cs {
		size += 24 + len(cs[i].Item.Code) + len(cs[i].Item.Name) + 32*len(cs[i].Item.Attrs)
	}
	return AppendChanges(make([]byte, 0, size), cs)
}

// AppendChanges appends the canonical encoding of cs to dst.
func AppendChanges(dst []byte, cs []Change) ([]byte, error) {
	dst = append(dst, magic...)
	dst = appendUvarint(dst, uint64(len(cs)))
	for i := range cs {
		c := &cs[i]
		if c.Op < OpAdd || c.Op > OpRetire {
			return nil, fmt.Errorf("encode change %d (%q): unknown op %d", i, c.Item.Code, c.Op)
		}
		if i > 0 && cs[i-1].Item.Code >= c.Item.Code {
			return nil, fmt.Errorf("encode change %d: code %q after %q: %w (sort by code, no duplicates)", i, c.Item.Code, cs[i-1].Item.Code, ErrNotCanonical)
		}
		if err := encodable(&c.Item); err != nil {
			return nil, fmt.Errorf("encode change %d (%q): %w", i, c.Item.Code, err)
		}
		dst = append(dst, byte(c.Op))
		dst = AppendItem(dst, &c.Item)
	}
	return dst, nil
}

// DecodeChanges decodes a batch produced by EncodeChanges. It rejects any
// input that is not the canonical encoding of its content.
func DecodeChanges(b []byte) ([]Change, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("decode changes: bad header")
	}
	d := decoder{s: string(b[len(magic):])}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.s))/12 {
		d.fail("count %d exceeds input", n)
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode changes: %w", d.err)
	}
	cs := make([]Change, n)
	for i := range cs {
		op := Op(d.byte())
		if d.err == nil && (op < OpAdd || op > OpRetire) {
			d.fail("unknown op %d", op)
		}
		cs[i].Op = op
		d.item(&cs[i].Item)
		if d.err == nil && i > 0 && cs[i-1].Item.Code >= cs[i].Item.Code {
			d.fail("code %q after %q: %w", cs[i].Item.Code, cs[i-1].Item.Code, ErrNotCanonical)
		}
		if d.err != nil {
			return nil, fmt.Errorf("decode changes: change %d: %w", i, d.err)
		}
	}
	if len(d.s) != 0 {
		return nil, fmt.Errorf("decode changes: %d trailing bytes: %w", len(d.s), ErrNotCanonical)
	}
	return cs, nil
}

// AppendItem appends the canonical encoding of one item to dst (attributes
// in key order).
func AppendItem(dst []byte, it *Item) []byte {
	dst = appendString(dst, it.Code)
	dst = appendString(dst, it.Name)
	dst = append(dst, byte(it.Class))
	dst = appendVarint(dst, int64(it.SelfPayRatio))
	dst = appendVarint(dst, int64(it.PriceCap))
	dst = append(dst, byte(it.Gender))
	dst = appendVarint(dst, int64(it.MinAge))
	dst = appendVarint(dst, int64(it.MaxAge))
	dst = appendVarint(dst, int64(it.MinHospitalLevel))
	dst = appendVarint(dst, int64(it.ValidFrom))
	dst = appendVarint(dst, int64(it.ValidTo))
	dst = appendUvarint(dst, uint64(len(it.Attrs)))
	if len(it.Attrs) > 0 {
		// Collect the pairs on the stack and insertion-sort them: attribute
		// maps are small, and this avoids a lookup per key.
		var buf [MaxAttrs][2]string
		kv := buf[:0]
		for k, v := range it.Attrs {
			kv = append(kv, [2]string{k, v})
			for j := len(kv) - 1; j > 0 && kv[j][0] < kv[j-1][0]; j-- {
				kv[j], kv[j-1] = kv[j-1], kv[j]
			}
		}
		for _, p := range kv {
			dst = appendString(dst, p[0])
			dst = appendString(dst, p[1])
		}
	}
	return dst
}

// DecodeItem decodes one item encoded by AppendItem, which must fill b.
func DecodeItem(b []byte) (Item, error) {
	var it Item
	d := decoder{s: string(b)}
	d.item(&it)
	if d.err == nil && len(d.s) != 0 {
		d.fail("%d trailing bytes: %w", len(d.s), ErrNotCanonical)
	}
	if d.err != nil {
		return Item{}, fmt.Errorf("decode item: %w", d.err)
	}
	return it, nil
}

// Chunk splits a sorted batch into consecutive sub-batches whose canonical
// encodings are each at most maxBytes long. The chunks share cs's memory.
func Chunk(cs []Change, maxBytes int) ([][]Change, error) {
	var (
		out   [][]Change
		start int
		sum   int // encoded bytes of cs[start:i]
		buf   []byte
	)
	size := func(count, body int) int { return len(magic) + uvarintLen(uint64(count)) + body }
	for i := range cs {
		buf = append(buf[:0], byte(cs[i].Op))
		buf = AppendItem(buf, &cs[i].Item)
		n := len(buf)
		if size(1, n) > maxBytes {
			return nil, fmt.Errorf("chunk: change %d (%q) encodes to %d bytes, more than the %d-byte limit", i, cs[i].Item.Code, size(1, n), maxBytes)
		}
		if size(i-start+1, sum+n) > maxBytes {
			out = append(out, cs[start:i:i])
			start, sum = i, 0
		}
		sum += n
	}
	if start < len(cs) {
		out = append(out, cs[start:len(cs):len(cs)])
	}
	return out, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// SortChanges sorts cs by code, the order EncodeChanges requires.
func SortChanges(cs []Change) {
	slices.SortFunc(cs, func(a, b Change) int { return cmp.Compare(a.Item.Code, b.Item.Code) })
}

// SortItems sorts items by code.
func SortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.Code, b.Code) })
}

// encodable checks the limits the decoder enforces.
func encodable(it *Item) error {
	if len(it.Attrs) > MaxAttrs {
		return fmt.Errorf("%d attributes, more than %d", len(it.Attrs), MaxAttrs)
	}
	for _, v := range [...]int64{int64(it.MinAge), int64(it.MaxAge), int64(it.MinHospitalLevel)} {
		if v < -1<<31 || v > 1<<31-1 {
			return fmt.Errorf("value %d out of range", v)
		}
	}
	return nil
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendVarint(dst []byte, v int64) []byte {
	return appendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

func appendString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads from s, remembering the first error.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.s) == 0 {
		d.fail("unexpected end of input")
		return 0
	}
	c := d.s[0]
	d.s = d.s[1:]
	return c
}

// uvarint reads a minimal-length unsigned varint.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < 10; i++ {
		if i >= len(d.s) {
			d.fail("unexpected end of input in varint")
			return 0
		}
		c := d.s[i]
		if i == 9 && c > 1 {
			d.fail("varint overflows 64 bits")
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				d.fail("over-long varint: %w", ErrNotCanonical)
				return 0
			}
			d.s = d.s[i+1:]
			return v
		}
	}
	d.fail("varint too long")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// int reads a zigzag varint that must fit an int32 (ages, levels, dates).
func (d *decoder) int() int64 {
	v := d.varint()
	if v < -1<<31 || v > 1<<31-1 {
		d.fail("value %d out of range", v)
		return 0
	}
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.fail("string of %d bytes exceeds input", n)
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *decoder) item(it *Item) {
	it.Code = d.str()
	it.Name = d.str()
	it.Class = Class(d.byte())
	it.SelfPayRatio = fen.Ratio(d.varint())
	it.PriceCap = fen.Fen(d.varint())
	it.Gender = Gender(d.byte())
	it.MinAge = int(d.int())
	it.MaxAge = int(d.int())
	it.MinHospitalLevel = int(d.int())
	it.ValidFrom = Date(d.int())
	it.ValidTo = Date(d.int())
	n := d.uvarint()
	if d.err != nil {
		return
	}
	if n > MaxAttrs {
		d.fail("%d attributes, more than %d", n, MaxAttrs)
		return
	}
	if n == 0 {
		return
	}
	it.Attrs = make(map[string]string, n)
	prev := ""
	for i := uint64(0); i < n; i++ {
		k := d.str()
		v := d.str()
		if d.err != nil {
			return
		}
		if i > 0 && k <= prev {
			d.fail("attribute %q after %q: %w", k, prev, ErrNotCanonical)
			return
		}
		it.Attrs[k] = v
		prev = k
	}
}

func appendSortedKeys(dst []string, m map[string]string) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	return appendSortedKeys(make([]string, 0, len(m)), m)
}
