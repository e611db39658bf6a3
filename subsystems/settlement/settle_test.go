package settlement_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func employee(balc string, psnType, cvlserv string) settlement.Person {
	return settlement.Person{
		BaseInfo: settlement.BaseInfo{PsnNo: "44000000000000000010"},
		Insurance: []settlement.Insurance{{Insutype: "310", Balc: fen.MustParse(balc), PsnType: psnType,
			PsnInsuStas: "1", CvlservFlag: cvlserv, InsuplcAdmdvs: "440300"}},
	}
}

func resident(assistance string) settlement.Person {
	return settlement.Person{
		BaseInfo:   settlement.BaseInfo{PsnNo: "44000000000000000020"},
		Insurance:  []settlement.Insurance{{Insutype: "390", PsnType: "1401", PsnInsuStas: "1", InsuplcAdmdvs: "440300"}},
		Assistance: assistance,
	}
}

func totals(medfee, ful, over, pre string) settlement.Totals {
	t := settlement.Totals{MedfeeSumamt: fen.MustParse(medfee), FulamtOwnpayAmt: fen.MustParse(ful),
		OverlmtSelfpay: fen.MustParse(over), PreselfpayAmt: fen.MustParse(pre)}
	t.InscpScpAmt = t.MedfeeSumamt - t.FulamtOwnpayAmt - t.OverlmtSelfpay - t.PreselfpayAmt
	return t
}

func input(insutype, medType string, level int, acct bool, admvs string, t settlement.Totals) settlement.SettleInput {
	return settlement.SettleInput{MdtrtID: "M1", SetlID: "S1", SetlTime: "2024-06-01 10:00:00", MedinsSetlID: "H44030500001202406011000000001",
		Insutype: insutype, MedType: medType, MdtrtareaAdmvs: admvs, HospLevel: level, AcctUsed: acct,
		ClrOptins: "440300", ClrWay: "1", ClrType: "11", Totals: t}
}

// want lists the expected amounts in yuan text; empty means 0.00.
type want struct {
	dedc, hifp, prop, hifob, hifmi, cvlserv, maf, fund, psn, acct, cash, hosp, balc string
	details                                                                         []string // fund_pay_type:fund_payamt
}

func TestSettleCases(t *testing.T) {
	p := mustPolicy(t)
	y := func(s string) fen.Fen { return fen.MustParse(s) }
	tests := []struct {
		name   string
		person settlement.Person
		acc    settlement.Accumulators
		in     settlement.SettleInput
		want   want
		after  func(a settlement.Accumulators) bool
		err    string // error code
	}{
		{
			name:   "outpatient deductible partly used",
			person: employee("100.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2024, OtpDedcUsed: y("1500.00")},
			in:     input("310", "11", 3, true, "440305", totals("1000.00", "0", "0", "0")),
			// 300 of the 1,800 deductible left; (1000 − 300) × 50% = 350.
			want: want{dedc: "300.00", hifp: "350.00", prop: "0.5000", fund: "350.00", psn: "650.00", acct: "100.00", cash: "550.00", details: []string{"310100:350.00"}},
			after: func(a settlement.Accumulators) bool {
				return a.OtpDedcUsed == y("1800.00") && a.OtpFundPaid == y("350.00")
			},
		},
		{
			name:   "inpatient cap reached mid-bill, large-amount subsidy pays above it",
			person: employee("2000.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2024, IptFundPaid: y("295000.00")},
			in:     input("310", "21", 3, false, "440305", totals("20000.00", "0", "0", "0")),
			// base 18,700 × 85% = 15,895 but only 5,000 of the cap is left; 5,000 ÷ 0.85 = 5,882.35
			// of the base is covered, 12,817.65 above the cap × 90% = 11,535.885 → 11,535.89.
			want: want{dedc: "1300.00", hifp: "5000.00", prop: "0.8500", hifob: "11535.89", fund: "16535.89", psn: "3464.11",
				cash: "3464.11", balc: "2000.00", details: []string{"310100:5000.00", "330100:11535.89"}},
			after: func(a settlement.Accumulators) bool {
				return a.IptFundPaid == y("300000.00") && a.LargeAmountPaid == y("11535.89") && a.IptAdmissions == 1
			},
		},
		{
			name:   "cap already exhausted",
			person: employee("0.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2024, IptFundPaid: y("300000.00"), IptAdmissions: 2, LargeAmountPaid: y("499990.00")},
			in:     input("310", "21", 3, false, "440305", totals("1650.00", "0", "0", "0")),
			// repeat deductible 650; base 1,000 entirely above the cap; large amount pays 900 but only 10 is left.
			want: want{dedc: "650.00", hifp: "0.00", prop: "0.8500", hifob: "10.00", fund: "10.00", psn: "1640.00", cash: "1640.00",
				details: []string{"310100:0.00", "330100:10.00"}},
		},
		{
			name:   "class C items only",
			person: employee("1000.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2024, OtpDedcUsed: y("1800.00")},
			in:     input("310", "11", 3, true, "440305", totals("300.00", "300.00", "0", "0")),
			want:   want{prop: "0.5000", psn: "300.00", acct: "300.00", balc: "700.00", details: []string{"310100:0.00"}},
		},
		{
			name:   "retired employee, second admission",
			person: employee("0.00", "1201", "0"),
			acc:    settlement.Accumulators{Year: 2024, IptAdmissions: 1, IptFundPaid: y("5000.00")},
			in:     input("310", "21", 3, false, "440305", totals("10000.00", "0", "0", "0")),
			// repeat deductible 650; (10,000 − 650) × 90% = 8,415.
			want: want{dedc: "650.00", hifp: "8415.00", prop: "0.9000", fund: "8415.00", psn: "1585.00", cash: "1585.00", details: []string{"310100:8415.00"}},
		},
		{
			name:   "civil servant subsidy",
			person: employee("0.00", "1101", "1"),
			acc:    settlement.Accumulators{Year: 2024, OtpDedcUsed: y("1800.00")},
			in:     input("310", "11", 3, false, "440305", totals("1000.00", "0", "0", "0")),
			want: want{hifp: "500.00", prop: "0.5000", cvlserv: "250.00", fund: "750.00", psn: "250.00", cash: "250.00",
				details: []string{"310100:500.00", "320100:250.00"}},
		},
		{
			name:   "resident inpatient with critical illness",
			person: resident(""),
			acc:    settlement.Accumulators{Year: 2024, CISelfpay: y("18000.00")},
			in:     input("390", "21", 2, false, "440305", totals("50000.00", "2000.00", "0", "3000.00")),
			// inscp 45,000; deductible 300; 44,700 × 85% = 37,995; self-pay 7,005 takes the year to
			// 25,005, of which 5,005 lies above the 20,000 大病 line × 60% = 3,003.
			want: want{dedc: "300.00", hifp: "37995.00", prop: "0.8500", hifmi: "3003.00", fund: "40998.00", psn: "9002.00", cash: "9002.00",
				details: []string{"390100:37995.00", "390200:3003.00"}},
			after: func(a settlement.Accumulators) bool { return a.CISelfpay == y("25005.00") && a.CIPaid == y("3003.00") },
		},
		{
			name:   "resident critical illness across two bands",
			person: resident(""),
			acc:    settlement.Accumulators{Year: 2024, CISelfpay: y("95000.00"), IptAdmissions: 3},
			in:     input("390", "21", 3, false, "440305", totals("20000.00", "0", "0", "0")),
			// deductible 1,500; 18,500 × 60% = 11,100; self-pay 8,900: 95,000→100,000 at 60% = 3,000,
			// 100,000→103,900 at 70% = 2,730.
			want: want{dedc: "1500.00", hifp: "11100.00", prop: "0.6000", hifmi: "5730.00", fund: "16830.00", psn: "3170.00", cash: "3170.00",
				details: []string{"390100:11100.00", "390200:5730.00"}},
		},
		{
			name:   "resident with medical assistance",
			person: resident("dibao"),
			acc:    settlement.Accumulators{Year: 2024, CISelfpay: y("18000.00")},
			in:     input("390", "21", 2, false, "440305", totals("50000.00", "2000.00", "0", "3000.00")),
			// as above, then 70% of the remaining 4,002 = 2,801.40.
			want: want{dedc: "300.00", hifp: "37995.00", prop: "0.8500", hifmi: "3003.00", maf: "2801.40", fund: "43799.40", psn: "6200.60", cash: "6200.60",
				details: []string{"390100:37995.00", "390200:3003.00", "610100:2801.40"}},
		},
		{
			name:   "resident outpatient annual cap",
			person: resident(""),
			acc:    settlement.Accumulators{Year: 2024, OtpFundPaid: y("700.00")},
			in:     input("390", "11", 1, false, "440305", totals("300.00", "0", "0", "0")),
			// 300 × 60% = 180 but 100 of the 800 cap is left.
			want: want{hifp: "100.00", prop: "0.6000", fund: "100.00", psn: "200.00", cash: "200.00", details: []string{"390100:100.00"}},
		},
		{
			name:   "cross-province with temporary filing: ratio reduced 10 points",
			person: withFiling(employee("0.00", "1101", "0"), settlement.FilingTemporary, "310000", "2024-05-01", "2024-10-31"),
			acc:    settlement.Accumulators{Year: 2024, OtpDedcUsed: y("1800.00")},
			in:     input("310", "11", 3, false, "310104", totals("1000.00", "0", "0", "0")),
			want:   want{hifp: "400.00", prop: "0.4000", fund: "400.00", psn: "600.00", cash: "600.00", details: []string{"310100:400.00"}},
		},
		{
			name:   "cross-province without filing is refused",
			person: employee("0.00", "1101", "0"),
			in:     input("310", "11", 3, false, "310104", totals("1000.00", "0", "0", "0")),
			err:    settlement.EFORBIDDEN,
		},
		{
			name:   "cross-province with expired filing is refused",
			person: withFiling(employee("0.00", "1101", "0"), settlement.FilingTemporary, "310000", "2023-01-01", "2023-12-31"),
			in:     input("310", "11", 3, false, "310104", totals("1000.00", "0", "0", "0")),
			err:    settlement.EFORBIDDEN,
		},
		{
			name:   "cross-province emergency counts as filed",
			person: employee("0.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2024, OtpDedcUsed: y("1800.00")},
			in:     input("310", "13", 3, false, "310104", totals("1000.00", "0", "0", "0")),
			want:   want{hifp: "500.00", prop: "0.5000", fund: "500.00", psn: "500.00", cash: "500.00", details: []string{"310100:500.00"}},
		},
		{
			name:   "new year resets the accumulators",
			person: employee("0.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2023, OtpDedcUsed: y("1800.00"), OtpFundPaid: y("900.00")},
			in:     input("310", "11", 3, false, "440305", totals("2000.00", "0", "0", "0")),
			want:   want{dedc: "1800.00", hifp: "100.00", prop: "0.5000", fund: "100.00", psn: "1900.00", cash: "1900.00", details: []string{"310100:100.00"}},
			after:  func(a settlement.Accumulators) bool { return a.Year == 2024 && a.OtpFundPaid == y("100.00") },
		},
		{
			name:   "insurance type not enrolled",
			person: resident(""),
			in:     input("310", "11", 3, false, "440305", totals("1.00", "0", "0", "0")),
			err:    settlement.ENOTFOUND,
		},
		{
			name:   "totals that do not add up",
			person: employee("0.00", "1101", "0"),
			in: func() settlement.SettleInput {
				in := input("310", "11", 3, false, "440305", totals("100.00", "0", "0", "0"))
				in.InscpScpAmt--
				return in
			}(),
			err: settlement.EINVALID,
		},
		{
			name:   "accumulators from a later year",
			person: employee("0.00", "1101", "0"),
			acc:    settlement.Accumulators{Year: 2025},
			in:     input("310", "11", 3, false, "440305", totals("1.00", "0", "0", "0")),
			err:    settlement.ECONFLICT,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := settlement.Settle(p, &tt.person, tt.acc, &tt.in)
			if tt.err != "" {
				if settlement.ErrorCode(err) != tt.err {
					t.Fatalf("err = %v (code %q), want code %q", err, settlement.ErrorCode(err), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := res.Setlinfo
			z := func(v string) string {
				if v == "" {
					return "0.00"
				}
				return v
			}
			checks := []struct {
				name string
				got  string
				want string
			}{
				{"act_pay_dedc", s.ActPayDedc.String(), z(tt.want.dedc)},
				{"hifp_pay", s.HifpPay.String(), z(tt.want.hifp)},
				{"pool_prop_selfpay", s.PoolPropSelfpay.String(), tt.want.prop},
				{"hifob_pay", s.HifobPay.String(), z(tt.want.hifob)},
				{"hifmi_pay", s.HifmiPay.String(), z(tt.want.hifmi)},
				{"cvlserv_pay", s.CvlservPay.String(), z(tt.want.cvlserv)},
				{"maf_pay", s.MafPay.String(), z(tt.want.maf)},
				{"fund_pay_sumamt", s.FundPaySumamt.String(), z(tt.want.fund)},
				{"psn_part_amt", s.PsnPartAmt.String(), z(tt.want.psn)},
				{"acct_pay", s.AcctPay.String(), z(tt.want.acct)},
				{"psn_cash_pay", s.PsnCashPay.String(), z(tt.want.cash)},
				{"hosp_part_amt", s.HospPartAmt.String(), z(tt.want.hosp)},
				{"balc", s.Balc.String(), z(tt.want.balc)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
				}
			}
			var got []string
			for _, d := range res.Setldetail {
				got = append(got, d.FundPayType+":"+d.FundPayamt.String())
			}
			if len(got) != len(tt.want.details) {
				t.Fatalf("setldetail = %v, want %v", got, tt.want.details)
			}
			for i := range got {
				if got[i] != tt.want.details[i] {
					t.Errorf("setldetail = %v, want %v", got, tt.want.details)
				}
			}
			checkInvariants(t, &res, tt.acc)
			if tt.after != nil && !tt.after(res.After) {
				t.Errorf("accumulators after = %+v", res.After)
			}
		})
	}
}

func withFiling(p settlement.Person, kind, admdvs, begn, end string) settlement.Person {
	p.Filings = append(p.Filings, settlement.Filing{Kind: kind, Admdvs: admdvs, Begndate: begn, Enddate: end})
	return p
}

// checkInvariants recomputes the DOMAIN.md §2.2 invariants independently.
func checkInvariants(t *testing.T, r *settlement.Result, before settlement.Accumulators) {
	t.Helper()
	s := &r.Setlinfo
	for name, v := range map[string]fen.Fen{"act_pay_dedc": s.ActPayDedc, "hifp_pay": s.HifpPay, "hifob_pay": s.HifobPay,
		"hifmi_pay": s.HifmiPay, "cvlserv_pay": s.CvlservPay, "maf_pay": s.MafPay, "fund_pay_sumamt": s.FundPaySumamt,
		"psn_part_amt": s.PsnPartAmt, "acct_pay": s.AcctPay, "psn_cash_pay": s.PsnCashPay, "hosp_part_amt": s.HospPartAmt, "balc": s.Balc} {
		if v < 0 {
			t.Errorf("%s = %v is negative", name, v)
		}
	}
	if s.MedfeeSumamt != s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt {
		t.Errorf("medfee %v != fund %v + psn %v + hosp %v", s.MedfeeSumamt, s.FundPaySumamt, s.PsnPartAmt, s.HospPartAmt)
	}
	if s.PsnPartAmt != s.AcctPay+s.PsnCashPay {
		t.Errorf("psn_part %v != acct %v + cash %v", s.PsnPartAmt, s.AcctPay, s.PsnCashPay)
	}
	if s.InscpScpAmt != s.MedfeeSumamt-s.FulamtOwnpayAmt-s.OverlmtSelfpay-s.PreselfpayAmt {
		t.Errorf("inscp %v does not match the totals", s.InscpScpAmt)
	}
	var sum fen.Fen
	for _, d := range r.Setldetail {
		sum += d.FundPayamt
	}
	if sum != s.FundPaySumamt {
		t.Errorf("Σ setldetail %v != fund_pay_sumamt %v", sum, s.FundPaySumamt)
	}
	if s.ActPayDedc+s.HifpPay > s.InscpScpAmt || s.FundPaySumamt > s.InscpScpAmt {
		t.Errorf("funds pay beyond the policy scope")
	}
	if r.Delta.FundPaySumamt != s.FundPaySumamt || r.Delta.AcctPaySumamt != s.AcctPay || r.Delta.CashPaySumamt != s.PsnCashPay ||
		r.Delta.MedfeeSumamt != s.MedfeeSumamt {
		t.Errorf("delta %+v inconsistent with setlinfo", r.Delta)
	}
	base := before
	if base.Year != r.After.Year {
		base = settlement.Accumulators{Year: r.After.Year}
	}
	if r.After.Reverse(r.Delta) != base {
		t.Errorf("reversing the delta does not restore the accumulators")
	}
}

// TestSettleRandom checks the invariants and the caps on many random
// episodes, settled one after another for the same person.
func TestSettleRandom(t *testing.T) {
	p := mustPolicy(t)
	rng := rand.New(rand.NewPCG(7, 11))
	people := []settlement.Person{employee("3000.00", "1101", "1"), employee("0.00", "1201", "0"), resident(""), resident("tekun")}
	medTypes := []string{"11", "13", "14", "21"}
	for pi := range people {
		psn := people[pi]
		insutype := psn.Insurance[0].Insutype
		acc := settlement.Accumulators{Year: 2024}
		for i := 0; i < 400; i++ {
			med := fen.Fen(rng.Int64N(50_000_00)) + 1
			ful := fen.Fen(rng.Int64N(int64(med) / 3))
			over := fen.Fen(rng.Int64N(int64(med-ful)/5 + 1))
			pre := fen.Fen(rng.Int64N(int64(med-ful-over)/5 + 1))
			tot := settlement.Totals{MedfeeSumamt: med, FulamtOwnpayAmt: ful, OverlmtSelfpay: over, PreselfpayAmt: pre, InscpScpAmt: med - ful - over - pre}
			in := input(insutype, medTypes[rng.IntN(len(medTypes))], rng.IntN(4), rng.IntN(2) == 0, "440305", tot)
			res, err := settlement.Settle(p, &psn, acc, &in)
			if err != nil {
				t.Fatalf("person %d settlement %d: %v", pi, i, err)
			}
			checkInvariants(t, &res, acc)
			sc, _ := p.Scheme(insutype)
			if res.After.IptFundPaid > sc.Inpatient.Cap || (sc.Outpatient.Cap > 0 && res.After.OtpFundPaid > sc.Outpatient.Cap) {
				t.Fatalf("pooled-fund cap exceeded: %+v", res.After)
			}
			if sc.LargeAmount != nil && res.After.LargeAmountPaid > sc.LargeAmount.Cap {
				t.Fatalf("large-amount cap exceeded")
			}
			if sc.CriticalIllness != nil && res.After.CIPaid > sc.CriticalIllness.Cap {
				t.Fatalf("critical-illness cap exceeded")
			}
			acc = res.After
			psn.Insurance[0].Balc = res.Setlinfo.Balc
			if t.Failed() {
				t.FailNow()
			}
		}
		if acc.SettlementCount != 400 {
			t.Fatalf("settlement count = %d", acc.SettlementCount)
		}
	}
}

func TestSettleIntoReuses(t *testing.T) {
	p := mustPolicy(t)
	psn := resident("dibao")
	in := input("390", "21", 2, false, "440305", totals("50000.00", "2000.00", "0", "3000.00"))
	var r settlement.Result
	if err := settlement.SettleInto(&r, p, &psn, settlement.Accumulators{Year: 2024, CISelfpay: 1800000}, &in); err != nil {
		t.Fatal(err)
	}
	first := r.Setlinfo
	// A failing call clears the result rather than leaving stale amounts.
	bad := in
	bad.InscpScpAmt = 1
	if err := settlement.SettleInto(&r, p, &psn, settlement.Accumulators{}, &bad); !errors.As(err, new(*settlement.Error)) {
		t.Fatalf("err = %v", err)
	}
	if r.Setlinfo.FundPaySumamt != 0 {
		t.Fatalf("result not cleared after an error")
	}
	if err := settlement.SettleInto(&r, p, &psn, settlement.Accumulators{Year: 2024, CISelfpay: 1800000}, &in); err != nil {
		t.Fatal(err)
	}
	if r.Setlinfo != first {
		t.Fatalf("second SettleInto differs")
	}
}

// TestMidStaySettlement splits one admission into a mid-stay and a final
// settlement: the deductible and the admission count apply once.
func TestMidStaySettlement(t *testing.T) {
	p := mustPolicy(t)
	psn := employee("0.00", "1101", "0")
	acc := settlement.Accumulators{Year: 2024}
	mid := input("310", "21", 3, false, "440305", totals("1000.00", "0", "0", "0"))
	r1, err := settlement.Settle(p, &psn, acc, &mid)
	if err != nil {
		t.Fatal(err)
	}
	// The first 1,000 is entirely deductible.
	if r1.Setlinfo.ActPayDedc != fen.MustParse("1000.00") || r1.Setlinfo.HifpPay != 0 {
		t.Fatalf("mid-stay: %+v", r1.Setlinfo)
	}
	final := input("310", "21", 3, false, "440305", totals("2000.00", "0", "0", "0"))
	final.AdmissionSettled, final.AdmissionDedc = true, r1.Setlinfo.ActPayDedc
	r2, err := settlement.Settle(p, &psn, r1.After, &final)
	if err != nil {
		t.Fatal(err)
	}
	// 300 of the 1,300 first-admission deductible remain; (2,000 − 300) × 85% = 1,445.
	if r2.Setlinfo.ActPayDedc != fen.MustParse("300.00") || r2.Setlinfo.HifpPay != fen.MustParse("1445.00") {
		t.Fatalf("final: dedc %v hifp %v", r2.Setlinfo.ActPayDedc, r2.Setlinfo.HifpPay)
	}
	if r2.After.IptAdmissions != 1 {
		t.Fatalf("admissions = %d, want 1", r2.After.IptAdmissions)
	}
	// The next admission pays the repeat deductible (650).
	next := input("310", "21", 3, false, "440305", totals("1000.00", "0", "0", "0"))
	r3, err := settlement.Settle(p, &psn, r2.After, &next)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Setlinfo.ActPayDedc != fen.MustParse("650.00") || r3.After.IptAdmissions != 2 {
		t.Fatalf("next admission: dedc %v admissions %d", r3.Setlinfo.ActPayDedc, r3.After.IptAdmissions)
	}
}

// TestReversal cancels a settlement: amounts negate, the account balance
// and every accumulator come back.
func TestReversal(t *testing.T) {
	p := mustPolicy(t)
	psn := employee("2000.00", "1101", "1")
	before := settlement.Accumulators{Year: 2024, OtpDedcUsed: fen.MustParse("1000.00"), SettlementCount: 4}
	in := input("310", "11", 3, true, "440305", totals("3000.00", "100.00", "0", "50.00"))
	r, err := settlement.Settle(p, &psn, before, &in)
	if err != nil {
		t.Fatal(err)
	}
	rev := r.Reversal("S2", "2024-06-01 11:00:00", r.After, r.Setlinfo.Balc)
	if rev.After != before {
		t.Fatalf("accumulators after reversal = %+v, want %+v", rev.After, before)
	}
	if rev.Setlinfo.Balc != psn.Insurance[0].Balc {
		t.Fatalf("balance after reversal = %v, want %v", rev.Setlinfo.Balc, psn.Insurance[0].Balc)
	}
	s, o := rev.Setlinfo, r.Setlinfo
	if s.MedfeeSumamt != -o.MedfeeSumamt || s.FundPaySumamt != -o.FundPaySumamt || s.AcctPay != -o.AcctPay ||
		s.PsnCashPay != -o.PsnCashPay || s.SetlID != "S2" || s.PoolPropSelfpay != o.PoolPropSelfpay {
		t.Fatalf("reversal setlinfo = %+v", s)
	}
	var sum fen.Fen
	for _, d := range rev.Setldetail {
		sum += d.FundPayamt
	}
	if sum != s.FundPaySumamt || s.MedfeeSumamt != s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt {
		t.Fatalf("reversal does not balance")
	}
	if len(r.Setldetail) < 2 || r.Setldetail[0].FundPayamt <= 0 {
		t.Fatalf("reversal did not touch the original: %+v", r.Setldetail)
	}
}
