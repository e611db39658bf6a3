package catalog

import (
	"strings"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
)

func TestDiff(t *testing.T) {
	a := Item{Code: "M00001", Name: "高血压"}
	b := Item{Code: "M00002", Name: "糖尿病"}
	b2 := Item{Code: "M00002", Name: "糖尿病(并发症)"}
	c := Item{Code: "M00003", Name: "冠心病"}
	aAttr := Item{Code: "M00001", Name: "高血压", Attrs: map[string]string{}}
	tests := []struct {
		name     string
		old, new []Item
		want     []Change
	}{
		{"empty", nil, nil, nil},
		{"all new", nil, []Item{b, a}, []Change{{OpAdd, a}, {OpAdd, b}}},
		{"all retired", []Item{a, b}, nil, []Change{{OpRetire, a}, {OpRetire, b}}},
		{"mixed", []Item{c, a, b}, []Item{b2, c, Item{Code: "M00004", Name: "癫痫"}}, []Change{
			{OpRetire, a}, {OpChange, b2}, {OpAdd, Item{Code: "M00004", Name: "癫痫"}},
		}},
		{"nil and empty attrs are equal", []Item{a}, []Item{aAttr}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.old, tt.new)
			if len(got) != len(tt.want) {
				t.Fatalf("Diff = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Op != tt.want[i].Op || !Equal(&got[i].Item, &tt.want[i].Item) {
					t.Fatalf("change %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDiffApplyGenerated(t *testing.T) {
	old := Generate(11, 40)[Drug]
	// The new version: drop every 7th item, reprice every 5th, add a few.
	var cur []Item
	for i, it := range old {
		if i%7 == 3 {
			continue
		}
		if i%5 == 0 {
			it.PriceCap += fen.Yuan(1)
			it.Attrs = map[string]string{"spec": "changed"}
		}
		cur = append(cur, it)
	}
	cur = append(cur, Generate(12, 400)[Drug]...)
	SortItems(cur)
	cs := Diff(old, cur)
	counts := map[Op]int{}
	for _, c := range cs {
		counts[c.Op]++
	}
	if counts[OpAdd] == 0 || counts[OpChange] == 0 || counts[OpRetire] == 0 {
		t.Fatalf("diff op counts %v, want all three", counts)
	}
	if _, err := EncodeChanges(cs); err != nil {
		t.Fatalf("Diff output is not encodable: %v", err)
	}
	got, err := Apply(old, cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cur) {
		t.Fatalf("Apply gave %d items, want %d", len(got), len(cur))
	}
	for i := range got {
		if !Equal(&got[i], &cur[i]) {
			t.Fatalf("item %d: %+v, want %+v", i, got[i], cur[i])
		}
	}
	if d := Diff(got, cur); len(d) != 0 {
		t.Fatalf("Diff after Apply has %d changes", len(d))
	}
}

func TestApplyErrors(t *testing.T) {
	a := Item{Code: "M00001", Name: "高血压"}
	tests := []struct {
		name string
		cs   []Change
	}{
		{"add existing", []Change{{OpAdd, a}}},
		{"change missing", []Change{{OpChange, Item{Code: "M00009"}}}},
		{"retire missing", []Change{{OpRetire, Item{Code: "M00009"}}}},
		{"retire twice", []Change{{OpRetire, a}, {OpRetire, a}}},
		{"bad op", []Change{{0, a}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply([]Item{a}, tt.cs); err == nil {
				t.Fatal("Apply succeeded")
			}
		})
	}
	got, err := Apply([]Item{a}, []Change{{OpRetire, a}, {OpAdd, Item{Code: "M00001", Name: "新"}}})
	if err != nil || len(got) != 1 || got[0].Name != "新" {
		t.Fatalf("retire then add: %+v, %v", got, err)
	}
}

func TestCheckBatch(t *testing.T) {
	items := Generate(2, 1000)[Drug][:3]
	bad := items[2]
	bad.Name = ""
	tests := []struct {
		name string
		ns   Namespace
		cs   []Change
		want string // "" means valid
	}{
		{"valid", Drug, []Change{{OpAdd, items[0]}, {OpChange, items[1]}, {OpRetire, Item{Code: items[2].Code}}}, ""},
		{"unsorted", Drug, []Change{{OpAdd, items[1]}, {OpAdd, items[0]}}, "after"},
		{"bad item", Drug, []Change{{OpAdd, items[0]}, {OpChange, bad}}, "change 1 (change"},
		{"bad retire code", Drug, []Change{{OpRetire, Item{Code: "X1"}}}, "retire"},
		{"bad op", Drug, []Change{{0, items[0]}}, "unknown op"},
		{"wrong namespace", Consumable, []Change{{OpAdd, items[0]}}, "consumable code"},
		{"unknown namespace", "nosuch", nil, "unknown catalogue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBatch(tt.ns, tt.cs)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckBatch = %v, want error containing %q", err, tt.want)
			}
		})
	}
}
