package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
)

func goodDrug() Item {
	return Item{
		Code: "XA01ABD075A002010100483", Name: "阿莫西林胶囊",
		Class: ClassB, SelfPayRatio: 1000, PriceCap: fen.MustParse("12.50"),
		MaxAge: 17, MinHospitalLevel: 2,
		ValidFrom: NewDate(2024, 1, 1), ValidTo: NewDate(2026, 12, 31),
		Attrs: map[string]string{"spec": "0.25g*24", "mfr": "长江制药有限公司"},
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		ns     Namespace
		mutate func(*Item)
		field  string // "" means valid
		reason string
	}{
		{"valid", Drug, func(*Item) {}, "", ""},
		{"bad code", Drug, func(it *Item) { it.Code = "XA01" }, FieldCode, "want 23 characters"},
		{"empty name", Drug, func(it *Item) { it.Name = "" }, FieldName, "empty"},
		{"class A with ratio", Drug, func(it *Item) { it.Class = ClassA }, FieldSelfPayRatio, "甲"},
		{"class C full", Drug, func(it *Item) { it.Class, it.SelfPayRatio = ClassC, fen.RatioOne }, "", ""},
		{"class C half", Drug, func(it *Item) { it.Class = ClassC }, FieldSelfPayRatio, "丙"},
		{"bad class", Drug, func(it *Item) { it.Class = 9 }, FieldClass, "unknown class"},
		{"ratio above 1", Drug, func(it *Item) { it.SelfPayRatio = 10001 }, FieldSelfPayRatio, "outside"},
		{"negative cap", Drug, func(it *Item) { it.PriceCap = -1 }, FieldPriceCap, "negative"},
		{"bad gender", Drug, func(it *Item) { it.Gender = 3 }, FieldGender, "unknown gender"},
		{"max below min", Drug, func(it *Item) { it.MinAge = 18 }, FieldMaxAge, "below min_age"},
		{"age 200", Drug, func(it *Item) { it.MaxAge = 200 }, FieldMaxAge, "outside"},
		{"level 4", Drug, func(it *Item) { it.MinHospitalLevel = 4 }, FieldMinHospitalLevel, "outside"},
		{"bad date", Drug, func(it *Item) { it.ValidFrom = 20240230 }, FieldValidFrom, "not a date"},
		{"to before from", Drug, func(it *Item) { it.ValidTo = NewDate(2023, 1, 1) }, FieldValidTo, "before valid_from"},
		{"attr name", Drug, func(it *Item) { it.Attrs["Spec"] = "x" }, "Spec", "[a-z0-9_]"},
		{"attr reserved", Drug, func(it *Item) { it.Attrs["price_cap"] = "x" }, "price_cap", "reserved"},
		{"attr empty", Drug, func(it *Item) { it.Attrs["spec"] = "" }, "spec", "empty"},
		{"diagnosis with class", Diagnosis, func(it *Item) { it.Code, it.SelfPayRatio = "K35.800", 0 }, FieldClass, "no class"},
		{"diagnosis plain", Diagnosis, func(it *Item) {
			*it = Item{Code: "N40.000", Name: "前列腺增生", Gender: GenderMale}
		}, "", ""},
		{"extension", Extension(Drug, "440000"), func(*Item) {}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := goodDrug()
			tt.mutate(&it)
			errs := Check(tt.ns, &it)
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatalf("Check = %v, want none", errs)
				}
				if err := Validate(tt.ns, &it); err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Reason, tt.reason) {
					return
				}
			}
			t.Fatalf("Check = %v, want an error on %s containing %q", errs, tt.field, tt.reason)
		})
	}
}

func TestParsers(t *testing.T) {
	for in, want := range map[string]Class{"": ClassNone, "甲": ClassA, "B": ClassB, "03": ClassC, "乙类": ClassB} {
		if got, err := ParseClass(in); err != nil || got != want {
			t.Errorf("ParseClass(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseClass("丁"); err == nil {
		t.Error("ParseClass(丁) succeeded")
	}
	for in, want := range map[string]Gender{"": GenderAny, "M": GenderMale, "女": GenderFemale, "2": GenderFemale} {
		if got, err := ParseGender(in); err != nil || got != want {
			t.Errorf("ParseGender(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]Date{"": 0, "2026-03-01": 20260301, "20240229": 20240229, "46082": 20260301, "45351": 20240229} {
		got, err := ParseDate(in)
		if err != nil || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != "" && got.String() != "2026-03-01" && got.String() != "2024-02-29" {
			t.Errorf("Date(%d).String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"2023-02-29", "2026/01/01", "1.5"} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) succeeded", in)
		}
	}
}

func TestAsOf(t *testing.T) {
	items := []Item{
		{Code: "a", ValidFrom: NewDate(2024, 1, 1), ValidTo: NewDate(2024, 12, 31)},
		{Code: "b", ValidFrom: NewDate(2025, 1, 1)},
		{Code: "c"},
	}
	tests := []struct {
		d    Date
		want string
	}{
		{NewDate(2023, 12, 31), "c"},
		{NewDate(2024, 1, 1), "ac"},
		{NewDate(2024, 12, 31), "ac"},
		{NewDate(2025, 1, 1), "bc"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := ""
			for _, it := range AsOf(items, tt.d) {
				got += it.Code
			}
			if got != tt.want {
				t.Fatalf("AsOf(%s) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestItemJSON(t *testing.T) {
	it := goodDrug()
	it.Gender = GenderFemale
	b, err := json.Marshal(&it)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"class":"B"`, `"self_pay_ratio":0.1000`, `"price_cap":12.50`, `"gender":"F"`, `"valid_from":"2024-01-01"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !Equal(&back, &it) {
		t.Fatalf("JSON round trip: %+v, want %+v", back, it)
	}
	b, _ = json.Marshal(&Item{Code: "M00001", Name: "高血压"})
	if string(b) != `{"code":"M00001","name":"高血压"}` {
		t.Fatalf("minimal item JSON = %s", b)
	}
}

// TestDateYearsAndDays: whole years of age (birthday not yet reached, on
// the day, 29 February) and days between dates across months, a leap day
// and backwards.
func TestDateYearsAndDays(t *testing.T) {
	for _, c := range []struct {
		from, to    Date
		years, days int
	}{
		{NewDate(1973, 3, 21), NewDate(2026, 2, 1), 52, 19310},
		{NewDate(1973, 3, 21), NewDate(2026, 3, 21), 53, 19358},
		{NewDate(2024, 2, 29), NewDate(2025, 2, 28), 0, 365},
		{NewDate(2024, 2, 29), NewDate(2025, 3, 1), 1, 366},
		{NewDate(2026, 2, 1), NewDate(2026, 2, 8), 0, 7},
		{NewDate(2026, 2, 8), NewDate(2026, 2, 1), -1, -7},
	} {
		if y := c.from.YearsTo(c.to); y != c.years {
			t.Errorf("%s to %s: %d years, want %d", c.from, c.to, y, c.years)
		}
		if d := c.from.DaysTo(c.to); d != c.days {
			t.Errorf("%s to %s: %d days, want %d", c.from, c.to, d, c.days)
		}
	}
}
