package member

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyringSealOpenRotation(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	a, err := NewKeyring(k1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyring(k1)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("alive 440000 127.0.0.1:9403")
	// Each step of a rotation: both directions still open.
	steps := []struct {
		name string
		do   func() error
	}{
		{"install on a", func() error { return a.Install(k2) }},
		{"install on b", func() error { return b.Install(k2) }},
		{"use on a", func() error { return a.Use(k2) }},
		{"use on b", func() error { return b.Use(k2) }},
		{"remove on a", func() error { return a.Remove(k1) }},
		{"remove on b", func() error { return b.Remove(k1) }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			for _, dir := range []struct{ from, to *Keyring }{{a, b}, {b, a}} {
				p, err := dir.from.Seal(msg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dir.to.Open(p)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("open: %q %v", got, err)
				}
			}
		})
	}
	if a.Primary() != keyID(k2) || len(a.IDs()) != 1 || !a.Equal(b) {
		t.Fatalf("after rotation: primary %s ids %v", a.Primary(), a.IDs())
	}
}

func TestKeyringRejects(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	ring, _ := NewKeyring(k1)
	foreign, _ := NewKeyring(k2)
	good, err := ring.Seal([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	fromForeign, _ := foreign.Seal([]byte("hello"))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	sameID := bytes.Clone(fromForeign)
	copy(sameID[1:5], good[1:5]) // right key id, wrong key
	cases := []struct {
		name string
		pkt  []byte
	}{
		{"foreign key", fromForeign},
		{"foreign key with a known id", sameID},
		{"version", flip(0)},
		{"key id", flip(2)},
		{"nonce", flip(6)},
		{"ciphertext", flip(len(good) - 20)},
		{"tag", flip(len(good) - 1)},
		{"short", good[:PacketOverhead-1]},
		{"empty", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ring.Open(c.pkt); !errors.Is(err, ErrPacket) {
				t.Fatalf("opened: %v", err)
			}
		})
	}
	if err := ring.Remove(k1); !errors.Is(err, ErrRemovePrimary) {
		t.Fatalf("remove primary: %v", err)
	}
	if err := ring.Use(k2); !errors.Is(err, ErrKeyUnknown) {
		t.Fatalf("use unknown: %v", err)
	}
	if err := ring.Install([]byte("short")); !errors.Is(err, ErrKeySize) {
		t.Fatalf("install short key: %v", err)
	}
}

func TestKeyringPersistence(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKeyring(dir); !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("missing keyring: %v", err)
	}
	k1, k2 := mustKey(t), mustKey(t)
	ring, _ := NewKeyring(k1)
	if err := ring.SaveTo(dir); err != nil {
		t.Fatal(err)
	}
	if err := ring.Install(k2); err != nil {
		t.Fatal(err)
	}
	if err := ring.Use(k2); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyringFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode %v", st.Mode())
	}
	back, err := LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(ring) || back.Primary() != keyID(k2) {
		t.Fatalf("reloaded %v primary %s", back.IDs(), back.Primary())
	}
	// A change on the reloaded keyring is written back.
	if err := back.Remove(k1); err != nil {
		t.Fatal(err)
	}
	again, err := LoadKeyring(dir)
	if err != nil || len(again.IDs()) != 1 {
		t.Fatalf("after remove: %v %v", again, err)
	}
	for _, bad := range []string{`{`, `{"keys":[]}`, `{"keys":["!!"]}`, `{"keys":["AAAA"]}`} {
		if _, err := ParseKeyring([]byte(bad)); err == nil {
			t.Fatalf("parsed %s", bad)
		}
	}
}
