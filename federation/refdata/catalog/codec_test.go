package catalog

import (
	"bytes"
	"errors"
	"testing"
)

func mediumDrugs(tb testing.TB) []Item {
	tb.Helper()
	return Generate(3, 50)[Drug]
}

func TestEncodeRoundTrip(t *testing.T) {
	cat := Generate(5, 100)
	for _, ns := range Namespaces() {
		t.Run(string(ns), func(t *testing.T) {
			cs := Adds(cat[ns])
			cs[0].Op = OpRetire
			if len(cs) > 1 {
				cs[1].Op = OpChange
			}
			b, err := EncodeChanges(cs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeChanges(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(cs) {
				t.Fatalf("decoded %d changes, want %d", len(got), len(cs))
			}
			for i := range got {
				if got[i].Op != cs[i].Op || !Equal(&got[i].Item, &cs[i].Item) {
					t.Fatalf("change %d: got %+v, want %+v", i, got[i], cs[i])
				}
			}
			again, _ := EncodeChanges(got)
			if !bytes.Equal(again, b) {
				t.Fatal("re-encoding the decoded batch changed the bytes")
			}
			one := AppendItem(nil, &cs[0].Item)
			it, err := DecodeItem(one)
			if err != nil || !Equal(&it, &cs[0].Item) {
				t.Fatalf("DecodeItem = %+v, %v", it, err)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	items := mediumDrugs(t)[:3]
	unsorted := []Change{{OpAdd, items[1]}, {OpAdd, items[0]}}
	if _, err := EncodeChanges(unsorted); !errors.Is(err, ErrNotCanonical) {
		t.Fatalf("unsorted: %v, want ErrNotCanonical", err)
	}
	dup := []Change{{OpAdd, items[0]}, {OpChange, items[0]}}
	if _, err := EncodeChanges(dup); !errors.Is(err, ErrNotCanonical) {
		t.Fatalf("duplicate: %v, want ErrNotCanonical", err)
	}
	if _, err := EncodeChanges([]Change{{Op: 9, Item: items[0]}}); err == nil {
		t.Fatal("op 9 encoded")
	}
}

func TestDecodeRejects(t *testing.T) {
	items := mediumDrugs(t)[:2]
	good, err := EncodeChanges(Adds(items))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(good); n++ {
			if _, err := DecodeChanges(good[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes decoded", n, len(good))
			}
		}
	})
	t.Run("trailing byte", func(t *testing.T) {
		if _, err := DecodeChanges(append(append([]byte{}, good...), 0)); !errors.Is(err, ErrNotCanonical) {
			t.Fatalf("got %v, want ErrNotCanonical", err)
		}
	})
	t.Run("over-long count", func(t *testing.T) {
		b := append([]byte(magic), 0x82, 0x00) // 2 written in two bytes
		b = append(b, good[len(magic)+1:]...)
		if _, err := DecodeChanges(b); !errors.Is(err, ErrNotCanonical) {
			t.Fatalf("got %v, want ErrNotCanonical", err)
		}
	})
	t.Run("swapped order", func(t *testing.T) {
		a := AppendItem([]byte{byte(OpAdd)}, &items[0])
		c := AppendItem([]byte{byte(OpAdd)}, &items[1])
		b := append([]byte(magic), 2)
		b = append(append(b, c...), a...)
		if _, err := DecodeChanges(b); !errors.Is(err, ErrNotCanonical) {
			t.Fatalf("got %v, want ErrNotCanonical", err)
		}
	})
	t.Run("bad header", func(t *testing.T) {
		b := append([]byte{}, good...)
		b[0] = 'Z'
		if _, err := DecodeChanges(b); err == nil {
			t.Fatal("decoded with bad header")
		}
	})
	t.Run("bad op", func(t *testing.T) {
		b := append([]byte{}, good...)
		b[len(magic)+1] = 7
		if _, err := DecodeChanges(b); err == nil {
			t.Fatal("decoded op 7")
		}
	})
}

func FuzzDecodeChanges(f *testing.F) {
	items := Generate(1, 2000)[Consumable]
	good, _ := EncodeChanges(Adds(items))
	f.Add(good)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := DecodeChanges(b)
		if err != nil {
			return
		}
		again, err := EncodeChanges(cs)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decoded input is not canonical")
		}
	})
}

func TestChunk(t *testing.T) {
	cs := Adds(mediumDrugs(t))
	whole, _ := EncodeChanges(cs)
	for _, max := range []int{400, 4096, 64 << 10, len(whole), len(whole) * 2} {
		chunks, err := Chunk(cs, max)
		if err != nil {
			t.Fatalf("max %d: %v", max, err)
		}
		n := 0
		for i, c := range chunks {
			b, err := EncodeChanges(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > max {
				t.Fatalf("max %d: chunk %d encodes to %d bytes", max, i, len(b))
			}
			if len(c) == 0 {
				t.Fatalf("max %d: empty chunk %d", max, i)
			}
			for j := range c {
				if c[j].Item.Code != cs[n].Item.Code {
					t.Fatalf("max %d: chunk %d item %d is %q, want %q", max, i, j, c[j].Item.Code, cs[n].Item.Code)
				}
				n++
			}
		}
		if n != len(cs) {
			t.Fatalf("max %d: chunks hold %d changes, want %d", max, n, len(cs))
		}
		if max >= len(whole) && len(chunks) != 1 {
			t.Fatalf("max %d ≥ whole batch %d: %d chunks", max, len(whole), len(chunks))
		}
	}
	if _, err := Chunk(cs, 40); err == nil {
		t.Fatal("Chunk with a limit below one item succeeded")
	}
}

func BenchmarkEncodeDrugsNational(b *testing.B) {
	cs := Adds(Generate(1, National)[Drug])
	var n int
	b.ResetTimer()
	for b.Loop() {
		buf, err := EncodeChanges(cs)
		if err != nil {
			b.Fatal(err)
		}
		n = len(buf)
	}
	b.ReportMetric(float64(n), "bytes")
}

func BenchmarkDecodeDrugsNational(b *testing.B) {
	buf, err := EncodeChanges(Adds(Generate(1, National)[Drug]))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeChanges(buf); err != nil {
			b.Fatal(err)
		}
	}
}
