package settlement_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// settleFixture runs a settlement request fixture through the same steps
// the service takes: envelope validation, typed input, the insured place's
// policy, and the response envelope.
func settleFixture(t *testing.T, reqFile, personFile string, acc settlement.Accumulators, hospLevel int, respFile string) settlement.Result {
	t.Helper()
	var req settlement.Request
	mustReadJSON(t, reqFile, &req)
	if err := req.Validate(); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	in, err := settlement.DecodeInput(req.Infno, req.Input)
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	if err := req.CheckInsuplc(in); err != nil {
		t.Fatal(err)
	}
	var want settlement.Response
	mustReadJSON(t, respFile, &want)
	var wantOut struct {
		Setlinfo settlement.SetlInfo `json:"setlinfo"`
	}
	if err := json.Unmarshal(want.Output, &wantOut); err != nil {
		t.Fatal(err)
	}
	var person settlement.Person
	mustReadJSON(t, personFile, &person)

	si := in.(*settlement.InputSettle).SettleInput(&req, wantOut.Setlinfo.SetlID, wantOut.Setlinfo.SetlTime, hospLevel)
	res, err := settlement.Settle(mustPolicy(t), &person, acc, &si)
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	got := settlement.Response{
		Infcode: settlement.Infcode(nil), InfRefmsgid: want.InfRefmsgid, RefmsgTime: want.RefmsgTime,
		RespondTime: want.RespondTime, Output: out,
	}
	gotB, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wantB, err := os.ReadFile(filepath.Join("testdata", respFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffJSON(generic(t, wantB), generic(t, gotB), "", identityFields) {
		t.Error(d)
	}
	return res
}

func TestExample2207(t *testing.T) {
	var acc settlement.Accumulators
	mustReadJSON(t, "2207_accumulators.json", &acc)
	res := settleFixture(t, "2207_request.json", "2207_person.json", acc, settlement.Level3, "2207_response.json")
	// The example's deductible was already met: nothing more is used.
	if res.After.OtpDedcUsed != acc.OtpDedcUsed || res.After.OtpFundPaid != acc.OtpFundPaid+21000 {
		t.Errorf("accumulators after = %+v", res.After)
	}
	if res.After.Reverse(res.Delta) != acc {
		t.Errorf("reversal does not restore the accumulators")
	}
}

func TestExample2304(t *testing.T) {
	// Pricing at the treatment place: the 2301 upload yields the totals the
	// 2304 request carries.
	var req settlement.Request
	mustReadJSON(t, "2301_request.json", &req)
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	in, err := settlement.DecodeInput(req.Infno, req.Input)
	if err != nil {
		t.Fatal(err)
	}
	priced, err := settlement.Price(in.(*settlement.InputFeeDetail).Feedetail, mustCatalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(priced)
	want, err := os.ReadFile("testdata/2301_response.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffJSON(generic(t, want), generic(t, b), "", nil) {
		t.Error(d)
	}

	acc := settlement.Accumulators{Year: 2024}
	res := settleFixture(t, "2304_request.json", "2304_person.json", acc, settlement.Level3, "2304_response.json")
	if res.Setlinfo.Totals() != priced.Totals {
		t.Errorf("settled totals %+v differ from priced totals %+v", res.Setlinfo.Totals(), priced.Totals)
	}
	wantAfter := settlement.Accumulators{Year: 2024, MedfeeSumamt: 2000000, InscpSumamt: 1770000, IptAdmissions: 1,
		IptFundPaid: 1394000, CISelfpay: 1770000 - 1394000, FundPaySumamt: 1394000, AcctPaySumamt: 200000,
		CashPaySumamt: 406000, SettlementCount: 1}
	if res.After != wantAfter {
		t.Errorf("after = %+v\nwant    %+v", res.After, wantAfter)
	}
}
