package envelope

import (
	"testing"
	"time"
)

func FuzzEnvelopeVerify(f *testing.F) {
	fx := newFixture(f)
	v := fx.verifier(f, VerifierOptions{Window: 100 * 365 * 24 * time.Hour})
	for _, s := range []*Signer{fx.province, fx.known, fx.revoked, fx.foreign} {
		b, err := sign(f, s, `{"fen":1}`).Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"a","payload":"","signer":"ab","time":1,"nonce":"00112233445566778899aabbccddeeff","sig":"MAA=","cert":"MAA="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, id, err := v.VerifyBytes(data, "")
		if err == nil && (e == nil || id.Serial == "") {
			t.Fatal("accepted without a signer")
		}
	})
}
