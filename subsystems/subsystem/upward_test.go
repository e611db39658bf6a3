package subsystem_test

import (
	"errors"
	"testing"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

func TestUpwardOpen(t *testing.T) {
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.IssueMaterial(authority, "440000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := envelope.NewSigner(m.SignKey, m.Sign, true)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errBad, errForbidden, errOff := errors.New("bad"), errors.New("forbidden"), errors.New("off")
	up := subsystem.Upward{Subsystem: "demo", Type: "demo.sub/v1", BadInput: errBad, Forbidden: errForbidden, NotConnected: errOff}
	seal := func(typ, payload string) []byte {
		env, err := sg.Sign(typ, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	type sub struct {
		N int `json:"n"`
	}
	good := seal("demo.sub/v1", `{"n":7}`)
	for _, c := range []struct {
		name  string
		vf    subsystem.Verifier
		raw   []byte
		want  error
		field string
	}{
		{"good", vf, good, nil, ""},
		{"replayed", vf, good, errForbidden, ""},
		{"no verifier", nil, seal("demo.sub/v1", `{"n":1}`), errOff, ""},
		{"other type", vf, seal("other/v1", `{"n":1}`), errBad, "type"},
		{"unknown field", vf, seal("demo.sub/v1", `{"n":1,"psn_no":"x"}`), errBad, "payload"},
		{"not an envelope", vf, []byte("{"), errForbidden, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s sub
			payload, who, err := up.Open(c.vf, c.raw, &s)
			var fe *subsystem.FieldError
			switch {
			case c.want == nil && (err != nil || s.N != 7 || string(payload) != `{"n":7}` || who.Admdvs != "440000"):
				t.Fatalf("%v %+v %s %+v", err, s, payload, who)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %v, want %v", err, c.want)
			case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Fatalf("got %v, want field %s", err, c.field)
			}
		})
	}
}

// demoSub is a submission of the Receive test.
type demoSub struct {
	Admdvs   string `json:"admdvs"`
	Revision int64  `json:"revision"`
	N        int    `json:"n"`
}

func (d *demoSub) Validate() error {
	if d.N < 0 {
		return errors.New("negative n")
	}
	return nil
}
func (d *demoSub) Origin() string { return d.Admdvs }
func (d *demoSub) Rev() int64     { return d.Revision }

// TestUpwardReceive: the national node takes a submission signed by the
// province it names with a revision of 1 or more that passes its own
// checks; a province node, another province's signature, revision 0 and
// a failing check are refused.
func TestUpwardReceive(t *testing.T) {
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := link.IssueMaterial(authority, "440000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := envelope.NewSigner(m.SignKey, m.Sign, true)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errBad, errForbidden, errOff := errors.New("bad"), errors.New("forbidden"), errors.New("off")
	up := subsystem.Upward{Subsystem: "demo", Type: "demo.sub/v1", BadInput: errBad, Forbidden: errForbidden, NotConnected: errOff}
	seal := func(payload string) []byte {
		env, err := sg.Sign("demo.sub/v1", []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, c := range []struct {
		name, self, payload string
		want                error
		field               string
	}{
		{"good", "100000", `{"admdvs":"440000","revision":1,"n":7}`, nil, ""},
		{"at a province node", "440000", `{"admdvs":"440000","revision":1,"n":8}`, errForbidden, ""},
		{"signed by another province", "100000", `{"admdvs":"110000","revision":1,"n":9}`, errForbidden, ""},
		{"revision 0", "100000", `{"admdvs":"440000","revision":0,"n":10}`, errBad, "revision"},
		{"own check fails", "100000", `{"admdvs":"440000","revision":1,"n":-1}`, nil, "negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s demoSub
			payload, err := up.Receive(c.self, vf, seal(c.payload), &s)
			var fe *subsystem.FieldError
			switch {
			case c.field == "negative":
				if err == nil || err.Error() != "negative n" {
					t.Fatalf("got %v, want the submission's own error", err)
				}
			case c.want == nil && (err != nil || string(payload) != c.payload || s.N != 7):
				t.Fatalf("%v %s %+v", err, payload, s)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %v, want %v", err, c.want)
			case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Fatalf("got %v, want field %s", err, c.field)
			}
		})
	}
}
