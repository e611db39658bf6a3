package member

import (
	"errors"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		m    Meta
	}{
		{"empty", Meta{}},
		{"province", Meta{Admdvs: "440000", Name: "广东省医疗保障局", Role: "province", Version: "1.2.3",
			API: "ybnode-440000.ybfed.internal:9401", Raft: "ybnode-440000.ybfed.internal:9402", Applied: 1 << 40, Ready: true, RefFormat: 2}},
		{"leaving", Meta{Admdvs: "100000", Role: "national", Leaving: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.m.Encode(metaLimit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMeta(b)
			if err != nil || got != c.m {
				t.Fatalf("got %+v %v, want %+v", got, err, c.m)
			}
			// Trailing fields of a newer minor version are ignored.
			got, err = DecodeMeta(append(b, 1, 2, 3))
			if err != nil || got != c.m {
				t.Fatalf("with trailing bytes: %+v %v", got, err)
			}
			// Metadata of a release without RefFormat decodes with 0.
			old := c.m
			old.RefFormat = 0
			got, err = DecodeMeta(b[:len(b)-1])
			if err != nil || got != old {
				t.Fatalf("without the ref format: %+v %v", got, err)
			}
		})
	}
}

func TestMetaLimit(t *testing.T) {
	m := Meta{Admdvs: "650000", Name: strings.Repeat("新疆", 200), Role: "province", Version: "1.0.0",
		API: "a.example:9401", Raft: "a.example:9402", Applied: 12345}
	b, err := m.Encode(metaLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > metaLimit {
		t.Fatalf("%d bytes", len(b))
	}
	got, err := DecodeMeta(b)
	if err != nil || got.API != m.API || got.Applied != m.Applied || !strings.HasPrefix(m.Name, got.Name) || got.Name == "" {
		t.Fatalf("got %+v %v", got, err)
	}
	m.Name, m.API = "", strings.Repeat("x", 600)
	if _, err := m.Encode(metaLimit); err == nil {
		t.Fatal("oversized address accepted")
	}
}

func TestMetaMalformed(t *testing.T) {
	good, _ := Meta{Admdvs: "440000", Role: "province"}.Encode(metaLimit)
	for name, b := range map[string][]byte{
		"nil": nil, "version": append([]byte{9}, good[1:]...), "truncated": good[:len(good)-3],
		"long length": {metaVersion, 0, 0, 200, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeMeta(b); !errors.Is(err, ErrMeta) {
				t.Fatalf("decoded: %v", err)
			}
		})
	}
}
