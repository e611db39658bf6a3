package supervision

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

func TestInput3101(t *testing.T) {
	raw, err := os.ReadFile("testdata/3102_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var in Input3101
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	bills, hists, err := in.Bills()
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 || len(hists[0]) != 1 {
		t.Fatalf("bills %+v hists %+v", bills, hists)
	}
	b := bills[0]
	if !b.Inpatient || b.AdmDate != 20261110 || b.MedinsLv != 3 || b.Medfee != 1800000 || b.FundPay != 1440000 ||
		!slices.Equal(b.Diagnoses, []string{"I21.900", "I10.X00"}) || len(b.Lines) != 3 || b.Lines[1].Amount != 2460 || b.Doctor != "D440106000001" {
		t.Fatalf("bill %+v", b)
	}
	res := Results3101(mustEngine(t).Check(&b, hists[0]))
	var got []string
	for _, r := range res {
		got = append(got, r.RuleID+":"+r.VolaAmt.String())
		if r.PatnID != "44010600000000000001" || r.MdtrtID != "M20261110001" || r.VolaEvid == "" {
			t.Errorf("result %+v", r)
		}
	}
	if want := []string{"R001:50.00", "R007:14400.00", "R009:24.60"}; !slices.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	if d := res[0].Details; len(d) != 1 || d[0].RxID != "RX1" || d[0].VolaItemType != "1" || d[0].VolaAmt != 5000 {
		t.Fatalf("details %+v", d)
	}

	bad := []string{
		`{"data":{"patient_dtos":[{"patn_id":"p","gend":"x","fsi_encounter_dtos":[{"mdtrt_id":"m"}]}]}}`,
		`{"data":{"patient_dtos":[{"patn_id":"p","gend":"1","brdy":"1960-13-01","fsi_encounter_dtos":[{"mdtrt_id":"m"}]}]}}`,
		`{"data":{"patient_dtos":[{"patn_id":"p","gend":"1","curr_mdtrt_id":"z","fsi_encounter_dtos":[{"mdtrt_id":"m"},{"mdtrt_id":"n"}]}]}}`,
		`{"data":{"patient_dtos":[{"patn_id":"p","gend":"1","fsi_encounter_dtos":[{"mdtrt_id":"m","fsi_order_dtos":[{"rx_id":"1","cnt":"1.23456"}]}]}]}}`,
	}
	for i, s := range bad {
		var in Input3101
		if err := json.Unmarshal([]byte(s), &in); err != nil {
			t.Fatal(err)
		}
		if _, _, err := in.Bills(); err == nil {
			t.Errorf("bad input %d accepted", i)
		}
	}
}
