package password

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/crypto/sm"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("s3cret-口令")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$pbkdf2-sm3$i=120000$") || strings.Contains(h, "s3cret") {
		t.Fatalf("encoded %q", h)
	}
	h2, _ := Hash("s3cret-口令")
	if h == h2 {
		t.Fatal("same password, same hash: salt not random")
	}
	tests := []struct {
		name, pw string
		want     bool
	}{
		{"right", "s3cret-口令", true},
		{"wrong", "s3cret-口今", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Verify(tt.pw, h)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
		})
	}
	if NeedsRehash(h) {
		t.Fatal("fresh hash needs rehash")
	}
}

func TestRejectsWeakOrForeignFormats(t *testing.T) {
	for _, enc := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuv",
		"$pbkdf2-sm3$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$pbkdf2-sm3$i=x$AAAA$AAAA",
	} {
		if _, err := Verify("pw", enc); !errors.Is(err, ErrFormat) {
			t.Fatalf("%q: err = %v", enc, err)
		}
	}
}

// With one iteration PBKDF2's first block is PRF(P, S || INT(1))
// (RFC 8018 section 5.2): this pins the PRF to HMAC-SM3.
func TestPBKDF2PRFIsHMACSM3(t *testing.T) {
	got := hex.EncodeToString(sm.PBKDF2([]byte("password"), []byte("salt"), 1, 32))
	m := sm.NewHMAC([]byte("password"))
	m.Write([]byte("salt\x00\x00\x00\x01"))
	if want := hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("PBKDF2 c=1 = %s, want first HMAC block %s", got, want)
	}
}
