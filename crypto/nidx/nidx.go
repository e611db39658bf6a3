// Package nidx holds the federation-wide key of the national person index
// (全国参保人员索引): every province computes a person's national index id
// as the blind index (HMAC-SM3, crypto/pii) of the certificate number under
// this key, so the same person has the same id in every province while the
// national node only ever sees the ids.
//
// The national center generates the keyring when its CA is created
// (`ybnode ca init`) or on its first start, and keeps it in the CA
// directory sealed (SM2) to the root key (ca.CA.Secret). A province
// receives it during join-token enrolment over GM TLS, SM2-encrypted to
// its encryption certificate, and stores it sealed to the same
// certificate's key (mode 0600). Keys are versioned ("nidx1", "nidx2",
// ...): the current key indexes, older keys stay for re-indexing. The key
// bytes never appear in String, GoString or a slog value.
package nidx

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/crypto/sm"
)

// File is the keyring's file name: in the CA directory on the national
// node, in the node's TLS directory on a province node.
const File = "nidx-keys.sealed"

// KeySize is the size of each index key in bytes.
const KeySize = 32

// ErrNoKey is returned for a key id the keyring does not hold.
var ErrNoKey = errors.New("nidx: key id not in keyring")

// Keyring is the versioned federation index key.
type Keyring struct {
	current string
	keys    map[string][]byte
}

type wire struct {
	Current string            `json:"current"`
	Keys    map[string]string `json:"keys"`
}

// Generate returns a new keyring holding one random key, "nidx1".
func Generate() (*Keyring, error) {
	k, err := sm.RandomKey(KeySize)
	if err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	return &Keyring{current: "nidx1", keys: map[string][]byte{"nidx1": k}}, nil
}

// Rotate returns a copy of k with a new random key, one version above the
// highest held, as the current key; the old keys stay for re-indexing.
func (k *Keyring) Rotate() (*Keyring, error) {
	next := 0
	for id := range k.keys {
		if n, err := strconv.Atoi(strings.TrimPrefix(id, "nidx")); err == nil && n > next {
			next = n
		}
	}
	key, err := sm.RandomKey(KeySize)
	if err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	id := "nidx" + strconv.Itoa(next+1)
	out := &Keyring{current: id, keys: map[string][]byte{id: key}}
	for i, v := range k.keys {
		out.keys[i] = v
	}
	return out, nil
}

// Current returns the id of the key new index ids are made with.
func (k *Keyring) Current() string { return k.current }

// IDs returns the ids of every key held, sorted.
func (k *Keyring) IDs() []string {
	out := make([]string, 0, len(k.keys))
	for id := range k.keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// BlindIndex returns the national index token of value in field under the
// current key.
func (k *Keyring) BlindIndex(field, value string) string {
	return pii.BlindIndexWith(k.keys[k.current], field, value)
}

// BlindIndexUnder is BlindIndex under key id (re-indexing after rotation).
func (k *Keyring) BlindIndexUnder(id, field, value string) (string, error) {
	key, ok := k.keys[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoKey, id)
	}
	return pii.BlindIndexWith(key, field, value), nil
}

// Marshal returns the keyring's wire form (secret: send it only
// encrypted).
func (k *Keyring) Marshal() []byte {
	w := wire{Current: k.current, Keys: map[string]string{}}
	for id, v := range k.keys {
		w.Keys[id] = hex.EncodeToString(v)
	}
	b, _ := json.Marshal(w)
	return b
}

// Parse reads a keyring made by Marshal.
func Parse(b []byte) (*Keyring, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, errors.New("nidx: keyring is not valid JSON")
	}
	k := &Keyring{current: w.Current, keys: map[string][]byte{}}
	for id, h := range w.Keys {
		if !validID(id) {
			return nil, fmt.Errorf("nidx: bad key id %q", id)
		}
		v, err := hex.DecodeString(h)
		if err != nil || len(v) != KeySize {
			return nil, fmt.Errorf("nidx: key %s: want %d hex bytes", id, KeySize)
		}
		k.keys[id] = v
	}
	if _, ok := k.keys[k.current]; !ok {
		return nil, fmt.Errorf("nidx: current key %q not in keyring", k.current)
	}
	return k, nil
}

func validID(id string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "nidx"))
	return strings.HasPrefix(id, "nidx") && err == nil && n > 0 && "nidx"+strconv.Itoa(n) == id
}

// String names the keyring without its keys.
func (k *Keyring) String() string {
	return fmt.Sprintf("nidx keyring (current %s, %d keys)", k.current, len(k.keys))
}

// GoString is String, so %#v does not print the keys either.
func (k *Keyring) GoString() string { return k.String() }

// LogValue logs the keyring as its key ids only.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.String("current", k.current), slog.Int("keys", len(k.keys)))
}

// FromCA returns the federation keyring the CA keeps, generating it on
// first use.
func FromCA(c *ca.CA) (*Keyring, error) {
	b, err := c.Secret(File, func() ([]byte, error) {
		k, err := Generate()
		if err != nil {
			return nil, err
		}
		return k.Marshal(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	return Parse(b)
}

// RotateCA adds a new current key to the keyring the CA keeps and returns
// the new keyring.
func RotateCA(c *ca.CA) (*Keyring, error) {
	k, err := FromCA(c)
	if err != nil {
		return nil, err
	}
	if k, err = k.Rotate(); err != nil {
		return nil, err
	}
	if err := c.PutSecret(File, k.Marshal()); err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	return k, nil
}

// Save stores the keyring in dir, SM2-encrypted to pub (the node's
// encryption certificate), mode 0600.
func Save(dir string, k *Keyring, pub *sm.PublicKey) error {
	ct, err := sm.Encrypt(pub, k.Marshal())
	if err != nil {
		return fmt.Errorf("nidx: save: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("nidx: save: %w", err)
	}
	path := filepath.Join(dir, File)
	if err := os.WriteFile(path+".tmp", ct, 0o600); err != nil {
		return fmt.Errorf("nidx: save: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("nidx: save: %w", err)
	}
	return nil
}

// Load reads the keyring Save stored in dir with the matching private key;
// it returns (nil, nil) when dir holds none.
func Load(dir string, priv *sm.PrivateKey) (*Keyring, error) {
	ct, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nidx: load: %w", err)
	}
	k, err := Open(ct, priv)
	if err != nil {
		return nil, fmt.Errorf("nidx: load %s: %w", File, err)
	}
	return k, nil
}

// SealFor returns k's wire form SM2-encrypted to the encryption
// certificate encPEM, after checking that root issued it to the node of
// admdvs for encryption, that it is valid at now and not revoked (rev may
// be nil): a rotated keyring reaches only the provinces' own keys.
func SealFor(k *Keyring, root *ca.Certificate, encPEM []byte, admdvs string, now time.Time, rev ca.Revocations) ([]byte, error) {
	leaf, err := ca.ParseCertPEM(encPEM)
	if err != nil {
		return nil, fmt.Errorf("nidx: encryption certificate: %w", err)
	}
	rootKey, err := ca.RootKey(root)
	if err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	id, err := ca.VerifyLeaf(root, rootKey, leaf, now, rev)
	if err != nil {
		return nil, fmt.Errorf("nidx: encryption certificate: %w", err)
	}
	if id.Admdvs != admdvs || id.Usage != ca.UsageEnc || id.Role != ca.RoleProvince {
		return nil, fmt.Errorf("nidx: certificate of %s (%s, %s) is not the encryption certificate of province %s", id.Admdvs, id.Role, id.Usage, admdvs)
	}
	pub, err := sm.PublicKeyFromTjfoc(leaf.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("nidx: %w", err)
	}
	ct, err := sm.Encrypt(pub, k.Marshal())
	if err != nil {
		return nil, fmt.Errorf("nidx: seal: %w", err)
	}
	return ct, nil
}

// Open reads a keyring SealFor sealed, with the matching private key.
func Open(sealed []byte, priv *sm.PrivateKey) (*Keyring, error) {
	pt, err := sm.Decrypt(priv, sealed)
	if err != nil {
		return nil, fmt.Errorf("nidx: open: %w", err)
	}
	return Parse(pt)
}
