package settlement_test

import (
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *settlement.Policy)
		want   string
	}{
		{"bad admdvs", func(p *settlement.Policy) { p.Admdvs = "44" }, "admdvs: must be a 6-digit division code"},
		{"no schemes", func(p *settlement.Policy) { p.Schemes = nil }, "schemes: required"},
		{"unknown insutype", func(p *settlement.Policy) { p.Schemes[0].Insutype = "999" }, `schemes[0].insutype: unknown code "999"`},
		{"unknown pool fund", func(p *settlement.Policy) { p.Schemes[1].PoolFund = "1" }, "schemes[1].pool_fund: unknown fund_pay_type"},
		{"ratio above one", func(p *settlement.Policy) { p.Schemes[0].Inpatient.Ratio[2] = 10001 }, "schemes[0].inpatient.ratio[2]: must be in [0,1]"},
		{"negative deductible", func(p *settlement.Policy) { p.Schemes[0].Outpatient.Deductible[1] = -1 }, "schemes[0].outpatient.deductible[1]: must not be negative"},
		{"bands not increasing", func(p *settlement.Policy) {
			p.Schemes[1].CriticalIllness.Bands[1].Above = p.Schemes[1].CriticalIllness.Bands[0].Above
		}, "schemes[1].critical_illness.bands[1]: ratio must be in [0,1] and above strictly increasing"},
		{"reduction above 10 points", func(p *settlement.Policy) { p.CrossProvince.TemporaryReduction = fen.Percent(11) },
			"cross_province: reductions must be between 0 and 0.1000"},
		{"unknown filing mode", func(p *settlement.Policy) { p.CrossProvince.Filing = "maybe" }, `cross_province.filing: unknown code "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t)
			tt.change(p)
			if err := p.Validate(); settlement.ErrorMessage(err) != tt.want {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFilingCoverage(t *testing.T) {
	p := mustPolicy(t)
	tests := []struct {
		filed, visit string
		ok           bool
	}{
		{"310000", "310104", true}, // province filing covers its districts
		{"310100", "310104", true}, // city filing covers its districts
		{"310104", "310104", true},
		{"310104", "310105", false},
		{"320000", "310104", false},
	}
	for _, tt := range tests {
		t.Run(tt.filed+"→"+tt.visit, func(t *testing.T) {
			psn := withFiling(employee("0.00", "1101", "0"), settlement.FilingLongTerm, tt.filed, "2024-01-01", "")
			in := input("310", "11", 3, false, tt.visit, totals("10.00", "0", "0", "0"))
			_, err := settlement.Settle(p, &psn, settlement.Accumulators{}, &in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
