package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
)

// Record is one audit entry.
type Record struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
	Prev   string    `json:"prev"` // hex SM3 of the previous record
	Hash   string    `json:"hash"` // hex SM3(prev || content)
}

// Store persists records; the node implements it on its own table.
type Store interface {
	// Append stores r; records arrive in seq order.
	Append(ctx context.Context, r Record) error
	// Last returns the record with the highest seq, ok false when empty.
	Last(ctx context.Context) (r Record, ok bool, err error)
	// All returns every record in seq order.
	All(ctx context.Context) ([]Record, error)
}

// Genesis is the previous hash of the first record.
var Genesis = hex.EncodeToString(make([]byte, sm.HashSize))

// Content is the canonical encoding of the hashed fields of r.
func Content(r Record) []byte {
	var b bytes.Buffer
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(r.Seq))
	b.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.Time.UnixMicro()))
	b.Write(n[:])
	for _, s := range []string{r.Actor, r.Action, r.Detail} {
		binary.BigEndian.PutUint32(n[:4], uint32(len(s)))
		b.Write(n[:4])
		b.WriteString(s)
	}
	return b.Bytes()
}

// ComputeHash returns hex SM3(prev || Content(r)); prev is hex.
func ComputeHash(prev string, r Record) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sm.HashSize {
		return "", fmt.Errorf("audit: previous hash %q is not hex SM3", prev)
	}
	h := sm.NewHash()
	h.Write(p)
	h.Write(Content(r))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Chain appends linked records to a Store. It is safe for concurrent use
// within one process; the node serialises appends across processes.
type Chain struct {
	mu    sync.Mutex
	store Store
	now   func() time.Time
	last  Record
	empty bool
}

// NewChain opens the chain kept in store. now may be nil (time.Now).
func NewChain(ctx context.Context, store Store, now func() time.Time) (*Chain, error) {
	if now == nil {
		now = time.Now
	}
	last, ok, err := store.Last(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: open chain: %w", err)
	}
	return &Chain{store: store, now: now, last: last, empty: !ok}, nil
}

// Append adds a record for actor doing action with detail (never secrets
// or PII in clear: pass ids or blind indexes).
func (c *Chain) Append(ctx context.Context, actor, action, detail string) (Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Record{Seq: 1, Time: c.now().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Detail: detail, Prev: Genesis}
	if !c.empty {
		r.Seq = c.last.Seq + 1
		r.Prev = c.last.Hash
	}
	h, err := ComputeHash(r.Prev, r)
	if err != nil {
		return Record{}, err
	}
	r.Hash = h
	if err := c.store.Append(ctx, r); err != nil {
		return Record{}, fmt.Errorf("audit: append seq %d: %w", r.Seq, err)
	}
	c.last, c.empty = r, false
	return r, nil
}

// Head returns the seq and hash of the last record (0, Genesis if empty).
func (c *Chain) Head() (int64, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.empty {
		return 0, Genesis
	}
	return c.last.Seq, c.last.Hash
}

// Kinds of breakage reported by Verify.
var (
	ErrEdited    = errors.New("audit record edited")
	ErrDeleted   = errors.New("audit record deleted")
	ErrReordered = errors.New("audit records reordered or duplicated")
)

// BrokenError names the first record where the chain breaks.
type BrokenError struct {
	Seq    int64 // seq of the first edited, deleted or misplaced record
	Kind   error // ErrEdited, ErrDeleted or ErrReordered
	Detail string
}

// Error describes the break.
func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d: %v: %s", e.Seq, e.Kind, e.Detail)
}

// Unwrap returns the kind, for errors.Is.
func (e *BrokenError) Unwrap() error { return e.Kind }

// Verify checks records given in storage order, expected to be seq 1..n.
func Verify(records []Record) error {
	present := make(map[int64]bool, len(records))
	for _, r := range records {
		present[r.Seq] = true
	}
	prev := Genesis
	for i, r := range records {
		want := int64(i) + 1
		switch {
		case r.Seq > want && present[want]:
			return &BrokenError{Seq: want, Kind: ErrReordered, Detail: fmt.Sprintf("found seq %d where %d belongs; %d comes later", r.Seq, want, want)}
		case r.Seq > want:
			return &BrokenError{Seq: want, Kind: ErrDeleted, Detail: fmt.Sprintf("found seq %d where %d belongs", r.Seq, want)}
		case r.Seq < want:
			return &BrokenError{Seq: r.Seq, Kind: ErrReordered, Detail: fmt.Sprintf("seq %d found at position %d", r.Seq, want)}
		}
		h, err := ComputeHash(r.Prev, r)
		if err != nil || h != r.Hash {
			return &BrokenError{Seq: r.Seq, Kind: ErrEdited, Detail: "content does not match its hash"}
		}
		if r.Prev != prev {
			// r is intact but its predecessor changed (and was re-hashed).
			return &BrokenError{Seq: r.Seq - 1, Kind: ErrEdited, Detail: fmt.Sprintf("hash no longer matches the link recorded by seq %d", r.Seq)}
		}
		prev = r.Hash
	}
	return nil
}

// VerifyHead runs Verify and also checks that the chain reaches a head
// recorded elsewhere, catching deletion of the newest records.
func VerifyHead(records []Record, headSeq int64, headHash string) error {
	if err := Verify(records); err != nil {
		return err
	}
	if int64(len(records)) < headSeq {
		return &BrokenError{Seq: int64(len(records)) + 1, Kind: ErrDeleted, Detail: fmt.Sprintf("chain ends at %d, head is %d", len(records), headSeq)}
	}
	if headSeq > 0 && records[headSeq-1].Hash != headHash {
		return &BrokenError{Seq: headSeq, Kind: ErrEdited, Detail: "hash differs from the recorded head"}
	}
	return nil
}
