package sm

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
	"golang.org/x/crypto/pbkdf2"
)

// KeySize is the SM4 key length in bytes.
const KeySize = 16

// GCM parameters (standard sizes).
const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// NewAEAD returns SM4-GCM (standard GCM, 12-byte nonce, 16-byte tag) keyed
// with a 16-byte key.
func NewAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sm4-gcm: key is %d bytes, want %d", len(key), KeySize)
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm4-gcm: %w", err)
	}
	// Go 1.24+ crypto/cipher.NewGCM no longer asks the block for an
	// optimised GCM, so ask emmansun's SM4 block directly (AES-NI/CLMUL or
	// ARM64 assembly) and fall back to the generic construction.
	var g cipher.AEAD
	if fast, ok := b.(interface {
		NewGCM(nonceSize, tagSize int) (cipher.AEAD, error)
	}); ok {
		g, err = fast.NewGCM(gcmNonceSize, gcmTagSize)
	} else {
		g, err = cipher.NewGCM(b)
	}
	if err != nil {
		return nil, fmt.Errorf("sm4-gcm: %w", err)
	}
	return g, nil
}

// NewBlock returns the raw SM4 block cipher (for test vectors and modes
// other than GCM).
func NewBlock(key []byte) (cipher.Block, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm4: %w", err)
	}
	return b, nil
}

// ErrOpen is returned when an authenticated ciphertext fails to open
// (wrong key, wrong associated data or tampered bytes).
var ErrOpen = errors.New("sm4-gcm: message authentication failed")

// Seal encrypts plaintext with a fresh random nonce and returns
// nonce||ciphertext||tag.
func Seal(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("sm4-gcm nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

// Open reverses Seal.
func Open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(sealed) < ns+aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// RandomKey returns n random bytes (SM4 keys, HMAC keys, salts).
func RandomKey(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	return b, nil
}

// PBKDF2 derives keyLen bytes from password and salt with PBKDF2-HMAC-SM3.
func PBKDF2(password, salt []byte, iterations, keyLen int) []byte {
	return pbkdf2.Key(password, salt, iterations, keyLen, NewHash)
}
