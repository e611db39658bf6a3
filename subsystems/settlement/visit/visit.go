// Package visit builds the hospital inputs of one synthetic outpatient
// visit (2201 registration, 2204 fee details, 2207 settlement), so the
// living demo and the container tests send the same bills.
package visit

import (
	"fmt"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// Register is the 2201 input registering the outpatient visit opNo of a
// person identified by an ID card (mdtrt_cert_type 02) at now.
func Register(psnNo, insutype, certno, opNo, now string) map[string]any {
	return map[string]any{"data": map[string]any{
		"psn_no": psnNo, "insutype": insutype, "begntime": now, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
		"ipt_otp_no": opNo, "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A01",
	}}
}

// FeeDetails is the 2204 input of the visit's three lines in batch CB01:
// a 丙 consumable of 50.00, ten 乙 drugs of 3.00 and a 甲 surgery of
// 150.00 + extra.
func FeeDetails(mdtrtID, psnNo, now string, extra fen.Fen) map[string]any {
	lines := []struct {
		code string
		pric fen.Fen
		cnt  string
	}{
		{"C01010100100000000001", fen.Yuan(50), "1"},
		{"XL01XC000A001010100001", fen.Yuan(30), "10"},
		{"003301000010000", fen.Yuan(150) + extra, "1"},
	}
	var fee []any
	for k, l := range lines {
		cnt := fen.MustParseQty(l.cnt)
		fee = append(fee, map[string]any{"feedetl_sn": fmt.Sprintf("CB01-%02d", k), "mdtrt_id": mdtrtID, "psn_no": psnNo,
			"chrg_bchno": "CB01", "fee_ocur_time": now, "med_list_codg": l.code, "medins_list_codg": "HX" + l.code[:4],
			"det_item_fee_sumamt": l.pric.MulQty(cnt), "cnt": cnt, "pric": l.pric})
	}
	return map[string]any{"feedetail": fee}
}

// Totals are what FeeDetails' lines price to at the treatment place:
// 500.00 + extra, of which 50.00 丙 (full own pay), 30.00 乙 pre-self-pay
// and the rest in scope.
func Totals(extra fen.Fen) settlement.Totals {
	return settlement.Totals{MedfeeSumamt: fen.Yuan(500) + extra, FulamtOwnpayAmt: fen.Yuan(50), PreselfpayAmt: fen.Yuan(30), InscpScpAmt: fen.Yuan(420) + extra}
}

// Settle is the 2207 input settling the registered visit mdtrtID with
// totals tot.
func Settle(psnNo, insutype, certno, mdtrtID string, tot settlement.Totals) map[string]any {
	return map[string]any{"data": map[string]any{
		"psn_no": psnNo, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "11",
		"medfee_sumamt": tot.MedfeeSumamt, "psn_setlway": "01", "mdtrt_id": mdtrtID, "chrg_bchno": "CB01", "insutype": insutype,
		"acct_used_flag": "1", "invono": "", "fulamt_ownpay_amt": tot.FulamtOwnpayAmt, "overlmt_selfpay": tot.OverlmtSelfpay,
		"preselfpay_amt": tot.PreselfpayAmt, "inscp_scp_amt": tot.InscpScpAmt,
	}}
}
