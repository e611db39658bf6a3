package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/payment"
	"github.com/ybfed/ybfed/subsystems/pricing"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// feedEnv is a settlement service and the payment, supervision, reports
// and pricing subsystems wired to it as a node wires them, with the node's
// audit log and their admin API on a test server.
type feedEnv struct {
	db     *store.DB
	keys   *pii.Keyring
	svc    *service.Service
	seeded *service.Seeded
	seq    int
	host   *Host
	biz    *Business
	comps  []Component
	admin  *httptest.Server
	audit  *auditlog.Log
}

func newFeedEnv(t *testing.T, db *store.DB) *feedEnv {
	t.Helper()
	ctx := context.Background()
	e := &feedEnv{db: db, keys: testKeys(t)}
	var err error
	if e.audit, err = auditlog.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	if e.seeded, err = service.SeedNode(ctx, db, e.keys, "440000", 4, 11); err != nil {
		t.Fatal(err)
	}
	e.svc, err = service.New(service.Options{Admdvs: "440000", DB: db, Keys: e.keys, Catalogue: service.DemoCatalogue(),
		Policies: service.PolicyMap{"440000": service.DemoPolicy("440000")},
		Now:      func() time.Time { return time.Date(2026, 2, 10, 10, 0, 0, 0, subsystem.CST) }})
	if err != nil {
		t.Fatal(err)
	}
	e.host = &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440000"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
	e.admin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.host.Admin.ServeHTTP(w, r) }))
	t.Cleanup(e.admin.Close)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// start builds the business subsystems on a fresh admin router (a node
// restart) and starts payment, supervision, reports and pricing; drg says whether
// payment gets its grouping tables.
func (e *feedEnv) start(t *testing.T, drg bool) {
	t.Helper()
	ctx := context.Background()
	sl := SettlementLedger{Service: func() *service.Service { return e.svc }}
	o := BusinessOptions{Keys: e.keys, FundLedger: sl, InstitutionKeys: sl, Cases: SettlementCases{sl}, Bills: SettlementBills{sl},
		Ledger: SettlementRecoveries{sl}, Fees: SettlementFees{sl}, Rules: "testdata/presettle_rules.json", Audit: e.audit}
	if drg {
		o.DRGTables, o.DIPTables = "../subsystems/payment/testdata/drg_tables.json", "../subsystems/payment/testdata/dip_tables.json"
	}
	b, err := NewBusiness(o)
	if err != nil {
		t.Fatal(err)
	}
	e.biz = b
	e.host.Admin = mux.NewRouter()
	e.comps = []Component{NewSubsystemComponent(b.Payment), NewSubsystemComponent(b.Supervision), NewSubsystemComponent(b.Reports), NewSubsystemComponent(b.Pricing)}
	for _, c := range e.comps {
		if err := c.Start(ctx, e.host); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *feedEnv) stop(t *testing.T) {
	for _, c := range e.comps {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}
	e.comps = nil
}

// get reads an admin API path into out and returns the status.
func (e *feedEnv) api(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.admin.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// stay admits an employee at the level-3 hospital (2401), charges a
// procedure (20,000.00) and ten tablets of a class-B drug (30.00 each) on
// one day (2301), discharges with acute myocardial infarction, heart
// failure and a coronary stent (2402) and settles (2304). It returns the
// person, the setl_id, the mdtrt_id and the settlement's medical fee and
// fund payment.
func (e *feedEnv) stay(t *testing.T) (p service.SeedPerson, setlID, mdtrt string, medfee, fundPay fen.Fen) {
	t.Helper()
	for _, sp := range e.seeded.Persons {
		if sp.Insutype == settlement.InsutypeEmployee {
			p = sp
		}
	}
	h := e.seeded.Hospitals[2]
	var adm struct {
		Result struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"result"`
	}
	diag := []any{
		map[string]any{"diag_type": "1", "diag_srt_no": "1", "diag_code": "I21.000", "diag_name": "急性心肌梗死", "diag_time": "2026-02-01 09:00:00"},
		map[string]any{"diag_type": "1", "diag_srt_no": "2", "diag_code": "I50.900", "diag_name": "心力衰竭", "diag_time": "2026-02-01 09:00:00"},
	}
	hospitalCall(t, e.svc, h, &e.seq, p.Insuplc, "2401", map[string]any{"mdtrtinfo": map[string]any{"psn_no": p.PsnNo, "insutype": p.Insutype,
		"begntime": "2026-02-01 08:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "med_type": "21", "ipt_no": fmt.Sprint("IP", e.seq),
		"atddr_no": "D01", "chfpdr_name": "王医生", "adm_dept_codg": "A03", "adm_dept_name": "心内科", "dscg_maindiag_code": "I21.000",
		"dscg_maindiag_name": "急性心肌梗死"}, "diseinfo": diag[:1]}, &adm)
	mdtrt = adm.Result.MdtrtID
	drug := fen.Yuan(30)
	var priced struct {
		Result []settlement.PricedLine `json:"result"`
	}
	hospitalCall(t, e.svc, h, &e.seq, p.Insuplc, "2301", map[string]any{"feedetail": []any{
		map[string]any{"feedetl_sn": "F01", "mdtrt_id": mdtrt, "psn_no": p.PsnNo, "chrg_bchno": "B1", "fee_ocur_time": "2026-02-02 09:10:00",
			"med_list_codg": "003301000010000", "medins_list_codg": "HX0033", "det_item_fee_sumamt": fen.Yuan(20000), "cnt": fen.Units(1), "pric": fen.Yuan(20000)},
		map[string]any{"feedetl_sn": "F02", "mdtrt_id": mdtrt, "psn_no": p.PsnNo, "chrg_bchno": "B1", "fee_ocur_time": "2026-02-02 09:20:00",
			"med_list_codg": "XL01XC000A001010100001", "medins_list_codg": "HXXL01", "det_item_fee_sumamt": drug.MulQty(fen.Units(10)),
			"cnt": fen.Units(10), "pric": drug},
	}}, &priced)
	hospitalCall(t, e.svc, h, &e.seq, p.Insuplc, "2402", map[string]any{"dscginfo": map[string]any{"mdtrt_id": mdtrt, "psn_no": p.PsnNo,
		"insutype": p.Insutype, "endtime": "2026-02-08 10:00:00", "dise_codg": "I21.000", "dise_name": "急性心肌梗死", "dscg_way": "1"},
		"diseinfo": diag, "oprninfo": []any{map[string]any{"main_oprn_flag": "1", "oprn_oprt_code": "36.0601", "oprn_oprt_name": "冠状动脉支架置入",
			"oprn_oprt_date": "2026-02-02 10:00:00"}}}, nil)
	tot := settlement.Sum(priced.Result)
	var out struct {
		Setlinfo struct {
			SetlID        string  `json:"setl_id"`
			MedfeeSumamt  fen.Fen `json:"medfee_sumamt"`
			FundPaySumamt fen.Fen `json:"fund_pay_sumamt"`
		} `json:"setlinfo"`
	}
	hospitalCall(t, e.svc, h, &e.seq, p.Insuplc, "2304", map[string]any{"data": map[string]any{"psn_no": p.PsnNo, "mdtrt_cert_type": "02",
		"mdtrt_cert_no": p.Certno, "med_type": "21", "medfee_sumamt": tot.MedfeeSumamt, "psn_setlway": "01", "mdtrt_id": mdtrt, "chrg_bchno": "",
		"insutype": p.Insutype, "acct_used_flag": "0", "invono": "", "mid_setl_flag": "0", "fulamt_ownpay_amt": tot.FulamtOwnpayAmt,
		"overlmt_selfpay": tot.OverlmtSelfpay, "preselfpay_amt": tot.PreselfpayAmt, "inscp_scp_amt": tot.InscpScpAmt}}, &out)
	return p, out.Setlinfo.SetlID, mdtrt, out.Setlinfo.MedfeeSumamt, out.Setlinfo.FundPaySumamt
}

// waitCase polls payment's API until the settlement's case is recorded.
func (e *feedEnv) waitCase(t *testing.T, setlID string) payment.Recorded {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var r payment.Recorded
		code := e.api(t, "GET", "/payment/v1/cases/"+setlID, nil, &r)
		if code == http.StatusOK {
			return r
		}
		if code != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("case %s: %d", setlID, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInpatientCaseFeed: an inpatient stay settled through the hospital
// API (2401, 2301, 2402, 2304) reaches payment through the case feed,
// which survives a restart while payment cannot group; payment groups it
// (DRG FM13, DIP I21.0:36.06), the month's DRG payment is computed with
// exact fen and the hospital's monthly report carries it; a 2305 cancel
// withdraws the case.
func TestInpatientCaseFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newFeedEnv(t, db)
		// Without grouping tables nothing leaves the feed.
		e.start(t, false)
		p, setlID, mdtrt, medfee, fundPay := e.stay(t)
		if medfee != fen.Yuan(20300) || fundPay <= 0 || fundPay >= medfee {
			t.Fatalf("settled medfee %s fund %s", medfee, fundPay)
		}
		if _, err := e.biz.Payment.Feed(ctx); err == nil {
			t.Fatal("fed without tables")
		}
		pending, err := e.svc.PendingCases(ctx, 10)
		if err != nil || len(pending) != 1 || pending[0].SetlID != setlID {
			t.Fatalf("feed before restart: %v %+v", err, pending)
		}
		c := pending[0]
		if c.MedinsLv != 3 || c.AdmDate != "2026-02-01" || c.DscgDate != "2026-02-08" || c.PsnNo != p.PsnNo ||
			fmt.Sprint(c.Diagnoses) != "[I21.000 I50.900]" || fmt.Sprint(c.Operations) != "[36.0601]" {
			t.Fatalf("case on the feed %+v", c)
		}
		// Restart with tables: the loop drains the feed.
		e.stop(t)
		e.start(t, true)
		r := e.waitCase(t, setlID)
		if r.Case.Medfee != medfee || r.Case.FundPay != fundPay || r.Case.LOS != 7 || r.Case.MainProcedure != "36.0601" ||
			r.Case.MainDiagnosis != "I21.000" || r.Case.DischargeDate.String() != "2026-02-08" || r.Case.Age == 0 {
			t.Fatalf("recorded case %+v", r.Case)
		}
		if r.Grouped.DRG.DRG != "FM13" || r.Grouped.DRG.Weight != 29000 || r.Grouped.DIP.Group != "I21.0:36.06" {
			t.Fatalf("grouped %+v", r.Grouped)
		}
		// The loop acknowledges the case just after recording it.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			pending, err := e.svc.PendingCases(ctx, 10)
			if err == nil && len(pending) == 0 {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("feed after delivery: %v %+v", err, pending)
			}
		}
		// DRG at a base rate of 10,000.00 a weight unit: standard
		// 29,000.00; the patient bore medfee − fund payment, the fund pays
		// the standard less that.
		var res payment.PeriodResult
		if code := e.api(t, "POST", "/payment/v1/periods/2026-02/settle", map[string]any{"method": "DRG", "rate": "1000000"}, &res); code != 200 {
			t.Fatalf("settle: %d", code)
		}
		var hr []payment.HospitalResult
		code := e.api(t, "GET", "/payment/v1/results?period=2026-02", nil, &hr)
		want := fen.Yuan(29000) - (medfee - fundPay)
		if code != 200 || len(hr) != 1 || hr[0].Cases != 1 || hr[0].Standard != fen.Yuan(29000) || hr[0].FundPay != want ||
			hr[0].FundItem != fundPay || hr[0].Diff != want-fundPay || hr[0].Fixmedins != e.seeded.Hospitals[2].Code {
			t.Fatalf("results %d %+v (fund item %s, want DRG payment %s)", code, hr, fundPay, want)
		}
		t.Logf("DRG %s weight %s: medfee %s, fund by item %s, standard %s, DRG payment %s, diff %s",
			r.Grouped.DRG.DRG, r.Grouped.DRG.Weight, medfee, fundPay, hr[0].Standard, hr[0].FundPay, hr[0].Diff)
		// The hospital's monthly report shows the same DRG result.
		if _, err := e.biz.Reports.Generate(ctx, "2026-02"); err != nil {
			t.Fatal(err)
		}
		rep, err := e.biz.Reports.Report(ctx, hr[0].Fixmedins, "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Payment) != 1 || rep.Payment[0].Method != "DRG" || rep.Payment[0].FundPay != want || rep.Payment[0].FundItem != fundPay ||
			rep.Payment[0].Diff != want-fundPay || rep.Payment[0].Cases != 1 {
			t.Fatalf("report DRG section %+v", rep.Payment)
		}
		// 2305 cancels the settlement: the case leaves payment.
		hospitalCall(t, e.svc, e.seeded.Hospitals[2], &e.seq, p.Insuplc, "2305", map[string]any{"data": map[string]any{
			"psn_no": p.PsnNo, "mdtrt_id": mdtrt, "setl_id": setlID}}, nil)
		deadline := time.Now().Add(60 * time.Second)
		for e.api(t, "GET", "/payment/v1/cases/"+setlID, nil, nil) != http.StatusNotFound {
			if time.Now().After(deadline) {
				t.Fatal("cancelled case still recorded")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestFindingTracedToLedger: a batch over the month's settled bills
// finds the over-quantity drug of a settled stay; the finding goes
// through review and confirmation, its recovery is posted from the
// hospital back to the funds, and its trace lists exactly the settlement's
// ledger rows and the recovery's.
func TestFindingTracedToLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newFeedEnv(t, db)
		e.start(t, true)
		_, setlID, _, _, fundPay := e.stay(t)
		var run supervision.RunResult
		if code := e.api(t, "POST", "/supervision/v1/periods/2026-02/run", nil, &run); code != 200 || run.Bills != 1 || run.Lines != 2 || run.Findings != 1 {
			t.Fatalf("run: %d %+v", code, run)
		}
		var fs []supervision.Stored
		if code := e.api(t, "GET", "/supervision/v1/findings?period=2026-02", nil, &fs); code != 200 || len(fs) != 1 {
			t.Fatalf("findings: %d %+v", code, fs)
		}
		f := fs[0]
		// Five tablets above the daily five: 5 × 30.00.
		if f.RuleID != "R104" || f.SetlID != setlID || f.Amount != fen.Yuan(150) || f.Status != supervision.StatusSuspected || len(f.Details) == 0 {
			t.Fatalf("finding %+v", f)
		}
		path := "/supervision/v1/findings/" + url.PathEscape(f.ID)
		if e.api(t, "POST", path+"/decide", supervision.Decision{Action: supervision.ActionReview, Operator: "wang"}, nil) != 200 ||
			e.api(t, "POST", path+"/decide", supervision.Decision{Action: supervision.ActionConfirm, Operator: "li", Recovery: fen.Yuan(120)}, nil) != 200 {
			t.Fatal("workflow failed")
		}
		var tr supervision.Trace
		if code := e.api(t, "GET", path+"/trace", nil, &tr); code != 200 {
			t.Fatalf("trace: %d", code)
		}
		if tr.Finding.Status != supervision.StatusConfirmed || tr.Finding.Recovery == nil || tr.Finding.Recovery.Status != "posted" {
			t.Fatalf("traced finding %+v", tr.Finding)
		}
		// The settlement's rows: exactly its posting in stl_ledger, the
		// funds debited with its fund payment, balanced.
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_ledger l JOIN stl_setl s ON s.msgid = l.posting WHERE s.setl_id = ?`, setlID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var sum, funds fen.Fen
		for _, l := range tr.Ledger {
			sum += l.Amount
			if l.Account[:5] == "fund:" {
				funds += l.Amount
			}
		}
		if len(tr.Ledger) != n || n == 0 || sum != 0 || funds != fundPay {
			t.Fatalf("settlement rows %+v (stl_ledger has %d), fund %s of %s", tr.Ledger, n, funds, fundPay)
		}
		// The recovery: 120.00 of it, from the hospital's payable back to the funds.
		var hosp, back fen.Fen
		for _, l := range tr.Recovery {
			switch {
			case l.Account == "hosp:"+e.seeded.Hospitals[2].Code:
				hosp += l.Amount
			case l.Account[:5] == "fund:":
				back += l.Amount
			default:
				t.Errorf("recovery line on %s", l.Account)
			}
		}
		if hosp != fen.Yuan(120) || back != -fen.Yuan(120) || len(tr.Finding.Recovery.Lines) != len(tr.Recovery) {
			t.Fatalf("recovery rows %+v, posting %+v", tr.Recovery, tr.Finding.Recovery)
		}
		t.Logf("finding %s %s; settlement rows %+v; recovery rows %+v", f.ID, f.Amount, tr.Ledger, tr.Recovery)
		// Posting again changes nothing; the ledger still checks out.
		if _, err := e.biz.Supervision.PostPending(ctx); err != nil {
			t.Fatal(err)
		}
		lines, err := e.svc.PostRecovery(ctx, service.Recovery{Posting: tr.Finding.Recovery.ID, SetlID: setlID, Fixmedins: f.Fixmedins, Amount: fen.Yuan(120)})
		if err != nil || len(lines) != len(tr.Recovery) {
			t.Fatalf("repost: %v %+v", err, lines)
		}
		if _, err := e.svc.PostRecovery(ctx, service.Recovery{Posting: "other", SetlID: setlID, Fixmedins: f.Fixmedins, Amount: fundPay}); err == nil {
			t.Fatal("recovered more than the funds still hold")
		}
		if err := e.svc.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestOverchargeOnSettledFees: pricing checks the fee lines the settlement
// service settled (wired by the node) against the listed prices: the
// procedure charged 20,000.00 where 18,000.00 is listed at level 3 is
// 2,000.00 above; the drug at its listed 30.00 and a price listed for
// another level are not findings; a month without settlements checks
// nothing.
func TestOverchargeOnSettledFees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newFeedEnv(t, db)
		e.start(t, true)
		_, setlID, _, _, _ := e.stay(t)
		for _, p := range []struct {
			item  string
			level int
			price fen.Fen
		}{
			{"003301000010000", 3, fen.Yuan(18000)},
			{"003301000010000", 2, fen.Yuan(15000)},
			{"XL01XC000A001010100001", 3, fen.Yuan(30)},
		} {
			body := pricing.Price{ItemName: "item", Unit: "次", Price: p.price, ValidFrom: "2026-01-01", Operator: "wang", Reason: "2026 list"}
			var out json.RawMessage
			if code := e.api(t, "PUT", fmt.Sprintf("/pricing/v1/prices/%s/%d", p.item, p.level), body, &out); code != 200 {
				t.Fatalf("set price %s/%d: %d", p.item, p.level, code)
			}
		}
		for _, c := range []struct {
			period   string
			lines    int
			findings []string // setl_id/feedetl_sn excess
		}{
			{"2026-02", 2, []string{setlID + "/F01 2000.00"}},
			{"2026-03", 0, nil},
		} {
			var run pricing.OverchargeRun
			if code := e.api(t, "POST", "/pricing/v1/overcharges/run", map[string]any{"period": c.period, "operator": "wang"}, &run); code != 200 {
				t.Fatalf("%s: run %d", c.period, code)
			}
			var got []string
			for _, o := range run.Findings {
				got = append(got, fmt.Sprintf("%s/%s %s", o.SetlID, o.FeedetlSn, o.Excess))
			}
			if run.Lines != c.lines || fmt.Sprint(got) != fmt.Sprint(c.findings) {
				t.Errorf("%s: %d lines, findings %v; want %d, %v", c.period, run.Lines, got, c.lines, c.findings)
			}
		}
	})
}
