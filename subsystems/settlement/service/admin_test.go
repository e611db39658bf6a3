package service

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

func adminServer(t *testing.T, svc *Service) string {
	t.Helper()
	r := mux.NewRouter()
	svc.RegisterAdmin(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

func postJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// TestCrossProvinceFiling: the insured place (policy 440300) refuses
// unfiled cross-province visits. Without a filing, or with an expired one,
// the routed 2207 is answered −1 and nothing is stored; after an agency
// registers a temporary filing on the admin API it settles at the ratio
// reduced by 10 points.
func TestCrossProvinceFiling(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, store.SQLite, 20*time.Second, Options{Policies: PolicyMap{"440300": fixturePolicy(t)}})
	var person settlement.Person
	mustReadJSON(t, "2207_person.json", &person)
	person.BaseInfo.Certno, person.Filings = "440301199001011234", nil
	if err := f.insured.svc.PutPerson(ctx, &person); err != nil {
		t.Fatal(err)
	}
	psn := person.BaseInfo.PsnNo
	if err := f.insured.svc.PutAccumulators(ctx, psn, "310", settlement.Accumulators{Year: 2024, OtpDedcUsed: 180000}); err != nil {
		t.Fatal(err)
	}
	// The treatment node's hospital registers through the admin API.
	key, err := sm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	treatAdmin := adminServer(t, f.treat.svc)
	if code, body := postJSON(t, treatAdmin+PathAdminHospitals, HospitalRegistration{Code: "H11010500123", Name: "某某医院", Admdvs: "110105",
		Level: 3, PublicKey: hex.EncodeToString(key.Public().Bytes())}); code != http.StatusNoContent {
		t.Fatalf("register hospital: %d %s", code, body)
	}
	h := &hospClient{code: "H11010500123", name: "某某医院", admdvs: "110105", key: key, url: f.treat.url, hc: http.DefaultClient, day: "20240315103015"}
	mdtrt := outpatient(t, h, psn, "310", "440300", "CB01", example2207)
	data := settleData(psn, mdtrt, "CB01", "310", "11", totals2207)
	refused := func(when string) {
		t.Helper()
		r, _ := h.call(t, "2207", h.msgid(), "440300", data)
		if r.Infcode != -1 || !strings.Contains(r.ErrMsg, "no valid cross-province medical filing (异地就医备案) for 110105 on 2024-03-15") {
			t.Fatalf("%s: %+v", when, r)
		}
		if count(t, f.insured.db, "stl_setl") != 0 || count(t, f.treat.db, "stl_setl") != 0 {
			t.Fatalf("%s: a refused settlement was stored", when)
		}
	}
	refused("without a filing")

	insAdmin := adminServer(t, f.insured.svc)
	expired := FilingRegistration{PsnNo: psn, Filing: settlement.Filing{Kind: settlement.FilingTemporary, Admdvs: "110000", Begndate: "2023-06-01", Enddate: "2024-02-29"}}
	if code, body := postJSON(t, insAdmin+PathAdminFilings, expired); code != http.StatusOK {
		t.Fatalf("register filing: %d %s", code, body)
	}
	refused("with an expired filing")
	if code, _ := postJSON(t, insAdmin+PathAdminFilings, expired); code != http.StatusConflict {
		t.Errorf("duplicate filing: %d", code)
	}
	if code, _ := postJSON(t, insAdmin+PathAdminFilings, FilingRegistration{PsnNo: "nobody", Filing: expired.Filing}); code != http.StatusNotFound {
		t.Errorf("filing for an unknown person: %d", code)
	}
	valid := FilingRegistration{PsnNo: psn, Filing: settlement.Filing{Kind: settlement.FilingTemporary, Admdvs: "110000", Begndate: "2024-03-01", Enddate: "2024-08-31"}}
	if code, body := postJSON(t, insAdmin+PathAdminFilings, valid); code != http.StatusOK {
		t.Fatalf("register filing: %d %s", code, body)
	}
	var out settleOut
	h.ok(t, "2207", "440300", data, &out)
	// Temporary filing: 50% − 10 points = 40% of 420.00.
	if out.Setlinfo.PoolPropSelfpay != fen.Percent(40) || out.Setlinfo.HifpPay != 16800 {
		t.Errorf("settled %+v", out.Setlinfo)
	}
}

// TestAdminPersonAndState: a person registered on the admin API can be
// settled for, and the state endpoint then shows the settlement in force,
// balanced books and accumulators that count it; a person of another
// province is refused.
func TestAdminPersonAndState(t *testing.T) {
	n := startNode(t, storetest.Open(t, store.SQLite), Options{Admdvs: "440000"})
	url := adminServer(t, n.svc)
	var person settlement.Person
	mustReadJSON(t, "2207_person.json", &person)
	person.BaseInfo.PsnNo, person.BaseInfo.Certno = "44000000000000000099", "440301199001011299"
	for i := range person.Insurance {
		person.Insurance[i].InsuplcAdmdvs = "440100"
	}
	if code, body := postJSON(t, url+PathAdminPersons, person); code != http.StatusNoContent {
		t.Fatalf("register person: HTTP %d %s", code, body)
	}
	other := person
	other.Insurance = []settlement.Insurance{{Insutype: "310", InsuplcAdmdvs: "110100", PsnInsuStas: "1"}}
	if code, body := postJSON(t, url+PathAdminPersons, other); code != http.StatusBadRequest || !strings.Contains(body, "not in this node's province") {
		t.Fatalf("person of another province: HTTP %d %s", code, body)
	}
	h := newHospital(t, n, "H44010000123", "440100", settlement.Level3)
	mdtrt := outpatient(t, h, person.BaseInfo.PsnNo, person.Insurance[0].Insutype, "440100", "CB01", example2207)
	tot, _, err := feeTotals(context.Background(), n.db, mdtrt, "CB01")
	if err != nil {
		t.Fatal(err)
	}
	h.ok(t, "2207", "440100", settleData(person.BaseInfo.PsnNo, mdtrt, "CB01", person.Insurance[0].Insutype, "11", tot), nil)
	resp, err := http.Get(url + PathAdminState)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Admdvs != "440000" || st.Ledger != "ok" || st.Accumulators != "ok" || st.Settled[roleLocal] != 1 || st.Pending != 0 || len(st.Routed) != 0 {
		t.Errorf("state %+v", st)
	}
	if st.Balances[AccountHospital+h.code] >= 0 {
		t.Errorf("hospital account %s after a settlement", st.Balances[AccountHospital+h.code])
	}
}
