package pii

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"
)

func keyring(t *testing.T, current string, ids ...string) *Keyring {
	t.Helper()
	keys := map[string][]byte{}
	for i, id := range ids {
		keys[id] = bytes.Repeat([]byte{byte(i + 1)}, 16)
	}
	k, err := NewKeyring(current, keys, bytes.Repeat([]byte{0xAB}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptDecrypt(t *testing.T) {
	k := keyring(t, "k1", "k1")
	ct, err := k.Encrypt("person.cert_no", "11010119900101123X")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ct, "11010119900101123X") || !strings.HasPrefix(ct, "k1$") {
		t.Fatalf("ciphertext %q", ct)
	}
	pt, err := k.Decrypt("person.cert_no", ct)
	if err != nil || pt != "11010119900101123X" {
		t.Fatalf("decrypt %q %v", pt, err)
	}
	ct2, _ := k.Encrypt("person.cert_no", "11010119900101123X")
	if ct2 == ct {
		t.Fatal("two encryptions of one value are equal (nonce reuse)")
	}
	tests := []struct {
		name, field, ct string
		want            error
	}{
		{"other column", "person.phone", ct, ErrDecrypt},
		{"tampered", "person.cert_no", ct[:len(ct)-2] + "AA", ErrDecrypt},
		{"unknown key", "person.cert_no", "k9" + ct[2:], ErrUnknownKey},
		{"no key id", "person.cert_no", "abc", ErrFormat},
		{"bad base64", "person.cert_no", "k1$***", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Decrypt(tt.field, tt.ct); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := keyring(t, "k1", "k1")
	rows := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		ct, err := old.Encrypt("person.phone", "1380000000"+id)
		if err != nil {
			t.Fatal(err)
		}
		rows[id] = ct
	}
	k := keyring(t, "k2", "k1", "k2")
	fresh, _ := k.Encrypt("person.phone", "13900000000")
	rows["d"] = fresh
	n, err := k.ReencryptAll(context.Background(), "person.phone", maps.All(maps.Clone(rows)), func(_ context.Context, id, ct string) error {
		rows[id] = ct
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("reencrypted %d, %v", n, err)
	}
	for id, ct := range rows {
		if kid, _ := KeyID(ct); kid != "k2" {
			t.Fatalf("row %s still under %s", id, kid)
		}
	}
	if pt, err := k.Decrypt("person.phone", rows["b"]); err != nil || pt != "1380000000b" {
		t.Fatalf("after rotation %q %v", pt, err)
	}
}

func TestBlindIndex(t *testing.T) {
	k := keyring(t, "k1", "k1")
	a := k.BlindIndex("person.cert_no", "11010119900101123x")
	if b := k.BlindIndex("person.cert_no", " 11010119900101123X "); a != b {
		t.Fatal("normalisation differs")
	}
	if k.BlindIndex("person.phone", "11010119900101123X") == a {
		t.Fatal("index not separated by field")
	}
	if k.BlindIndex("person.cert_no", "110101199001011230") == a {
		t.Fatal("different values share an index")
	}
	rotated := keyring(t, "k2", "k1", "k2")
	if rotated.BlindIndex("person.cert_no", "11010119900101123X") != a {
		t.Fatal("blind index changed with encryption key rotation")
	}
}

// TestNoPIIInLogs logs every pii operation's inputs the way callers should
// (field names, key ids, counts) and checks no value or key leaks.
func TestNoPIIInLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	k := keyring(t, "k1", "k1")
	secret := "11010119900101123X"
	ct, _ := k.Encrypt("person.cert_no", secret)
	log.Info("pii stored", "field", "person.cert_no", "key_id", k.Current(), "index", k.BlindIndex("person.cert_no", secret)[:8])
	_, err := k.Decrypt("person.phone", ct)
	log.Warn("pii decrypt failed", "err", err)
	if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), string(bytes.Repeat([]byte{1}, 16))) {
		t.Fatalf("log leaks PII or key: %s", buf.String())
	}
}
