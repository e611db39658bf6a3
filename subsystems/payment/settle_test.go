package payment

import (
	"errors"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
)

func w(s string) Weight {
	v, err := ParseWeight(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestSettleDRG(t *testing.T) {
	cases := []Scored{
		{SetlID: "c1", Fixmedins: "H1", Group: "FM15", Weight: w("2.5"), Medfee: 3000000, FundItem: 2400000},
		{SetlID: "c2", Fixmedins: "H1", Group: "FR15", Weight: w("0.9"), Medfee: 800000, FundItem: 640000},
		{SetlID: "c3", Fixmedins: "H2", Group: "FR11", Weight: w("1.6"), Medfee: 1500000, FundItem: 1200000},
		{SetlID: "c4", Fixmedins: "H2", Group: Ungroupable, Weight: 0, Medfee: 500000, FundItem: 400000},
		{SetlID: "c5", Fixmedins: "H2", Group: "X", Weight: w("1"), Medfee: 300000, FundItem: 240000},
		{SetlID: "c6", Fixmedins: "H1", Group: "FR15", Weight: w("0.9"), Medfee: 3500000, FundItem: 2800000},
	}
	p := PeriodParams{Period: "2026-11", Method: DRG, Budget: 8280000, HighFactor: w("3"), LowFactor: w("0.4")}
	r, err := Settle(p, cases)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rate != w("1200000") || r.TotalWeight != w("6.9") || r.FundPay != 8380000 {
		t.Fatalf("rate %s total %s fund %d", r.Rate, r.TotalWeight, r.FundPay)
	}
	want := []struct {
		std, fund fen.Fen
		outlier   string
	}{
		{3000000, 2400000, ""}, {1080000, 920000, ""}, {1920000, 1620000, ""},
		{0, 400000, OutlierGroup}, {1200000, 240000, OutlierLow}, {1080000, 2800000, OutlierHigh},
	}
	for i, c := range r.Cases {
		t.Run(c.SetlID, func(t *testing.T) {
			if c.Standard != want[i].std || c.FundPay != want[i].fund || c.Outlier != want[i].outlier {
				t.Fatalf("%+v, want %+v", c, want[i])
			}
		})
	}
	wantH := []HospitalResult{
		{Period: "2026-11", Method: DRG, Fixmedins: "H1", Cases: 3, Outliers: 1, Weight: w("4.3"), Medfee: 7300000, FundItem: 5840000, Standard: 5160000, FundPay: 6120000, Diff: 280000, Balance: 280000},
		{Period: "2026-11", Method: DRG, Fixmedins: "H2", Cases: 3, Outliers: 2, Weight: w("2.6"), Medfee: 2300000, FundItem: 1840000, Standard: 3120000, FundPay: 2260000, Diff: 420000, Balance: 420000},
	}
	if len(r.Hospitals) != 2 || r.Hospitals[0] != wantH[0] || r.Hospitals[1] != wantH[1] {
		t.Fatalf("hospitals %+v\nwant %+v", r.Hospitals, wantH)
	}
}

func TestSettleDIPPointValue(t *testing.T) {
	s := mustDIP(t)
	in := []Case{
		{SetlID: "d1", Fixmedins: "H1", MedinsLv: 3, MainDiagnosis: "I21.000", MainProcedure: "36.0601", Medfee: 5000000, FundPay: 4000000},
		{SetlID: "d2", Fixmedins: "H2", MedinsLv: 1, MainDiagnosis: "J18.900", Medfee: 700000, FundPay: 560000},
		{SetlID: "d3", Fixmedins: "H1", MedinsLv: 3, MainDiagnosis: "I21.100", MainProcedure: "36.1100", Medfee: 4000000, FundPay: 3200000},
	}
	var cases []Scored
	for _, c := range in {
		sc := s.Score(&c)
		cases = append(cases, Scored{SetlID: c.SetlID, Fixmedins: c.Fixmedins, Group: sc.Group, Weight: sc.Points, Medfee: c.Medfee, FundItem: c.FundPay})
	}
	r, err := Settle(PeriodParams{Period: "2026-11", Method: DIP, Budget: fen.Yuan(1000000)}, cases)
	if err != nil {
		t.Fatal(err)
	}
	// 100000000 fen ÷ 6277.4250 points = 15930.0987 fen per point.
	if r.Rate.String() != "15930.0987" || r.TotalWeight.String() != "6277.4250" {
		t.Fatalf("point value %s total %s", r.Rate, r.TotalWeight)
	}
	var sum fen.Fen
	wantStd := []fen.Fen{42214762, 8401932, 49383306}
	wantFund := []fen.Fen{41214762, 8261932, 48583306}
	for i, c := range r.Cases {
		if c.Standard != wantStd[i] || c.FundPay != wantFund[i] {
			t.Fatalf("case %s: %+v", c.SetlID, c)
		}
		sum += c.Standard
	}
	if sum != fen.Yuan(1000000) {
		t.Fatalf("case values sum to %d, not the budget", sum)
	}
	if h := r.Hospitals[0]; h.Fixmedins != "H1" || h.Standard != 91598068 || h.FundPay != 89798068 || h.Diff != 82598068 || h.Weight.String() != "5750.0000" {
		t.Fatalf("H1 %+v", h)
	}
	if h := r.Hospitals[1]; h.Fixmedins != "H2" || h.FundPay != 8261932 || h.Diff != 7701932 {
		t.Fatalf("H2 %+v", h)
	}
}

func TestSettleRejects(t *testing.T) {
	one := []Scored{{SetlID: "a", Fixmedins: "H", Group: "G", Weight: w("1"), Medfee: 100}}
	tests := []struct {
		name  string
		p     PeriodParams
		cases []Scored
		want  error
	}{
		{"no rate", PeriodParams{Method: DRG}, one, ErrNoRate},
		{"budget without weight", PeriodParams{Method: DIP, Budget: 100}, []Scored{{SetlID: "a", Medfee: 1}}, ErrEmpty},
		{"bad method", PeriodParams{Method: "FFS", Rate: 1}, one, nil},
		{"negative weight", PeriodParams{Method: DRG, Rate: 1}, []Scored{{SetlID: "a", Weight: -1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Settle(tt.p, tt.cases)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	r, err := Settle(PeriodParams{Method: DRG, Rate: w("1000")}, one)
	if err != nil || r.Cases[0].Standard != 1000 {
		t.Fatalf("fixed rate: %v %+v", err, r)
	}
}

func TestMulDiv(t *testing.T) {
	tests := []struct {
		a, b, c, want int64
		ok            bool
	}{
		{5, 1, 2, 3, true}, {3, 1, 2, 2, true}, {4, 1, 3, 1, true}, {5, 1, 3, 2, true},
		{1 << 62, 4, 8, 1 << 61, true}, {1 << 62, 1 << 62, 1, 0, false}, {-1, 1, 1, 0, false}, {1, 1, 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := mulDiv(tt.a, tt.b, tt.c)
		if got != tt.want || ok != tt.ok {
			t.Errorf("mulDiv(%d,%d,%d) = %d,%v want %d,%v", tt.a, tt.b, tt.c, got, ok, tt.want, tt.ok)
		}
	}
}
