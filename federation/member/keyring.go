package member

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ybfed/ybfed/crypto/sm"
)

// KeyringFile is the keyring's file name inside the data directory.
const KeyringFile = "gossip-keyring.json"

// Keyring errors.
var (
	ErrKeySize       = fmt.Errorf("gossip key must be %d bytes", sm.KeySize)
	ErrKeyUnknown    = errors.New("gossip key is not installed")
	ErrRemovePrimary = errors.New("the primary gossip key cannot be removed")
	ErrNoKeyring     = errors.New("no gossip keyring")
)

// KeyID names a key on the wire: the first 4 bytes of SM3 over a label and
// the key. It lets a receiver pick the key without trial decryption.
type KeyID [4]byte

// String returns the id in hex.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

func keyID(key []byte) KeyID {
	h := sm.Hash(append([]byte("ybfed gossip key id\x00"), key...))
	var id KeyID
	copy(id[:], h[:4])
	return id
}

type ringKey struct {
	id   KeyID
	key  []byte
	aead cipher.AEAD
}

// Keyring holds the federation gossip keys: the primary seals outgoing
// packets, every installed key opens incoming ones, so a key can be
// installed everywhere, made primary and the old one removed with no
// moment where two nodes cannot read each other.
type Keyring struct {
	mu      sync.RWMutex
	keys    []ringKey // keys[0] is the primary
	path    string    // persisted here when not empty
	version uint64    // bumped on every change
}

// NewKeyring returns a keyring whose primary is primary; others are
// accepted for decryption.
func NewKeyring(primary []byte, others ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	if err := k.add(primary, true); err != nil {
		return nil, err
	}
	for _, o := range others {
		if err := k.add(o, false); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// GenerateKey returns a fresh random gossip key.
func GenerateKey() ([]byte, error) { return sm.RandomKey(sm.KeySize) }

func (k *Keyring) add(key []byte, primary bool) error {
	if len(key) != sm.KeySize {
		return ErrKeySize
	}
	for i, rk := range k.keys {
		if bytes.Equal(rk.key, key) {
			if primary && i != 0 {
				k.keys[0], k.keys[i] = k.keys[i], k.keys[0]
			}
			return nil
		}
	}
	a, err := sm.NewAEAD(key)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	rk := ringKey{id: keyID(key), key: bytes.Clone(key), aead: a}
	if primary {
		k.keys = append([]ringKey{rk}, k.keys...)
	} else {
		k.keys = append(k.keys, rk)
	}
	return nil
}

// Install adds key for decryption (a no-op when present).
func (k *Keyring) Install(key []byte) error {
	return k.change(func() error { return k.add(key, false) })
}

// Use makes an installed key the primary.
func (k *Keyring) Use(key []byte) error {
	return k.change(func() error {
		if k.index(key) < 0 {
			return ErrKeyUnknown
		}
		return k.add(key, true)
	})
}

// Remove drops a key that is not the primary (a no-op when absent).
func (k *Keyring) Remove(key []byte) error {
	return k.change(func() error {
		i := k.index(key)
		switch {
		case i < 0:
			return nil
		case i == 0:
			return ErrRemovePrimary
		}
		k.keys = append(k.keys[:i:i], k.keys[i+1:]...)
		return nil
	})
}

func (k *Keyring) index(key []byte) int {
	for i, rk := range k.keys {
		if bytes.Equal(rk.key, key) {
			return i
		}
	}
	return -1
}

func (k *Keyring) change(fn func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	before := k.marshalLocked()
	if err := fn(); err != nil {
		return err
	}
	after := k.marshalLocked()
	if bytes.Equal(before, after) {
		return nil
	}
	k.version++
	if k.path != "" {
		if err := writeFileAtomic(k.path, after, 0o600); err != nil {
			return fmt.Errorf("keyring: persist: %w", err)
		}
	}
	return nil
}

// Replace makes the keyring equal to other (same keys, same primary).
func (k *Keyring) Replace(other *Keyring) error {
	other.mu.RLock()
	keys := make([][]byte, len(other.keys))
	for i, rk := range other.keys {
		keys[i] = rk.key
	}
	other.mu.RUnlock()
	if len(keys) == 0 {
		return ErrNoKeyring
	}
	return k.change(func() error {
		n := &Keyring{}
		for i, key := range keys {
			if err := n.add(key, i == 0); err != nil {
				return err
			}
		}
		k.keys = n.keys
		return nil
	})
}

// Equal reports whether both keyrings hold the same keys with the same primary.
func (k *Keyring) Equal(o *Keyring) bool {
	return bytes.Equal(k.Marshal(), o.Marshal())
}

// Primary returns the id of the primary key.
func (k *Keyring) Primary() KeyID {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.keys) == 0 {
		return KeyID{}
	}
	return k.keys[0].id
}

// IDs returns the ids of all keys, primary first.
func (k *Keyring) IDs() []KeyID {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]KeyID, len(k.keys))
	for i, rk := range k.keys {
		ids[i] = rk.id
	}
	return ids
}

// Version counts changes since the keyring was loaded.
func (k *Keyring) Version() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.version
}

// Packet layout: version(1) | key id(4) | nonce(12) | ciphertext | tag(16).
// The first five bytes are the associated data.
const (
	packetVersion = 1
	packetHeader  = 5
	// PacketOverhead is what sealing adds to a gossip packet.
	PacketOverhead = packetHeader + 12 + 16
)

// ErrPacket is returned for a packet that cannot be opened: unknown
// version, a key not in the keyring, or failed authentication.
var ErrPacket = errors.New("gossip packet rejected")

// Seal encrypts a gossip packet under the primary key.
func (k *Keyring) Seal(plain []byte) ([]byte, error) {
	k.mu.RLock()
	if len(k.keys) == 0 {
		k.mu.RUnlock()
		return nil, ErrNoKeyring
	}
	rk := k.keys[0]
	k.mu.RUnlock()
	hdr := [packetHeader]byte{packetVersion}
	copy(hdr[1:], rk.id[:])
	body, err := sm.Seal(rk.aead, plain, hdr[:])
	if err != nil {
		return nil, err
	}
	return append(hdr[:], body...), nil
}

// Open authenticates and decrypts a packet sealed by any installed key.
func (k *Keyring) Open(packet []byte) ([]byte, error) {
	if len(packet) < PacketOverhead || packet[0] != packetVersion {
		return nil, ErrPacket
	}
	var id KeyID
	copy(id[:], packet[1:packetHeader])
	k.mu.RLock()
	cands := make([]cipher.AEAD, 0, 1)
	for _, rk := range k.keys {
		if rk.id == id {
			cands = append(cands, rk.aead)
		}
	}
	k.mu.RUnlock()
	for _, a := range cands {
		if pt, err := sm.Open(a, packet[packetHeader:], packet[:packetHeader]); err == nil {
			return pt, nil
		}
	}
	return nil, ErrPacket
}

type keyringJSON struct {
	Keys []string `json:"keys"` // base64, primary first
}

func (k *Keyring) marshalLocked() []byte {
	j := keyringJSON{Keys: make([]string, len(k.keys))}
	for i, rk := range k.keys {
		j.Keys[i] = base64.StdEncoding.EncodeToString(rk.key)
	}
	b, _ := json.Marshal(j)
	return b
}

// Marshal encodes the keyring (secret: the keys themselves) for the
// keyring file and for enrolment, which seals it to the new node.
func (k *Keyring) Marshal() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.marshalLocked()
}

// ParseKeyring decodes what Marshal produced.
func ParseKeyring(b []byte) (*Keyring, error) {
	var j keyringJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if len(j.Keys) == 0 {
		return nil, ErrNoKeyring
	}
	k := &Keyring{}
	for i, s := range j.Keys {
		key, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", i, err)
		}
		if err := k.add(key, i == 0); err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", i, err)
		}
	}
	return k, nil
}

// LoadKeyring reads dir's keyring file; later changes are written back.
// It returns ErrNoKeyring (wrapped) when the file does not exist.
func LoadKeyring(dir string) (*Keyring, error) {
	path := filepath.Join(dir, KeyringFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoKeyring, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k, err := ParseKeyring(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.path = path
	return k, nil
}

// SaveTo writes the keyring to dir (0600) and keeps it there on changes.
func (k *Keyring) SaveTo(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.path = filepath.Join(dir, KeyringFile)
	if err := writeFileAtomic(k.path, k.marshalLocked(), 0o600); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
