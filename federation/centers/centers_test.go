package centers

import (
	"regexp"
	"testing"
)

func TestAllShape(t *testing.T) {
	all := All()
	if len(all) != 33 {
		t.Fatalf("len(All()) = %d, want 33", len(all))
	}
	if !all[0].National || all[0].Admdvs != "100000" {
		t.Fatalf("first center = %+v, want national 100000", all[0])
	}
	six := regexp.MustCompile(`^[1-9]\d0000$`)
	seenCode := map[string]bool{}
	seenPinyin := map[string]bool{}
	regionCount := map[string]int{}
	for i, c := range all {
		if !six.MatchString(c.Admdvs) {
			t.Errorf("%d: admdvs %q not province-level shape", i, c.Admdvs)
		}
		if seenCode[c.Admdvs] || seenPinyin[c.Pinyin] {
			t.Errorf("%d: duplicate %q / %q", i, c.Admdvs, c.Pinyin)
		}
		seenCode[c.Admdvs], seenPinyin[c.Pinyin] = true, true
		if c.Name == "" || c.Pinyin == "" {
			t.Errorf("%d: empty name or pinyin: %+v", i, c)
		}
		if i > 0 && c.National {
			t.Errorf("%d: second national center %+v", i, c)
		}
		if i > 1 && all[i-1].Admdvs >= c.Admdvs {
			t.Errorf("%d: not sorted: %s then %s", i, all[i-1].Admdvs, c.Admdvs)
		}
		if err := ValidAdmdvs(c.Admdvs); err != nil {
			t.Errorf("%d: ValidAdmdvs: %v", i, err)
		}
		regionCount[c.Region]++
	}
	want := map[string]int{RegionNational: 1, RegionNorth: 5, RegionNortheast: 3, RegionEast: 7, RegionSouth: 6, RegionSouthwest: 5, RegionNorthwest: 6}
	for r, n := range want {
		if regionCount[r] != n {
			t.Errorf("region %s: %d centers, want %d", r, regionCount[r], n)
		}
	}
	if len(regionCount) != len(want) {
		t.Errorf("regions %v, want %v", regionCount, want)
	}
	if got := len(Provinces()); got != 32 {
		t.Errorf("len(Provinces()) = %d, want 32", got)
	}
	if got := len(Regions()); got != 6 {
		t.Errorf("len(Regions()) = %d, want 6", got)
	}
}

func TestAllReturnsCopy(t *testing.T) {
	a := All()
	a[1].Name = "changed"
	if c, _ := Lookup("110000"); c.Name != "北京市" {
		t.Fatalf("All() exposed the table: Lookup = %+v", c)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		code, name, region string
		ok                 bool
	}{
		{"100000", "国家医疗保障局", RegionNational, true},
		{"110000", "北京市", RegionNorth, true},
		{"440000", "广东省", RegionSouth, true},
		{"610000", "陕西省", RegionNorthwest, true},
		{"140000", "山西省", RegionNorth, true},
		{"660000", "新疆生产建设兵团", RegionNorthwest, true},
		{"440300", "", "", false},
		{"710000", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, ok := Lookup(tt.code)
			if ok != tt.ok || c.Name != tt.name || c.Region != tt.region {
				t.Fatalf("Lookup(%q) = %+v, %v; want name %q region %q ok %v", tt.code, c, ok, tt.name, tt.region, tt.ok)
			}
		})
	}
}

func TestValidAdmdvs(t *testing.T) {
	tests := []struct {
		code string
		ok   bool
	}{
		{"100000", true},
		{"110000", true},
		{"440300", true},  // Shenzhen
		{"430281", true},  // Liling, county under Zhuzhou
		{"659001", true},  // Shihezi, under Xinjiang
		{"469001", true},  // Wuzhishan, county directly under Hainan
		{"660000", true},  // XPCC
		{"660100", true},  // XPCC division (assumed shape)
		{"440001", false}, // county digits without city
		{"100100", false}, // national has no subdivisions
		{"710000", false}, // Taiwan is not a federation center
		{"990000", false},
		{"44030", false},
		{"4403000", false},
		{"44030a", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := ValidAdmdvs(tt.code)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidAdmdvs(%q) = %v, want ok=%v", tt.code, err, tt.ok)
			}
		})
	}
}

func TestProvinceCity(t *testing.T) {
	tests := []struct{ in, prov, city string }{
		{"440305", "440000", "440300"},
		{"110000", "110000", "110000"},
		{"659001", "650000", "659000"},
		{"4", "", ""},
		{"441", "440000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if p := Province(tt.in); p != tt.prov {
				t.Errorf("Province(%q) = %q, want %q", tt.in, p, tt.prov)
			}
			if c := City(tt.in); c != tt.city {
				t.Errorf("City(%q) = %q, want %q", tt.in, c, tt.city)
			}
		})
	}
}

func TestNewTable(t *testing.T) {
	tb, err := NewTable("670000")
	if err != nil {
		t.Fatal(err)
	}
	all := tb.All()
	if len(all) != 33 || all[len(all)-1].Admdvs != "670000" || all[len(all)-1].Pinyin != "Bingtuan" {
		t.Fatalf("last center %+v, want the XPCC at 670000", all[len(all)-1])
	}
	if _, ok := tb.Lookup("660000"); ok {
		t.Fatal("660000 still known")
	}
	if err := tb.ValidAdmdvs("670100"); err != nil {
		t.Fatalf("ValidAdmdvs(670100) = %v", err)
	}
	if err := tb.ValidAdmdvs("660100"); err == nil {
		t.Fatal("660100 valid in a table without 660000")
	}
	if _, ok := Lookup("660000"); !ok {
		t.Fatal("NewTable changed the default table")
	}
	if len(tb.Provinces()) != 32 {
		t.Fatalf("%d provinces", len(tb.Provinces()))
	}
	tb2, err := NewTable("190000")
	if err != nil {
		t.Fatal(err)
	}
	if a := tb2.All(); a[0].Admdvs != "100000" || a[5].Admdvs != "150000" || a[6].Admdvs != "190000" || a[7].Admdvs != "210000" {
		t.Fatalf("order %v: national must stay first, then by code", a[:8])
	}
	for _, bad := range []string{"440000", "100000", "66000", "661000", "a60000", "000000"} {
		if _, err := NewTable(bad); err == nil {
			t.Errorf("NewTable(%q) succeeded", bad)
		}
	}
	if _, err := NewTable(XPCCAdmdvs); err != nil {
		t.Errorf("NewTable(default) = %v", err)
	}
}
