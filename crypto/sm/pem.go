package sm

import (
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// KeyIterations is the PBKDF2-HMAC-SM3 iteration count used to protect
// private keys on disk.
const KeyIterations = 100_000

// PEM block types written by this package.
const (
	pemEncryptedKey = "ENCRYPTED PRIVATE KEY"
	pemPublicKey    = "PUBLIC KEY"
)

// ErrPassphrase is returned when a private key cannot be decrypted with the
// given passphrase.
var ErrPassphrase = errors.New("wrong passphrase or corrupted private key")

// MarshalPrivateKeyPEM encodes priv as an encrypted PKCS#8 PEM block
// (PBES2: PBKDF2-HMAC-SM3, KeyIterations, SM4-CBC). An empty passphrase is
// refused: private keys never reach disk in the clear.
func MarshalPrivateKeyPEM(priv *PrivateKey, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("marshal private key: empty passphrase")
	}
	der, err := pkcs8.MarshalPrivateKey(priv.k, passphrase, &pkcs8.Opts{
		Cipher:  pkcs8.SM4CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: KeyIterations, HMACHash: pkcs8.SM3},
	})
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes a private key written by MarshalPrivateKeyPEM.
func ParsePrivateKeyPEM(data, passphrase []byte) (*PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != pemEncryptedKey {
		return nil, errors.New("parse private key: no ENCRYPTED PRIVATE KEY PEM block")
	}
	k, _, err := pkcs8.ParsePrivateKey(b.Bytes, passphrase)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", ErrPassphrase)
	}
	switch v := k.(type) {
	case *sm2.PrivateKey:
		return &PrivateKey{k: v}, nil
	case *ecdsa.PrivateKey:
		return PrivateKeyFromScalar(v.D.FillBytes(make([]byte, 32)))
	default:
		return nil, fmt.Errorf("parse private key: type %T is not SM2", k)
	}
}

// MarshalPublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKeyPEM(pub *PublicKey) ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub.k)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes a PKIX "PUBLIC KEY" PEM block holding an SM2 key.
func ParsePublicKeyPEM(data []byte) (*PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != pemPublicKey {
		return nil, errors.New("parse public key: no PUBLIC KEY PEM block")
	}
	k, err := smx509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	e, ok := k.(*ecdsa.PublicKey)
	if !ok || e.Curve != sm2.P256() {
		return nil, fmt.Errorf("parse public key: type %T is not SM2", k)
	}
	return &PublicKey{k: e}, nil
}
