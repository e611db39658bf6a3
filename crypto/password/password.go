package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ybfed/ybfed/crypto/sm"
)

// Parameters.
const (
	Iterations    = 120_000 // used for new hashes
	MinIterations = 100_000 // stored hashes below this are refused
	saltSize      = 16
	hashSize      = 32
	prefix        = "$pbkdf2-sm3$"
)

// ErrFormat is returned for a stored hash this package did not write.
var ErrFormat = errors.New("password: unrecognised hash format")

var b64 = base64.RawStdEncoding

// Hash returns the encoded hash of password with a fresh salt.
func Hash(password string) (string, error) {
	salt, err := sm.RandomKey(saltSize)
	if err != nil {
		return "", fmt.Errorf("password hash: %w", err)
	}
	dk := sm.PBKDF2([]byte(password), salt, Iterations, hashSize)
	return fmt.Sprintf("%si=%d$%s$%s", prefix, Iterations, b64.EncodeToString(salt), b64.EncodeToString(dk)), nil
}

// Verify reports whether password matches the encoded hash.
func Verify(password, encoded string) (bool, error) {
	iter, salt, want, err := parse(encoded)
	if err != nil {
		return false, err
	}
	got := sm.PBKDF2([]byte(password), salt, iter, len(want))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded uses fewer iterations than Hash
// does today.
func NeedsRehash(encoded string) bool {
	iter, _, _, err := parse(encoded)
	return err != nil || iter < Iterations
}

func parse(encoded string) (iter int, salt, hash []byte, err error) {
	rest, ok := strings.CutPrefix(encoded, prefix)
	if !ok {
		return 0, nil, nil, ErrFormat
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "i=") {
		return 0, nil, nil, ErrFormat
	}
	iter, err = strconv.Atoi(parts[0][2:])
	if err != nil || iter < MinIterations || iter > 10_000_000 {
		return 0, nil, nil, ErrFormat
	}
	salt, err = b64.DecodeString(parts[1])
	if err != nil || len(salt) < 8 {
		return 0, nil, nil, ErrFormat
	}
	hash, err = b64.DecodeString(parts[2])
	if err != nil || len(hash) < 16 {
		return 0, nil, nil, ErrFormat
	}
	return iter, salt, hash, nil
}
