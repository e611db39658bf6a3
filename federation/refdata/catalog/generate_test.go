package catalog

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"testing"
)

var national = flag.Bool("national", false, "also generate and check the full national-scale catalogue")

// mustEncodeAll encodes every namespace's items, in namespace order.
func mustEncodeAll(tb testing.TB, cat map[Namespace][]Item) []byte {
	tb.Helper()
	var all []byte
	for _, ns := range Namespaces() {
		b, err := EncodeChanges(Adds(cat[ns]))
		if err != nil {
			tb.Fatalf("encode %s: %v", ns, err)
		}
		all = append(all, ns...)
		all = append(all, b...)
	}
	return all
}

func checkGenerated(t *testing.T, cat map[Namespace][]Item, scale Scale) {
	t.Helper()
	for _, ns := range Namespaces() {
		items := cat[ns]
		if len(items) != scale.Count(ns) {
			t.Errorf("%s: %d items, want %d", ns, len(items), scale.Count(ns))
		}
		classes := map[Class]int{}
		for i := range items {
			if errs := Check(ns, &items[i]); len(errs) > 0 {
				t.Fatalf("%s item %d %q: %v", ns, i, items[i].Code, errs[0])
			}
			if i > 0 && items[i-1].Code >= items[i].Code {
				t.Fatalf("%s: items %d, %d not sorted/unique: %q, %q", ns, i-1, i, items[i-1].Code, items[i].Code)
			}
			classes[items[i].Class]++
		}
		if ns.Priced() && ns != DiseaseSettlement && ns != DaySurgery && len(items) >= 100 {
			for _, c := range []Class{ClassA, ClassB, ClassC} {
				if classes[c] == 0 {
					t.Errorf("%s: no items of class %s among %d", ns, c, len(items))
				}
			}
		}
	}
}

func TestGenerateMedium(t *testing.T) {
	const scale = Scale(20)
	cat := Generate(7, scale)
	checkGenerated(t, cat, scale)
	if n := len(cat[Drug]); n < 10000 {
		t.Errorf("drugs at 1/20: %d, want ≥ 10000", n)
	}
	a := mustEncodeAll(t, cat)
	b := mustEncodeAll(t, Generate(7, scale))
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed gave different bytes: %x vs %x", sha256.Sum256(a), sha256.Sum256(b))
	}
	c := mustEncodeAll(t, Generate(8, scale))
	if bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave identical catalogues")
	}
}

func TestGenerateNational(t *testing.T) {
	if !*national {
		t.Skip("national scale: run with -national")
	}
	cat := Generate(1, National)
	checkGenerated(t, cat, National)
	for ns, min := range map[Namespace]int{Diagnosis: 33000, Operation: 13000, ServiceItem: 14000, Drug: 200000, Consumable: 61000} {
		if len(cat[ns]) < min {
			t.Errorf("%s: %d items, want ≥ %d", ns, len(cat[ns]), min)
		}
	}
	if !bytes.Equal(mustEncodeAll(t, cat), mustEncodeAll(t, Generate(1, National))) {
		t.Fatal("same seed gave different national catalogues")
	}
}

func BenchmarkGenerateNational(b *testing.B) {
	for b.Loop() {
		cat := Generate(1, National)
		if len(cat[Drug]) != 200000 {
			b.Fatal("wrong drug count")
		}
	}
}
