package settlement_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// mustReadJSON decodes testdata/name into v.
func mustReadJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
}

func mustPolicy(tb testing.TB) *settlement.Policy {
	tb.Helper()
	var p settlement.Policy
	mustReadJSON(tb, "policy_440300.json", &p)
	if err := p.Validate(); err != nil {
		tb.Fatalf("policy: %v", err)
	}
	return &p
}

func mustCatalogue(tb testing.TB) settlement.CatalogueMap {
	tb.Helper()
	var items []settlement.CatalogueItem
	mustReadJSON(tb, "2304_catalogue.json", &items)
	m := settlement.CatalogueMap{}
	for _, it := range items {
		m[it.Code] = it
	}
	return m
}

// generic decodes JSON keeping numbers as their text.
func generic(tb testing.TB, b []byte) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// diffJSON compares want with got value by value, numbers by their exact
// text (310.00 differs from 310). Keys of got that want lacks are allowed
// only when extra lists them. It returns the differences, sorted.
func diffJSON(want, got any, path string, extra map[string]bool) []string {
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %v", path, got)}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, diffJSON(wv, gv, path+"."+k, extra)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !extra[k] {
				out = append(out, fmt.Sprintf("%s.%s: unexpected key", path, k))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d elements, got %v", path, len(w), got)}
		}
		for i := range w {
			out = append(out, diffJSON(w[i], g[i], fmt.Sprintf("%s[%d]", path, i), extra)...)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) || fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			out = append(out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
		}
	}
	sort.Strings(out)
	return out
}

// identityFields are setlinfo fields of DOMAIN.md §2.2 that the 2207
// example leaves out of its (abridged) output.
var identityFields = map[string]bool{
	"psn_name": true, "psn_cert_type": true, "certno": true, "gend": true, "naty": true,
	"brdy": true, "age": true, "psn_type": true, "cvlserv_flag": true, "mdtrt_cert_type": true,
}
