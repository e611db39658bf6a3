package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// benchCase is a resident inpatient settlement that touches every segment:
// deductible, pooled fund, critical illness and medical assistance.
func benchCase(b *testing.B) (*settlement.Policy, settlement.Person, settlement.Accumulators, settlement.SettleInput) {
	p := mustPolicy(b)
	psn := resident("dibao")
	acc := settlement.Accumulators{Year: 2024, CISelfpay: fen.MustParse("18000.00")}
	in := input("390", "21", 2, false, "440305", totals("50000.00", "2000.00", "0", "3000.00"))
	return p, psn, acc, in
}

func BenchmarkSettleInto(b *testing.B) {
	p, psn, acc, in := benchCase(b)
	var r settlement.Result
	b.ReportAllocs()
	for b.Loop() {
		if err := settlement.SettleInto(&r, p, &psn, acc, &in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSettle(b *testing.B) {
	p, psn, acc, in := benchCase(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := settlement.Settle(p, &psn, acc, &in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrice(b *testing.B) {
	var req settlement.Request
	mustReadJSON(b, "2301_request.json", &req)
	in, err := settlement.DecodeInput(req.Infno, req.Input)
	if err != nil {
		b.Fatal(err)
	}
	details := in.(*settlement.InputFeeDetail).Feedetail
	cat := mustCatalogue(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := settlement.Price(details, cat); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode2207 is the per-call edge work: envelope and input
// decoding and validation of the DOMAIN.md 2207 example.
func BenchmarkDecode2207(b *testing.B) {
	var req settlement.Request
	mustReadJSON(b, "2207_request.json", &req)
	raw, _ := json.Marshal(req)
	b.ReportAllocs()
	for b.Loop() {
		var r settlement.Request
		if err := json.Unmarshal(raw, &r); err != nil {
			b.Fatal(err)
		}
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
		if _, err := settlement.DecodeInput(r.Infno, r.Input); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSettleMarshal is settlement plus encoding of the output node.
func BenchmarkSettleMarshal(b *testing.B) {
	p, psn, acc, in := benchCase(b)
	var r settlement.Result
	b.ReportAllocs()
	for b.Loop() {
		if err := settlement.SettleInto(&r, p, &psn, acc, &in); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(&r); err != nil {
			b.Fatal(err)
		}
	}
}
