package supervision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

func mustEngine(tb testing.TB) *Engine {
	tb.Helper()
	f, err := os.Open("testdata/rules.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	e, err := ParseRules(f)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

const day = catalog.Date(20261110)

// line builds a fee line on date d.
func line(sn, code string, d catalog.Date, qty, price string) Line {
	q, p := fen.MustParseQty(qty), fen.MustParse(price)
	return Line{FeedetlSn: sn, Code: code, Date: d, Qty: q, Price: p, Amount: p.MulQty(q)}
}

// baseBill is a clean outpatient bill of a 66-year-old man with diabetes
// at a third-level hospital.
func baseBill() Bill {
	return Bill{
		SetlID: "S1", MdtrtID: "M1", PsnNo: "P1", Fixmedins: "H44010600001", MedinsLv: 3,
		Gender: catalog.GenderMale, Birth: 19600510, SetlDate: day, Diagnoses: []string{"E11.900"},
		Lines: []Line{
			line("1", "250403002000000", day, "1", "35.00"),
			line("2", "XA10BAA001A001010100001", day, "2", "12.30"),
		},
		Medfee: 6000, FundPay: 4800,
	}
}

func TestCheckRules(t *testing.T) {
	e := mustEngine(t)
	hist := func(sn, hosp string, dscg catalog.Date, diag string) []Episode {
		return []Episode{{SetlID: sn, Fixmedins: hosp, AdmDate: dscg - 5, DscgDate: dscg, MainDiagnosis: diag}}
	}
	inpatient := func(b *Bill) {
		b.Inpatient, b.AdmDate, b.DscgDate, b.Diagnoses, b.FundPay = true, day, day+5, []string{"I21.000", "E11.900"}, 2560000
	}
	tests := []struct {
		name string
		edit func(*Bill)
		hist []Episode
		want []string // "rule:amount"
	}{
		{"clean bill", func(*Bill) {}, nil, nil},
		{"gender fires", func(b *Bill) { b.Lines = append(b.Lines, line("3", "311201001000000", day, "1", "50.00")) }, nil, []string{"R001:50.00"}},
		{"gender of the right sex", func(b *Bill) {
			b.Gender = catalog.GenderFemale
			b.Lines = []Line{line("3", "311201001000000", day, "1", "50.00")}
		}, nil, nil},
		{"child drug for an adult", func(b *Bill) { b.Lines = append(b.Lines, line("3", "XJ01CAA040E001010100001", day, "2", "15.00")) }, nil, []string{"R002:30.00"}},
		{"child drug for a child", func(b *Bill) {
			b.Birth = 20150101
			b.Lines = append(b.Lines, line("3", "XJ01CAA040E001010100001", day, "2", "15.00"))
		}, nil, nil},
		{"minimum age not reached", func(b *Bill) {
			b.Birth = 19761111 // 49 on 2026-11-10, 50 the next day
			b.Lines = append(b.Lines, line("3", "250310025000000", day, "1", "80.00"))
		}, nil, []string{"R002:80.00"}},
		{"minimum age reached on the birthday", func(b *Bill) {
			b.Birth = 19761110
			b.Lines = append(b.Lines, line("3", "250310025000000", day, "1", "80.00"))
		}, nil, nil},
		{"level too low", func(b *Bill) {
			b.MedinsLv = 2
			b.Lines = append(b.Lines, line("3", "330100015000000", day, "1", "900.00"))
		}, nil, []string{"R003:900.00"}},
		{"level high enough", func(b *Bill) { b.Lines = append(b.Lines, line("3", "330100015000000", day, "1", "900.00")) }, nil, nil},
		{"quantity per day exceeded", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "XN02BEA001A001010100001", day, "3", "2.50"), line("4", "XN02BEA001A001010100001", day, "2", "2.50"))
		}, nil, []string{"R004:2.50"}},
		{"quantity spread over days", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "XN02BEA001A001010100001", day, "3", "2.50"), line("4", "XN02BEA001A001010100001", day+1, "2", "2.50"))
		}, nil, nil},
		{"bed charged twice a day", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "120100001000000", day, "1", "40.00"), line("4", "120100001000000", day, "1", "40.00"))
		}, nil, []string{"R005:40.00"}},
		{"bed on two days", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "120100001000000", day, "1", "40.00"), line("4", "120100001000000", day+1, "1", "40.00"))
		}, nil, nil},
		{"consultation twice a visit", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "110200001000000", day, "1", "25.00"), line("4", "110200001000000", day+1, "1", "25.00"))
		}, nil, []string{"R005:25.00"}},
		{"item included in another", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "330803007000000", day, "1", "300.00"), line("4", "120400001000000", day, "1", "8.00"))
		}, nil, []string{"R005:8.00"}},
		{"included item on another day", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "330803007000000", day, "1", "300.00"), line("4", "120400001000000", day+1, "1", "8.00"))
		}, nil, nil},
		{"mutually exclusive items", func(b *Bill) {
			b.Lines = append(b.Lines, line("3", "250102035000000", day, "1", "20.00"), line("4", "250102001000000", day, "1", "6.00"))
		}, nil, []string{"R006:6.00"}},
		{"one of an exclusive pair", func(b *Bill) { b.Lines = append(b.Lines, line("4", "250102001000000", day, "1", "6.00")) }, nil, nil},
		{"re-admission within 15 days", inpatient, hist("S0", "H44010600001", 20261101, "I21.900"), []string{"R007:25600.00"}},
		{"re-admission after 20 days", inpatient, hist("S0", "H44010600001", 20261021, "I21.900"), nil},
		{"re-admission with another diagnosis", inpatient, hist("S0", "H44010600001", 20261101, "J18.900"), nil},
		{"re-admission at another hospital", inpatient, hist("S0", "H44010600002", 20261101, "I21.900"), nil},
		{"price above cap", func(b *Bill) { b.Lines = append(b.Lines, line("3", "C0101010010000000000001", day, "2", "150.00")) }, nil, []string{"R008:60.00"}},
		{"price at cap", func(b *Bill) { b.Lines = append(b.Lines, line("3", "C0101010010000000000001", day, "2", "120.00")) }, nil, nil},
		{"drug without indication", func(b *Bill) { b.Diagnoses = []string{"I10.X00"} }, nil, []string{"R009:24.60"}},
		{"indication among other diagnoses", func(b *Bill) { b.Diagnoses = []string{"I10.X00", "e11.900"} }, nil, nil},
		{"fees after death", func(b *Bill) {
			b.DeathDate = day - 2
			b.Lines[1].Date = day - 3
		}, nil, []string{"R010:35.00"}},
		{"settled after death", func(b *Bill) {
			b.DeathDate = day - 1
			b.Lines[0].Date, b.Lines[1].Date = day-2, day-2
		}, nil, []string{"R010:60.00"}},
		{"death after the bill", func(b *Bill) { b.DeathDate = day + 20 }, nil, nil},
		{"outside insured period", func(b *Bill) { b.InsuredFrom, b.InsuredTo = 20260101, 20261031 }, nil, []string{"R011:59.60"}},
		{"inside insured period", func(b *Bill) { b.InsuredFrom, b.InsuredTo = 20260101, 20261231 }, nil, nil},
		{"several rules at once", func(b *Bill) {
			b.MedinsLv = 1
			b.Diagnoses = []string{"J18.900"}
			b.Lines = append(b.Lines, line("3", "330100015000000", day, "1", "900.00"), line("4", "C0101010010000000000001", day, "1", "130.00"))
		}, nil, []string{"R003:900.00", "R008:10.00", "R009:24.60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := baseBill()
			tt.edit(&b)
			fs := e.Check(&b, tt.hist)
			var got []string
			ids := map[string]bool{}
			for _, f := range fs {
				got = append(got, f.RuleID+":"+f.Amount.String())
				if ids[f.ID] || !strings.HasPrefix(f.ID, f.RuleID+"/S1/") || len(f.Evidence) == 0 || f.Content == "" {
					t.Errorf("finding %+v: bad id, evidence or content", f)
				}
				ids[f.ID] = true
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("findings %v, want %v (%+v)", got, tt.want, fs)
			}
		})
	}
}

func TestCheckDetails(t *testing.T) {
	e := mustEngine(t)
	b := baseBill()
	b.Lines = append(b.Lines, line("3", "250102035000000", day, "1", "20.00"), line("4", "250102001000000", day, "1", "6.00"))
	fs := e.Check(&b, nil)
	if len(fs) != 1 {
		t.Fatalf("%+v", fs)
	}
	f := fs[0]
	want := []Detail{{"4", "250102001000000", "1", 600}, {"3", "250102035000000", "2", 0}}
	if !slices.Equal(f.Details, want) || f.Severity != SevClear || f.Kind != KindExclusive {
		t.Fatalf("finding %+v", f)
	}
	// The 3102 form round-trips through JSON with the NHSA field names.
	raw, _ := json.Marshal(f)
	for _, k := range []string{`"rule_id"`, `"vola_cont"`, `"sev_deg":"1"`, `"vola_amt":6.00`, `"judge_result_detail_dtos"`, `"vola_item_type":"2"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, raw)
		}
	}
}

func TestFromCatalog(t *testing.T) {
	items := []catalog.Item{
		{Code: "250403002000000", Name: "前列腺特异性抗原测定", Gender: catalog.GenderMale},
		{Code: "C0101010010000000000001", Name: "一次性耗材", PriceCap: 12000, MinHospitalLevel: 2},
		{Code: "XJ01CAA040E001010100001", Name: "儿童用药", MaxAge: 17},
		{Code: "OLD", Name: "停用项目", Gender: catalog.GenderFemale, ValidTo: 20250101},
	}
	rules := FromCatalog(items, day, "CAT")
	e, err := NewEngine(&Library{Version: "catalog", Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 4 {
		t.Fatalf("rules %+v", rules)
	}
	b := baseBill()
	b.Gender, b.MedinsLv = catalog.GenderFemale, 1
	b.Lines = []Line{line("1", "250403002000000", day, "1", "35.00"), line("2", "C0101010010000000000001", day, "1", "125.00"),
		line("3", "XJ01CAA040E001010100001", day, "1", "3.00"), line("4", "OLD", day, "1", "1.00")}
	var got []string
	for _, f := range e.Check(&b, nil) {
		got = append(got, f.RuleID+":"+f.Amount.String())
	}
	slices.Sort(got)
	want := []string{"CAT-A:3.00", "CAT-G:35.00", "CAT-L:125.00", "CAT-P:5.00"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestNewEngineRejects(t *testing.T) {
	tests := []Rule{
		{ID: "", Kind: KindAfterDeath, Severity: SevClear},
		{ID: "x", Kind: "nonsense", Severity: SevClear},
		{ID: "x", Kind: KindAfterDeath, Severity: "3"},
		{ID: "x", Kind: KindGender, Severity: SevClear, Items: []ItemLimit{{Code: "a"}}},
		{ID: "x", Kind: KindAge, Severity: SevClear, Items: []ItemLimit{{Code: "a", MinAge: 18, MaxAge: 10}}},
		{ID: "x", Kind: KindHospitalLevel, Severity: SevClear, Items: []ItemLimit{{Code: "a", MinLevel: 4}}},
		{ID: "x", Kind: KindQuantity, Severity: SevClear, Items: []ItemLimit{{Code: "a"}}},
		{ID: "x", Kind: KindPriceCap, Severity: SevClear, Items: []ItemLimit{{Code: "a"}}},
		{ID: "x", Kind: KindDiagnosisDrug, Severity: SevClear, Items: []ItemLimit{{Code: "a"}}},
		{ID: "x", Kind: KindExclusive, Severity: SevClear, Pairs: [][2]string{{"a", "a"}}},
		{ID: "x", Kind: KindReadmission, Severity: SevClear},
		{ID: "x", Kind: KindReadmission, Severity: SevClear, Days: 15, Items: []ItemLimit{{Code: "a"}}},
		{ID: "x", Kind: KindPriceCap, Severity: SevClear},
	}
	for i, r := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := NewEngine(&Library{Version: "v", Rules: []Rule{r}}); err == nil {
				t.Fatalf("accepted %+v", r)
			}
		})
	}
	if _, err := NewEngine(&Library{Version: "v", Rules: []Rule{{ID: "a", Kind: KindAfterDeath, Severity: SevClear}, {ID: "a", Kind: KindAfterDeath, Severity: SevClear}}}); err == nil {
		t.Fatal("duplicate id accepted")
	}
}
