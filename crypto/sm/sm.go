package sm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	tjsm2 "github.com/tjfoc/gmsm/sm2"
)

// DefaultUID is the SM2 signer identity of GB/T 32918 used for every
// signature in the product.
const DefaultUID = "1234567812345678"

// HashSize is the length of an SM3 digest in bytes.
const HashSize = sm3.Size

// PrivateKey is an SM2 private key.
type PrivateKey struct {
	k *sm2.PrivateKey
}

// PublicKey is an SM2 public key.
type PublicKey struct {
	k *ecdsa.PublicKey
}

// GenerateKey creates a new random SM2 key pair.
func GenerateKey() (*PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sm2 generate key: %w", err)
	}
	return &PrivateKey{k: k}, nil
}

// PrivateKeyFromScalar builds a private key from its big-endian scalar
// (used for standard test vectors and key import).
func PrivateKeyFromScalar(d []byte) (*PrivateKey, error) {
	c := sm2.P256()
	D := new(big.Int).SetBytes(d)
	n := new(big.Int).Sub(c.Params().N, big.NewInt(1))
	if D.Sign() <= 0 || D.Cmp(n) >= 0 {
		return nil, errors.New("sm2 private key: scalar out of range")
	}
	x, y := c.ScalarBaseMult(D.FillBytes(make([]byte, 32)))
	k := &sm2.PrivateKey{PrivateKey: ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: c, X: x, Y: y}, D: D}}
	return &PrivateKey{k: k}, nil
}

// PublicKeyFromXY builds a public key from its affine coordinates and checks
// that the point lies on the SM2 curve.
func PublicKeyFromXY(x, y []byte) (*PublicKey, error) {
	c := sm2.P256()
	X, Y := new(big.Int).SetBytes(x), new(big.Int).SetBytes(y)
	if !c.IsOnCurve(X, Y) {
		return nil, errors.New("sm2 public key: point not on curve")
	}
	return &PublicKey{k: &ecdsa.PublicKey{Curve: c, X: X, Y: Y}}, nil
}

// Public returns the public half of the key pair.
func (p *PrivateKey) Public() *PublicKey {
	return &PublicKey{k: &p.k.PublicKey}
}

// Equal reports whether two public keys are the same point.
func (p *PublicKey) Equal(o *PublicKey) bool {
	return o != nil && p.k.X.Cmp(o.k.X) == 0 && p.k.Y.Cmp(o.k.Y) == 0
}

// Bytes returns the uncompressed point encoding 04||X||Y.
func (p *PublicKey) Bytes() []byte {
	out := make([]byte, 65)
	out[0] = 4
	p.k.X.FillBytes(out[1:33])
	p.k.Y.FillBytes(out[33:])
	return out
}

// ID returns the hex SM3 digest of the uncompressed public key, a stable
// identifier for logs and caches.
func (p *PublicKey) ID() string {
	h := Hash(p.Bytes())
	return fmt.Sprintf("%x", h[:])
}

// Sign signs msg with SM2 (Z value over DefaultUID, SM3) and returns the
// ASN.1 DER signature.
func Sign(priv *PrivateKey, msg []byte) ([]byte, error) {
	sig, err := priv.k.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, []byte(DefaultUID)))
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return sig, nil
}

// Verify reports whether sig is a valid SM2 signature of msg by pub
// (Z value over DefaultUID).
func Verify(pub *PublicKey, msg, sig []byte) bool {
	if pub == nil || pub.k == nil {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub.k, []byte(DefaultUID), msg, sig)
}

// Encrypt encrypts msg to pub with SM2 public key encryption (GB/T 32918.4),
// ASN.1 encoded C1C3C2.
func Encrypt(pub *PublicKey, msg []byte) ([]byte, error) {
	ct, err := sm2.EncryptASN1(rand.Reader, pub.k, msg)
	if err != nil {
		return nil, fmt.Errorf("sm2 encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts an SM2 ciphertext produced by Encrypt (ASN.1 or plain
// 04||C1C3C2 encodings are both accepted).
func Decrypt(priv *PrivateKey, ct []byte) ([]byte, error) {
	pt, err := sm2.Decrypt(priv.k, ct)
	if err != nil {
		return nil, fmt.Errorf("sm2 decrypt: %w", err)
	}
	return pt, nil
}

// Hash returns the SM3 digest of b.
func Hash(b []byte) [HashSize]byte {
	return sm3.Sum(b)
}

// NewHash returns a streaming SM3 hash.
func NewHash() hash.Hash {
	return sm3.New()
}

// HMAC returns HMAC-SM3(key, b).
func HMAC(key, b []byte) [HashSize]byte {
	m := hmac.New(sm3.New, key)
	m.Write(b)
	var out [HashSize]byte
	m.Sum(out[:0])
	return out
}

// NewHMAC returns a streaming HMAC-SM3 keyed with key.
func NewHMAC(key []byte) hash.Hash {
	return hmac.New(sm3.New, key)
}

// SharedKey returns n bytes (1 to HashSize) that only the holders of p and
// of peer's private key can compute: HMAC-SM3 over info keyed with the x
// coordinate of the static SM2 Diffie-Hellman point p·peer. Both sides
// pass the same info (naming both keys' certificates binds the key to
// them).
func (p *PrivateKey) SharedKey(peer *PublicKey, info []byte, n int) ([]byte, error) {
	if n < 1 || n > HashSize {
		return nil, fmt.Errorf("sm2 shared key: length %d out of 1..%d", n, HashSize)
	}
	if peer == nil || peer.k == nil {
		return nil, errors.New("sm2 shared key: no peer key")
	}
	priv, err := ecdh.P256().NewPrivateKey(p.k.D.FillBytes(make([]byte, 32)))
	if err != nil {
		return nil, fmt.Errorf("sm2 shared key: %w", err)
	}
	pub, err := ecdh.P256().NewPublicKey(peer.Bytes())
	if err != nil {
		return nil, fmt.Errorf("sm2 shared key: %w", err)
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("sm2 shared key: %w", err)
	}
	k := HMAC(z, info)
	return k[:n:n], nil
}

// Tjfoc returns the key as a tjfoc/gmsm private key, for x509 and GM TLS.
func (p *PrivateKey) Tjfoc() *tjsm2.PrivateKey {
	return &tjsm2.PrivateKey{
		PublicKey: tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).Set(p.k.X), Y: new(big.Int).Set(p.k.Y)},
		D:         new(big.Int).Set(p.k.D),
	}
}

// Tjfoc returns the key as a tjfoc/gmsm public key, for x509 and GM TLS.
func (p *PublicKey) Tjfoc() *tjsm2.PublicKey {
	return &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).Set(p.k.X), Y: new(big.Int).Set(p.k.Y)}
}

// PublicKeyFromTjfoc converts a public key as found in tjfoc x509
// certificates (*sm2.PublicKey or *ecdsa.PublicKey on the SM2 curve).
func PublicKeyFromTjfoc(k crypto.PublicKey) (*PublicKey, error) {
	switch v := k.(type) {
	case *tjsm2.PublicKey:
		return PublicKeyFromXY(v.X.Bytes(), v.Y.Bytes())
	case *ecdsa.PublicKey:
		if v.Curve.Params().Name != tjsm2.P256Sm2().Params().Name && v.Curve.Params().P.Cmp(sm2.P256().Params().P) != 0 {
			return nil, fmt.Errorf("public key is not on the SM2 curve (%s)", v.Curve.Params().Name)
		}
		return PublicKeyFromXY(v.X.Bytes(), v.Y.Bytes())
	default:
		return nil, fmt.Errorf("public key type %T is not SM2", k)
	}
}

// PrivateKeyFromTjfoc converts a tjfoc/gmsm private key.
func PrivateKeyFromTjfoc(k *tjsm2.PrivateKey) (*PrivateKey, error) {
	return PrivateKeyFromScalar(k.D.FillBytes(make([]byte, 32)))
}

// Signer returns a crypto.Signer with the semantics tjfoc x509 and GM TLS
// expect (Sign receives the message; Z value over DefaultUID is applied), and
// crypto.Decrypter for plain C1C3C2 ciphertexts, backed by the fast
// implementation.
func (p *PrivateKey) Signer() crypto.Signer {
	return &tjSigner{p: p}
}

// tjSigner adapts PrivateKey to tjfoc's signer conventions.
type tjSigner struct {
	p *PrivateKey
}

var _ crypto.Signer = (*tjSigner)(nil)
var _ crypto.Decrypter = (*tjSigner)(nil)

// Public returns the tjfoc public key.
func (s *tjSigner) Public() crypto.PublicKey { return &s.p.Tjfoc().PublicKey }

// Sign signs msg (not a digest) with the default user id.
func (s *tjSigner) Sign(_ io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	return Sign(s.p, msg)
}

// Decrypt decrypts a plain 04||C1C3C2 or ASN.1 SM2 ciphertext.
func (s *tjSigner) Decrypt(_ io.Reader, msg []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	return Decrypt(s.p, msg)
}
