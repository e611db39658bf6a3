package settlement_test

import (
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func TestPriceLine(t *testing.T) {
	cat := mustCatalogue(t)
	line := func(code, pric, cnt string) settlement.FeeDetail {
		p, q := fen.MustParse(pric), fen.MustParseQty(cnt)
		return settlement.FeeDetail{FeedetlSn: "1", MedListCodg: code, Pric: p, Cnt: q, DetItemFeeSumamt: p.MulQty(q)}
	}
	tests := []struct {
		name                  string
		d                     settlement.FeeDetail
		ful, over, pre, inscp string
		class                 settlement.Class
	}{
		{"丙 all self-paid", line("C01010100100000000001", "99.99", "3"), "299.97", "0.00", "0.00", "0.00", settlement.ClassC},
		{"乙 co-pay 10%", line("XL01XC000A001010100001", "33.33", "1"), "0.00", "0.00", "3.33", "30.00", settlement.ClassB},
		{"甲 under the cap", line("001101000010000", "100.00", "2"), "0.00", "0.00", "0.00", "200.00", settlement.ClassA},
		{"甲 over the cap", line("001101000010000", "120.50", "2"), "0.00", "41.00", "0.00", "200.00", settlement.ClassA},
		// 乙 with cap 10.00, limit 10 units, co-pay 5%: 12 units at 12.00 = 144.00;
		// 2 units above the limit 24.00 self-paid; over the cap (2.00 × 10) 20.00;
		// co-pay 5% of 100.00 = 5.00; in scope 95.00.
		{"乙 over quantity limit and cap", line("XA02BC010A001010100002", "12.00", "12"), "24.00", "20.00", "5.00", "95.00", settlement.ClassB},
		// half-fen co-pay rounds up: 0.10 × 5% = 0.005 → 0.01.
		{"co-pay rounding", line("XA02BC010A001010100002", "0.10", "1"), "0.00", "0.00", "0.01", "0.09", settlement.ClassB},
		{"fractional quantity", line("003301000010000", "10.01", "0.5"), "0.00", "0.00", "0.00", "5.01", settlement.ClassA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := settlement.Price([]settlement.FeeDetail{tt.d}, cat)
			if err != nil {
				t.Fatal(err)
			}
			l := p.Lines[0]
			got := [4]string{l.FulamtOwnpayAmt.String(), l.OverlmtAmt.String(), l.PreselfpayAmt.String(), l.InscpScpAmt.String()}
			if want := [4]string{tt.ful, tt.over, tt.pre, tt.inscp}; got != want || l.ChrgitmLv != tt.class {
				t.Fatalf("ful/over/pre/inscp = %v class %s, want %v class %s", got, l.ChrgitmLv, want, tt.class)
			}
			if l.FulamtOwnpayAmt+l.OverlmtAmt+l.PreselfpayAmt+l.InscpScpAmt != l.DetItemFeeSumamt {
				t.Fatalf("line parts do not add up to %v", l.DetItemFeeSumamt)
			}
			if err := p.Totals.Check("totals"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPriceErrors(t *testing.T) {
	cat := mustCatalogue(t)
	ok := settlement.FeeDetail{MedListCodg: "003301000010000", Pric: 100, Cnt: fen.Units(1), DetItemFeeSumamt: 100}
	unknown := ok
	unknown.MedListCodg = "NOPE"
	mismatch := ok
	mismatch.DetItemFeeSumamt = 101
	negative := ok
	negative.Cnt = -fen.Units(1)
	negative.DetItemFeeSumamt = -100
	tests := []struct {
		name    string
		details []settlement.FeeDetail
		code    string
		msg     string
	}{
		{"unknown code", []settlement.FeeDetail{ok, unknown}, settlement.ENOTFOUND, `input.feedetail[1].med_list_codg: unknown code "NOPE" in the treatment place's catalogue`},
		{"total mismatch", []settlement.FeeDetail{mismatch}, settlement.EINVALID, "input.feedetail[0].det_item_fee_sumamt: is 1.01, but pric × cnt = 1.00"},
		{"negative quantity", []settlement.FeeDetail{negative}, settlement.EINVALID, "input.feedetail[0].cnt: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := settlement.Price(tt.details, cat)
			if settlement.ErrorCode(err) != tt.code || settlement.ErrorMessage(err) != tt.msg {
				t.Fatalf("err = %v (%s), want %s %q", err, settlement.ErrorCode(err), tt.code, tt.msg)
			}
		})
	}
}
