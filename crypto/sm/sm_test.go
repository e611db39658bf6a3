package sm

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjsm3 "github.com/tjfoc/gmsm/sm3"
	tjsm4 "github.com/tjfoc/gmsm/sm4"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GB/T 32905-2016 appendix A.
func TestSM3Vectors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"abc", "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{"abcd x16", strings.Repeat("abcd", 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Hash([]byte(tt.in))
			if hex.EncodeToString(got[:]) != tt.want {
				t.Fatalf("SM3(%q) = %x, want %s", tt.in, got, tt.want)
			}
			h := NewHash()
			h.Write([]byte(tt.in))
			if hex.EncodeToString(h.Sum(nil)) != tt.want {
				t.Fatal("streaming SM3 differs")
			}
			if ref := tjsm3.Sm3Sum([]byte(tt.in)); !bytes.Equal(ref, got[:]) {
				t.Fatalf("tjfoc SM3 = %x differs", ref)
			}
		})
	}
}

// GB/T 32907-2016 appendix A, examples 1 and 2.
func TestSM4Vectors(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	b, err := NewBlock(key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	b.Encrypt(got, key)
	if want := "681edf34d206965e86b3e94f536e4246"; hex.EncodeToString(got) != want {
		t.Fatalf("single block = %x, want %s", got, want)
	}
	back := make([]byte, 16)
	b.Decrypt(back, got)
	if !bytes.Equal(back, key) {
		t.Fatalf("decrypt = %x", back)
	}

	t.Run("1000000 iterations", func(t *testing.T) {
		buf := append([]byte(nil), key...)
		for i := 0; i < 1_000_000; i++ {
			b.Encrypt(buf, buf)
		}
		if want := "595298c7c6fd271f0402f804c33d3f66"; hex.EncodeToString(buf) != want {
			t.Fatalf("1e6 iterations = %x, want %s", buf, want)
		}
	})

	t.Run("tjfoc block agrees", func(t *testing.T) {
		ref, err := tjsm4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 16)
		ref.Encrypt(out, key)
		if !bytes.Equal(out, got) {
			t.Fatalf("tjfoc = %x", out)
		}
	})
}

// GM/T 0003.5-2012 (GB/T 32918.5-2017) appendix A: signature example on
// the recommended curve, message "message digest", user id 1234567812345678.
func TestSM2StandardExample(t *testing.T) {
	priv, err := PrivateKeyFromScalar(unhex(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := PublicKeyFromXY(
		unhex(t, "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"),
		unhex(t, "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Equal(pub) {
		t.Fatal("public key derived from the example's private key differs from the example's public key")
	}
	r := unhex(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
	s := unhex(t, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
	sig := derSig(r, s)
	msg := []byte("message digest")
	if !Verify(pub, msg, sig) {
		t.Fatal("standard example signature does not verify")
	}
	if Verify(pub, []byte("message digesT"), sig) {
		t.Fatal("standard example signature verifies for another message")
	}
	// The reference implementation agrees.
	if !pub.Tjfoc().Verify(msg, sig) {
		t.Fatal("tjfoc does not verify the standard example")
	}
}

// derSig encodes r, s as an ASN.1 SEQUENCE of two INTEGERs.
func derSig(r, s []byte) []byte {
	enc := func(x []byte) []byte {
		for len(x) > 1 && x[0] == 0 {
			x = x[1:]
		}
		if x[0]&0x80 != 0 {
			x = append([]byte{0}, x...)
		}
		return append([]byte{2, byte(len(x))}, x...)
	}
	body := append(enc(r), enc(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func TestSignVerifyCrossLibrary(t *testing.T) {
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("settlement 2026-12 fen=123456")
	t.Run("ours signs, tjfoc verifies", func(t *testing.T) {
		sig, err := Sign(priv, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(priv.Public(), msg, sig) {
			t.Fatal("own verify failed")
		}
		if !priv.Public().Tjfoc().Verify(msg, sig) {
			t.Fatal("tjfoc verify failed")
		}
	})
	t.Run("tjfoc signs, ours verifies", func(t *testing.T) {
		sig, err := priv.Tjfoc().Sign(rand.Reader, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(priv.Public(), msg, sig) {
			t.Fatal("verify of tjfoc signature failed")
		}
	})
	t.Run("signer adapter signs, tjfoc verifies", func(t *testing.T) {
		sig, err := priv.Signer().Sign(rand.Reader, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.Public().Tjfoc().Verify(msg, sig) {
			t.Fatal("tjfoc verify failed")
		}
	})
	t.Run("wrong key or message rejected", func(t *testing.T) {
		sig, _ := Sign(priv, msg)
		other, _ := GenerateKey()
		if Verify(other.Public(), msg, sig) {
			t.Fatal("verified with another key")
		}
		bad := append([]byte(nil), msg...)
		bad[0] ^= 1
		if Verify(priv.Public(), bad, sig) {
			t.Fatal("verified altered message")
		}
		if Verify(priv.Public(), msg, sig[:len(sig)-1]) {
			t.Fatal("verified truncated signature")
		}
	})
}

func TestEncryptDecrypt(t *testing.T) {
	priv, _ := GenerateKey()
	msg := []byte("premaster secret bytes")
	ct, err := Encrypt(priv.Public(), msg)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Decrypt(priv, ct)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	// tjfoc encrypts (plain C1C3C2, as GM TLS does), the signer adapter decrypts.
	tct, err := tjsm2.Encrypt(priv.Public().Tjfoc(), msg, rand.Reader, tjsm2.C1C3C2)
	if err != nil {
		t.Fatal(err)
	}
	pt, err = priv.Signer().(crypto.Decrypter).Decrypt(nil, tct, nil)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("adapter decrypt of tjfoc ciphertext = %q, %v", pt, err)
	}
	if _, err := Decrypt(priv, ct[:len(ct)-2]); err == nil {
		t.Fatal("truncated ciphertext decrypted")
	}
}

func TestHMAC(t *testing.T) {
	a := HMAC([]byte("k1"), []byte("13800000000"))
	b := HMAC([]byte("k2"), []byte("13800000000"))
	if a == b {
		t.Fatal("different keys give the same HMAC")
	}
	m := NewHMAC([]byte("k1"))
	m.Write([]byte("13800000000"))
	if !bytes.Equal(m.Sum(nil), a[:]) {
		t.Fatal("streaming HMAC differs")
	}
}

func TestAEAD(t *testing.T) {
	key, _ := RandomKey(KeySize)
	aead, err := NewAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := Seal(aead, []byte("110101199001011234"), []byte("person.cert_no"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Open(aead, sealed, []byte("person.cert_no"))
	if err != nil || string(pt) != "110101199001011234" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if _, err := Open(aead, sealed, []byte("person.phone")); err != ErrOpen {
		t.Fatalf("wrong ad: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := Open(aead, sealed, []byte("person.cert_no")); err != ErrOpen {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := NewAEAD(key[:8]); err == nil {
		t.Fatal("short key accepted")
	}
}

// SM4-GCM against a known-answer vector computed independently (GmSSL
// "sm4-gcm" / RFC 8998 appendix A.1).
func TestSM4GCMRFC8998(t *testing.T) {
	key := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	iv := unhex(t, "00001234567800000000ABCD")
	aad := unhex(t, "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
	pt := unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
	wantCT := "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
	wantTag := "83DE3541E4C2B58177E065A9BF7B62EC"
	aead, err := NewAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	out := aead.Seal(nil, iv, pt, aad)
	if got := strings.ToUpper(hex.EncodeToString(out)); got != wantCT+wantTag {
		t.Fatalf("SM4-GCM = %s\nwant      %s", got, wantCT+wantTag)
	}
}

func TestPEMRoundTrip(t *testing.T) {
	priv, _ := GenerateKey()
	pass := []byte("correct horse")
	p, err := MarshalPrivateKeyPEM(priv, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("not encrypted: %s", p)
	}
	back, err := ParsePrivateKeyPEM(p, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Public().Equal(priv.Public()) {
		t.Fatal("round trip changed the key")
	}
	if _, err := ParsePrivateKeyPEM(p, []byte("wrong")); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	if _, err := MarshalPrivateKeyPEM(priv, nil); err == nil {
		t.Fatal("empty passphrase accepted")
	}
	pp, err := MarshalPublicKeyPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(pp)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("public round trip: %v", err)
	}
	if tp, err := PrivateKeyFromTjfoc(priv.Tjfoc()); err != nil || !tp.Public().Equal(priv.Public()) {
		t.Fatalf("tjfoc round trip: %v", err)
	}
	if tp, err := PublicKeyFromTjfoc(priv.Public().Tjfoc()); err != nil || !tp.Equal(priv.Public()) {
		t.Fatalf("tjfoc public round trip: %v", err)
	}
}

// The assembly GCM path and the generic crypto/cipher GCM over the same
// SM4 block must agree on every length.
func TestSM4GCMFastPathMatchesGeneric(t *testing.T) {
	key, _ := RandomKey(KeySize)
	fast, err := NewAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := NewBlock(key)
	generic, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 255, 256, 1000, 4096, 16385} {
		pt, _ := RandomKey(n)
		ad, _ := RandomKey(n % 37)
		rand.Read(nonce)
		a := fast.Seal(nil, nonce, pt, ad)
		b := generic.Seal(nil, nonce, pt, ad)
		if !bytes.Equal(a, b) {
			t.Fatalf("length %d: fast and generic GCM differ", n)
		}
		back, err := generic.Open(nil, nonce, a, ad)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("length %d: generic cannot open fast output", n)
		}
	}
	t.Logf("AEAD implementation %T", fast)
}

// TestSharedKey: both sides of a static SM2 Diffie-Hellman agree, a third
// key or other info gives another key, and bad lengths are refused.
func TestSharedKey(t *testing.T) {
	a, _ := GenerateKey()
	b, _ := GenerateKey()
	c, _ := GenerateKey()
	ab, err := a.SharedKey(b.Public(), []byte("info"), KeySize)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.SharedKey(a.Public(), []byte("info"), KeySize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, ba) || len(ab) != KeySize {
		t.Fatalf("sides disagree: %x %x", ab, ba)
	}
	for name, other := range map[string]func() ([]byte, error){
		"third key":  func() ([]byte, error) { return c.SharedKey(b.Public(), []byte("info"), KeySize) },
		"other info": func() ([]byte, error) { return a.SharedKey(b.Public(), []byte("other"), KeySize) },
	} {
		k, err := other()
		if err != nil || bytes.Equal(k, ab) {
			t.Errorf("%s: %x, %v", name, k, err)
		}
	}
	for _, n := range []int{0, HashSize + 1} {
		if _, err := a.SharedKey(b.Public(), nil, n); err == nil {
			t.Errorf("length %d accepted", n)
		}
	}
}
