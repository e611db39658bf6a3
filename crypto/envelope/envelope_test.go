package envelope

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/x509"
	"github.com/ybfed/ybfed/crypto/ca"
)

type fixture struct {
	ca       *ca.CA
	province *Signer // 440000, embeds its certificate
	known    *Signer // 320000, found through Lookup only
	expired  *Signer
	revoked  *Signer
	foreign  *Signer
	certs    map[string]*x509.Certificate
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c, err := ca.Init(t.TempDir(), []byte("envelope-test"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Init(t.TempDir(), []byte("envelope-test"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ca: c, certs: map[string]*x509.Certificate{}}
	mk := func(authority *ca.CA, req ca.IssueRequest, embed bool) *Signer {
		iss, err := authority.Issue(req)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(iss.SignKey, iss.Sign, embed)
		if err != nil {
			t.Fatal(err)
		}
		f.certs[ca.SerialHex(iss.Sign.SerialNumber)] = iss.Sign
		return s
	}
	past := time.Now().Add(-72 * time.Hour)
	f.province = mk(c, ca.IssueRequest{Admdvs: "440000", Role: ca.RoleProvince}, true)
	f.known = mk(c, ca.IssueRequest{Admdvs: "320000", Role: ca.RoleProvince}, false)
	f.expired = mk(c, ca.IssueRequest{Admdvs: "330000", Role: ca.RoleProvince, NotBefore: past, NotAfter: past.Add(time.Hour)}, true)
	f.revoked = mk(c, ca.IssueRequest{Admdvs: "350000", Role: ca.RoleProvince}, true)
	f.foreign = mk(other, ca.IssueRequest{Admdvs: "440000", Role: ca.RoleProvince}, true)
	if err := c.Revoke(f.revoked.serial); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) verifier(t testing.TB, opts VerifierOptions) *Verifier {
	t.Helper()
	opts.Revocations = f.ca
	opts.Lookup = func(serial string) (*x509.Certificate, bool) {
		c, ok := f.certs[serial]
		return c, ok
	}
	v, err := NewVerifier(f.ca.Certificate(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, s *Signer, payload string) *Envelope {
	t.Helper()
	e, err := s.Sign("settlement.route", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestVerifyAcceptsAndRoundTrips(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, VerifierOptions{})
	for _, s := range []*Signer{f.province, f.known} {
		b, err := sign(t, s, `{"fen":123456}`).Encode()
		if err != nil {
			t.Fatal(err)
		}
		e, id, err := v.VerifyBytes(b, "")
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Payload) != `{"fen":123456}` || id.Serial != s.serial {
			t.Fatalf("got %q %+v", e.Payload, id)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	v := f.verifier(t, VerifierOptions{Now: func() time.Time { return now }})
	replayed := sign(t, f.province, "once")
	if _, err := v.Verify(replayed, ""); err != nil {
		t.Fatal(err)
	}
	unknown := sign(t, f.known, "x")
	unknown.Signer = "abcdef0123"
	stale := sign(t, f.province, "old")
	stale.Time = now.Add(-time.Hour).UnixMilli()
	tampered := sign(t, f.province, "pay 100 fen")
	tampered.Payload = []byte("pay 900 fen")
	tamperedTime := sign(t, f.province, "pay 100 fen")
	tamperedTime.Time++
	swapped := sign(t, f.known, "x")
	swapped.Signer = f.province.serial // claims another known signer

	tests := []struct {
		name   string
		env    *Envelope
		expect string
		want   error
	}{
		{"tampered payload", tampered, "", ErrTampered},
		{"tampered time", tamperedTime, "", ErrTampered},
		{"signer swapped", swapped, "", ErrTampered},
		{"wrong signer", sign(t, f.known, "x"), "440000", ErrWrongSigner},
		{"unknown signer", unknown, "", ErrUnknownSigner},
		{"expired cert", sign(t, f.expired, "x"), "", ErrExpiredCert},
		{"revoked cert", sign(t, f.revoked, "x"), "", ErrRevoked},
		{"foreign CA", sign(t, f.foreign, "x"), "", ErrForeignCA},
		{"replayed nonce", replayed, "", ErrReplay},
		{"stale", stale, "", ErrStale},
		{"malformed", &Envelope{Type: "x"}, "", ErrMalformed},
	}
	all := []error{ErrTampered, ErrWrongSigner, ErrUnknownSigner, ErrExpiredCert, ErrRevoked, ErrForeignCA, ErrReplay, ErrStale, ErrMalformed}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.env, tt.expect)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, other := range all {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("err %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestKnownSignerCachedButStillChecked(t *testing.T) {
	f := newFixture(t)
	lookups := 0
	v, err := NewVerifier(f.ca.Certificate(), VerifierOptions{
		Revocations: f.ca,
		Lookup: func(serial string) (*x509.Certificate, bool) {
			lookups++
			c, ok := f.certs[serial]
			return c, ok
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(sign(t, f.known, "m"), "320000"); err != nil {
			t.Fatal(err)
		}
	}
	if lookups != 1 {
		t.Fatalf("%d lookups for one signer, want 1 (cache)", lookups)
	}
	if err := f.ca.Revoke(f.known.serial); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sign(t, f.known, "m"), ""); !errors.Is(err, ErrRevoked) {
		t.Fatalf("cached signer revoked later: %v", err)
	}
}

func TestNonceCacheBounded(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	v := f.verifier(t, VerifierOptions{MaxNonces: 10, Now: func() time.Time { return now }})
	var first *Envelope
	for i := 0; i < 50; i++ {
		now = now.Add(time.Millisecond)
		f.province.now = func() time.Time { return now }
		e := sign(t, f.province, "m")
		if i == 0 {
			first = e
		}
		if _, err := v.Verify(e, ""); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if len(v.nonces) > 10 {
		t.Fatalf("nonce cache holds %d entries, bound is 10", len(v.nonces))
	}
	// The first nonce was evicted; replaying it must still fail.
	if _, err := v.Verify(first, ""); !errors.Is(err, ErrStale) {
		t.Fatalf("replay of evicted nonce: %v", err)
	}
	// Entries fall out with time too.
	now = now.Add(DefaultWindow + time.Minute)
	f.province.now = func() time.Time { return now }
	if _, err := v.Verify(sign(t, f.province, "later"), ""); err != nil {
		t.Fatal(err)
	}
	if len(v.nonces) != 1 {
		t.Fatalf("expired nonces kept: %d", len(v.nonces))
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"not json":      "{",
		"unknown field": `{"type":"a","evil":1}`,
		"no nonce":      `{"type":"a","payload":"","signer":"ab","time":1,"nonce":"","sig":"AAAA"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// mapNonces is a NonceStore shared by two verifiers, standing in for the
// table national hubs share.
type mapNonces struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (n *mapNonces) Remember(key string, t time.Time) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.m[key]; ok {
		return false, nil
	}
	n.m[key] = t
	return true, nil
}

func TestSharedNonceStoreAcrossHubs(t *testing.T) {
	f := newFixture(t)
	shared := &mapNonces{m: map[string]time.Time{}}
	hubA := f.verifier(t, VerifierOptions{Nonces: shared})
	hubB := f.verifier(t, VerifierOptions{Nonces: shared})
	e := sign(t, f.province, "route")
	if _, err := hubA.Verify(e, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := hubB.Verify(e, ""); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay to another hub: %v", err)
	}
}
