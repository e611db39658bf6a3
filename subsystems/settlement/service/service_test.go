package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// example2207 lines price to the DOMAIN.md 2207 example: 500.00 total,
// 50.00 丙, 30.00 乙 co-pay, 420.00 in scope.
var example2207 = [][3]string{
	{"C01010100100000000001", "50.00", "1"},
	{"XL01XC000A001010100001", "30.00", "10"},
	{"003301000010000", "150.00", "1"},
}

func settleData(psnNo, mdtrtID, batch, insutype, medType string, t settlement.Totals) map[string]any {
	return obj("data", obj("psn_no", psnNo, "mdtrt_cert_type", "02", "mdtrt_cert_no", "440301199001011234", "med_type", medType,
		"medfee_sumamt", t.MedfeeSumamt, "psn_setlway", "01", "mdtrt_id", mdtrtID, "chrg_bchno", batch, "insutype", insutype,
		"acct_used_flag", "1", "invono", "", "fulamt_ownpay_amt", t.FulamtOwnpayAmt, "overlmt_selfpay", t.OverlmtSelfpay,
		"preselfpay_amt", t.PreselfpayAmt, "inscp_scp_amt", t.InscpScpAmt))
}

var totals2207 = settlement.Totals{MedfeeSumamt: 50000, FulamtOwnpayAmt: 5000, PreselfpayAmt: 3000, InscpScpAmt: 42000}

// wantSetlinfo compares the money and identity fields of a settlement
// with a DOMAIN.md example answer (ids and times are the node's own).
func wantSetlinfo(t *testing.T, file string, got settlement.SetlInfo, gotDetail []settlement.SetlDetail) {
	t.Helper()
	var want settlement.Response
	mustReadJSON(t, file, &want)
	var out struct {
		Setlinfo   settlement.SetlInfo     `json:"setlinfo"`
		Setldetail []settlement.SetlDetail `json:"setldetail"`
	}
	if err := json.Unmarshal(want.Output, &out); err != nil {
		t.Fatal(err)
	}
	w := out.Setlinfo
	w.SetlID, w.SetlTime, w.MedinsSetlID, w.MdtrtID = got.SetlID, got.SetlTime, got.MedinsSetlID, got.MdtrtID
	for _, f := range []*string{&w.PsnName, &w.PsnCertType, &w.Certno, &w.Gend, &w.Naty, &w.Brdy, &w.PsnType, &w.CvlservFlag, &w.MdtrtCertType} {
		if *f == "" {
			*f = map[*string]string{&w.PsnName: got.PsnName, &w.PsnCertType: got.PsnCertType, &w.Certno: got.Certno, &w.Gend: got.Gend,
				&w.Naty: got.Naty, &w.Brdy: got.Brdy, &w.PsnType: got.PsnType, &w.CvlservFlag: got.CvlservFlag, &w.MdtrtCertType: got.MdtrtCertType}[f]
		}
	}
	if w.Age == 0 {
		w.Age = got.Age
	}
	if w != got {
		t.Errorf("setlinfo\n got %+v\nwant %+v", got, w)
	}
	wb, _ := json.Marshal(out.Setldetail)
	gb, _ := json.Marshal(gotDetail)
	if !bytes.Equal(wb, gb) {
		t.Errorf("setldetail\n got %s\nwant %s", gb, wb)
	}
}

type settleOut struct {
	Setlinfo   settlement.SetlInfo     `json:"setlinfo"`
	Setldetail []settlement.SetlDetail `json:"setldetail"`
}

// TestExample2207 runs the DOMAIN.md 2207 example (ratio 50%, deductible
// met, account 1,000.00) on the insured node itself, over HTTP: 2201, 2204,
// 2206, 2207; a repeat of the 2207 returns the identical bytes and posts
// once; 2601 restores balance and accumulators.
func TestExample2207(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := startNode(t, db, Options{Admdvs: "440000", Policies: PolicyMap{"440300": fixturePolicy(t)}})
		var person settlement.Person
		mustReadJSON(t, "2207_person.json", &person)
		person.BaseInfo.Certno = "440301199001011234"
		if err := n.svc.PutPerson(ctx, &person); err != nil {
			t.Fatal(err)
		}
		var acc settlement.Accumulators
		mustReadJSON(t, "2207_accumulators.json", &acc)
		if err := n.svc.PutAccumulators(ctx, person.BaseInfo.PsnNo, "310", acc); err != nil {
			t.Fatal(err)
		}
		h := newHospital(t, n, "H44030500123", "440305", settlement.Level3)
		psn := person.BaseInfo.PsnNo
		mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)

		var pre settleOut
		h.ok(t, "2206", "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207), &pre)
		wantSetlinfo(t, "2207_response.json", pre.Setlinfo, pre.Setldetail)
		if count(t, db, "stl_setl") != 0 || count(t, db, "stl_ledger") != 0 {
			t.Fatal("2206 wrote a settlement")
		}

		msgid := h.msgid()
		body := h.envelope("2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
		first := h.post(t, body)
		var resp settlement.Response
		if err := json.Unmarshal(first, &resp); err != nil || resp.Infcode != 0 {
			t.Fatalf("2207: %s", first)
		}
		var out settleOut
		if err := json.Unmarshal(resp.Output, &out); err != nil {
			t.Fatal(err)
		}
		wantSetlinfo(t, "2207_response.json", out.Setlinfo, out.Setldetail)
		ledgerRows := count(t, db, "stl_ledger")

		again := h.post(t, body)
		if !bytes.Equal(first, again) {
			t.Errorf("repeated msgid answered differently:\n%s\n%s", first, again)
		}
		if count(t, db, "stl_ledger") != ledgerRows || count(t, db, "stl_setl") != 1 {
			t.Errorf("repeated msgid posted again")
		}
		p, _, err := n.svc.Person(ctx, psn)
		if err != nil || p.Insurance[0].Balc != 71000 {
			t.Fatalf("balance after 2207: %+v %v", p, err)
		}
		after, _ := n.svc.Accumulators(ctx, psn, "310")
		if after.OtpFundPaid != acc.OtpFundPaid+21000 || after.AcctPaySumamt != 29000 || after.SettlementCount != acc.SettlementCount+1 {
			t.Errorf("accumulators after 2207: %+v", after)
		}
		bal, err := n.svc.Balances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bal["fund:310100"] != 21000 || bal["acct:personal"] != 29000 || bal["hosp:H44030500123"] != -50000 {
			t.Errorf("ledger balances %v", bal)
		}

		// 2601 of the 2207 restores everything.
		h.ok(t, "2601", "440300", obj("data", obj("psn_no", psn, "omsgid", msgid, "oinfno", "2207")), nil)
		p, _, _ = n.svc.Person(ctx, psn)
		if p.Insurance[0].Balc != 100000 {
			t.Errorf("balance after 2601 = %s", p.Insurance[0].Balc)
		}
		if got, _ := n.svc.Accumulators(ctx, psn, "310"); got != acc {
			t.Errorf("accumulators after 2601 = %+v, want %+v", got, acc)
		}
		bal, _ = n.svc.Balances(ctx)
		for a, v := range bal {
			if v != 0 {
				t.Errorf("after 2601 account %s = %s", a, v)
			}
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
		// The reversed msgid is not processed again.
		resp2, _ := h.call(t, "2207", msgid, "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207))
		if resp2.Infcode != -1 || !strings.Contains(resp2.ErrMsg, "reversed") {
			t.Errorf("repeat after reversal: %+v", resp2)
		}
		// The fee details are free again: a new 2207 settles them.
		h.ok(t, "2207", "440300", settleData(psn, mdtrt, "CB01", "310", "11", totals2207), &out)
		if out.Setlinfo.HifpPay != 21000 || out.Setlinfo.AcctPay != 29000 {
			t.Errorf("settle after reversal: %+v", out.Setlinfo)
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestExample2304 runs DOMAIN.md's inpatient worked example end to end:
// 2401, 2301 (priced on the catalogue), 2402, 2303, 2304, then 2305.
func TestExample2304(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := startNode(t, db, Options{Admdvs: "440000", Policies: PolicyMap{"440300": fixturePolicy(t)}})
		var person settlement.Person
		mustReadJSON(t, "2304_person.json", &person)
		if err := n.svc.PutPerson(ctx, &person); err != nil {
			t.Fatal(err)
		}
		h := newHospital(t, n, "H44030500001", "440305", settlement.Level3)
		psn := person.BaseInfo.PsnNo
		mdtrt, priced := admitAppendicitis(t, h, psn, person.BaseInfo.Certno, "440300")
		if sum := settlement.Sum(priced); sum != (settlement.Totals{MedfeeSumamt: 2000000, FulamtOwnpayAmt: 150000, OverlmtSelfpay: 20000, PreselfpayAmt: 60000, InscpScpAmt: 1770000}) {
			t.Fatalf("priced totals %+v", sum)
		}
		tot := settlement.Sum(priced)
		data := settleData(psn, mdtrt, "", "310", "21", tot)
		// Not discharged yet: refused.
		if r, _ := h.call(t, "2304", h.msgid(), "440300", data); r.Infcode != -1 || !strings.Contains(r.ErrMsg, "not discharged") {
			t.Errorf("2304 before 2402: %+v", r)
		}
		dischargeAppendicitis(t, h, psn, mdtrt, "440300")
		var pre, out settleOut
		h.ok(t, "2303", "440300", data, &pre)
		wantSetlinfo(t, "2304_response.json", pre.Setlinfo, pre.Setldetail)
		h.ok(t, "2304", "440300", data, &out)
		wantSetlinfo(t, "2304_response.json", out.Setlinfo, out.Setldetail)
		acc, _ := n.svc.Accumulators(ctx, psn, "310")
		if acc.IptAdmissions != 1 || acc.IptFundPaid != 1394000 {
			t.Errorf("accumulators %+v", acc)
		}
		// 2305 cancels: balance and accumulators back, ledger nets to zero.
		var cancel struct {
			Setlinfo struct {
				FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
			} `json:"setlinfo"`
		}
		h.ok(t, "2305", "440300", obj("data", obj("psn_no", psn, "mdtrt_id", mdtrt, "setl_id", out.Setlinfo.SetlID)), &cancel)
		if cancel.Setlinfo.FundPaySumamt != -1394000 {
			t.Errorf("cancel output %+v", cancel)
		}
		if acc, _ := n.svc.Accumulators(ctx, psn, "310"); acc.IptAdmissions != 0 || acc.IptFundPaid != 0 || acc.SettlementCount != 0 {
			t.Errorf("accumulators after 2305 %+v", acc)
		}
		if p, _, _ := n.svc.Person(ctx, psn); p.Insurance[0].Balc != 200000 {
			t.Errorf("balance after 2305 %s", p.Insurance[0].Balc)
		}
		if err := n.svc.CheckLedger(ctx); err != nil {
			t.Error(err)
		}
		// The stay can be settled again after the cancel.
		h.ok(t, "2304", "440300", data, &out)
		wantSetlinfo(t, "2304_response.json", out.Setlinfo, out.Setldetail)
	})
}
