package pii

import (
	"context"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/ybfed/ybfed/crypto/sm"
)

// Errors.
var (
	ErrUnknownKey = errors.New("pii: ciphertext key id not in keyring")
	ErrFormat     = errors.New("pii: malformed ciphertext")
	ErrDecrypt    = errors.New("pii: ciphertext does not authenticate")
)

// Keyring holds the field encryption keys by id, the current key id and
// the blind index key.
type Keyring struct {
	current  string
	aeads    map[string]cipher.AEAD
	indexKey []byte
}

// NewKeyring builds a keyring. keys maps key id to a 16-byte SM4 key;
// current must be one of them; indexKey (at least 16 bytes) keys the blind
// index. Key ids are 1-32 characters of [A-Za-z0-9_-].
func NewKeyring(current string, keys map[string][]byte, indexKey []byte) (*Keyring, error) {
	if len(indexKey) < 16 {
		return nil, errors.New("pii: index key shorter than 16 bytes")
	}
	k := &Keyring{current: current, aeads: map[string]cipher.AEAD{}, indexKey: append([]byte(nil), indexKey...)}
	for id, key := range keys {
		if !validID(id) {
			return nil, fmt.Errorf("pii: bad key id %q", id)
		}
		a, err := sm.NewAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("pii: key %s: %w", id, err)
		}
		k.aeads[id] = a
	}
	if _, ok := k.aeads[current]; !ok {
		return nil, fmt.Errorf("pii: current key %q not in keys", current)
	}
	return k, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Current returns the id of the key new values are encrypted with.
func (k *Keyring) Current() string { return k.current }

// Encrypt encrypts value for column field with the current key.
func (k *Keyring) Encrypt(field, value string) (string, error) {
	sealed, err := sm.Seal(k.aeads[k.current], []byte(value), []byte(field))
	if err != nil {
		return "", fmt.Errorf("pii encrypt %s: %w", field, err)
	}
	return k.current + "$" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decrypt reverses Encrypt with whichever key the ciphertext names.
func (k *Keyring) Decrypt(field, ct string) (string, error) {
	id, body, ok := strings.Cut(ct, "$")
	if !ok || !validID(id) {
		return "", ErrFormat
	}
	a, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", ErrFormat
	}
	pt, err := sm.Open(a, sealed, []byte(field))
	if err != nil {
		return "", fmt.Errorf("%w (field %s, key %s)", ErrDecrypt, field, id)
	}
	return string(pt), nil
}

// KeyID returns the key id a ciphertext was made with.
func KeyID(ct string) (string, error) {
	id, _, ok := strings.Cut(ct, "$")
	if !ok || !validID(id) {
		return "", ErrFormat
	}
	return id, nil
}

// Reencrypt returns ct under the current key; changed is false (and ct is
// returned as is) when it already uses the current key.
func (k *Keyring) Reencrypt(field, ct string) (out string, changed bool, err error) {
	id, err := KeyID(ct)
	if err != nil {
		return "", false, err
	}
	if id == k.current {
		return ct, false, nil
	}
	pt, err := k.Decrypt(field, ct)
	if err != nil {
		return "", false, err
	}
	out, err = k.Encrypt(field, pt)
	return out, err == nil, err
}

// ReencryptAll is the rotation job: for every (row id, ciphertext) in rows
// not under the current key it calls update with the new ciphertext. It
// stops at the first error or when ctx ends and returns how many rows it
// updated.
func (k *Keyring) ReencryptAll(ctx context.Context, field string, rows iter.Seq2[string, string], update func(ctx context.Context, id, ct string) error) (int, error) {
	n := 0
	for id, ct := range rows {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		out, changed, err := k.Reencrypt(field, ct)
		if err != nil {
			return n, fmt.Errorf("reencrypt %s row %s: %w", field, id, err)
		}
		if !changed {
			continue
		}
		if err := update(ctx, id, out); err != nil {
			return n, fmt.Errorf("reencrypt %s row %s: %w", field, id, err)
		}
		n++
	}
	return n, nil
}

// Normalize is the form values take before blind indexing: surrounding
// space removed, letters upper-cased (the check letter X of identity card
// numbers), inner spaces and hyphens removed (phone numbers).
func Normalize(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	return strings.NewReplacer(" ", "", "-", "").Replace(v)
}

// BlindIndex returns the equality-search token of value in column field.
func (k *Keyring) BlindIndex(field, value string) string {
	return BlindIndexWith(k.indexKey, field, value)
}

// BlindIndexWith is BlindIndex under an index key held elsewhere (the
// federation's person-index key, crypto/nidx).
func BlindIndexWith(indexKey []byte, field, value string) string {
	m := sm.NewHMAC(indexKey)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(Normalize(value)))
	return hex.EncodeToString(m.Sum(nil))
}
