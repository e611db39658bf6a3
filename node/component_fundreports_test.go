package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/fund"
	"github.com/ybfed/ybfed/subsystems/reports"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// hospitalCall sends one signed hospital transaction to svc, decodes
// the output and returns the answer's warn_msg; infcode ≠ 0 fails.
func hospitalCall(tb testing.TB, svc *service.Service, h service.SeedHospital, seq *int, insuplc, infno string, input, out any) string {
	tb.Helper()
	r := hospitalResponse(tb, svc, h, seq, insuplc, infno, input)
	if r.Infcode != 0 {
		tb.Fatalf("%s: %+v", infno, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Output, out); err != nil {
			tb.Fatal(err)
		}
	}
	return r.WarnMsg
}

// hospitalResponse sends one signed hospital request as hospitalCall does
// and returns the answer, whatever its infcode.
func hospitalResponse(tb testing.TB, svc *service.Service, h service.SeedHospital, seq *int, insuplc, infno string, input any) settlement.Response {
	tb.Helper()
	*seq++
	in, _ := json.Marshal(input)
	at := time.Date(2026, 2, 10, 10, 0, 0, 0, subsystem.CST).Add(time.Duration(*seq/10000) * time.Second)
	req := settlement.Request{Infno: infno, Msgid: h.Code + at.Format("20060102150405") + fmt.Sprintf("%04d", *seq%10000), MdtrtareaAdmvs: h.Admdvs, InsuplcAdmdvs: insuplc,
		RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012", OpterName: "收费员",
		InfTime: "2026-02-10 10:00:00", FixmedinsCode: h.Code, FixmedinsName: h.Name, Input: in}
	body, _ := json.Marshal(req)
	sig, err := service.SignRequest(h.SignKey, body)
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sig)
	var r settlement.Response
	if err := json.Unmarshal(svc.Call(context.Background(), h.Code, raw, body), &r); err != nil {
		tb.Fatalf("%s: %v", infno, err)
	}
	return r
}

// ledgerNode seeds Guangdong's persons and hospitals in db and starts a
// settlement service on it whose clock stands at 10 Feb 2026 10:00 CST
// (hospitalCall's time), with its ledger as the subsystems read it.
func ledgerNode(ctx context.Context, t *testing.T, db *store.DB) (*pii.Keyring, *service.Seeded, *service.Service, SettlementLedger) {
	t.Helper()
	keys := testKeys(t)
	seeded, err := service.SeedNode(ctx, db, keys, "440000", 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 2, 10, 10, 0, 0, 0, subsystem.CST)
	svc, err := service.New(service.Options{Admdvs: "440000", DB: db, Keys: keys, Catalogue: service.DemoCatalogue(),
		Policies: service.PolicyMap{"440000": service.DemoPolicy("440000")}, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return keys, seeded, svc, SettlementLedger{Service: func() *service.Service { return svc }}
}

// TestFundAndReportsOnSettlementLedger runs the fund and report
// subsystems on a real settlement service: outpatient settlements at one
// hospital become the 310 fund's expenditure and the hospital's monthly
// report; both trace to exactly the ledger rows the settlement posted, and
// another hospital cannot read the report.
func TestFundAndReportsOnSettlementLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		keys, seeded, svc, ledger := ledgerNode(ctx, t, db)
		audit, err := auditlog.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewBusiness(BusinessOptions{Keys: keys, FundLedger: ledger, InstitutionKeys: ledger, Audit: audit})
		if err != nil {
			t.Fatal(err)
		}
		h := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440000"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
		for _, c := range []Component{NewSubsystemComponent(b.Payment), NewSubsystemComponent(b.Fund), NewSubsystemComponent(b.Reports)} {
			if err := c.Start(ctx, h); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(ctx)
		}
		admin, hosp := httptest.NewServer(h.Admin), httptest.NewServer(h.Hospital)
		defer admin.Close()
		defer hosp.Close()

		// Two employees settle an outpatient visit each at hospital A.
		ha, hb := seeded.Hospitals[2], seeded.Hospitals[1]
		seq := 0
		settled := 0
		for _, p := range seeded.Persons {
			if p.Insutype != settlement.InsutypeEmployee || settled == 2 {
				continue
			}
			settled++
			var reg struct {
				Data struct {
					MdtrtID string `json:"mdtrt_id"`
				} `json:"data"`
			}
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2201", map[string]any{"data": map[string]any{
				"psn_no": p.PsnNo, "insutype": p.Insutype, "begntime": "2026-02-10 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno,
				"ipt_otp_no": fmt.Sprintf("OP%d", seq), "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A01",
			}}, &reg)
			price := fen.Yuan(2500)
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2204", map[string]any{"feedetail": []any{map[string]any{
				"feedetl_sn": "CB01-01", "mdtrt_id": reg.Data.MdtrtID, "psn_no": p.PsnNo, "chrg_bchno": "CB01", "fee_ocur_time": "2026-02-10 09:10:00",
				"med_list_codg": "003301000010000", "medins_list_codg": "HX0033", "det_item_fee_sumamt": price, "cnt": fen.MustParseQty("1"), "pric": price}}}, nil)
			hospitalCall(t, svc, ha, &seq, p.Insuplc, "2207", map[string]any{"data": map[string]any{
				"psn_no": p.PsnNo, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "med_type": "11", "medfee_sumamt": price, "psn_setlway": "01",
				"mdtrt_id": reg.Data.MdtrtID, "chrg_bchno": "CB01", "insutype": p.Insutype, "acct_used_flag": "1", "invono": "",
				"fulamt_ownpay_amt": fen.Fen(0), "overlmt_selfpay": fen.Fen(0), "preselfpay_amt": fen.Fen(0), "inscp_scp_amt": price}}, nil)
		}
		if settled != 2 {
			t.Fatalf("seeded %d employees", settled)
		}
		// What the settlement service booked.
		bal, err := svc.Balances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var fund310 fen.Fen
		for a, v := range bal {
			if strings.HasPrefix(a, "fund:310") {
				fund310 += v
			}
		}
		payable := -bal["hosp:"+ha.Code]
		if fund310 <= 0 || payable < fund310 {
			t.Fatalf("ledger %v", bal)
		}

		// Fund: the February expenditure of 310 is the ledger's, and its
		// trace lists the ledger's fund:310 rows.
		if _, err := b.Fund.SetBudget(ctx, "op", fund.Budget{Insutype: "310", Period: "2026-02"}); err == nil {
			t.Fatal("budget of an account not open")
		}
		if err := b.Fund.PutAccount(ctx, "op", fund.Account{Insutype: "310", Name: "职工统筹", Opened: "2026-01"}); err != nil {
			t.Fatal(err)
		}
		f, err := b.Fund.Figures(ctx, "310", "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		if f.Expenditure != fund310 || f.Balance != -fund310 {
			t.Fatalf("fund figures %+v, ledger 310 %s", f, fund310)
		}
		tr, err := b.Fund.Trace(ctx, "310", "2026-02", fund.FigureExpenditure)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_ledger WHERE account LIKE 'fund:310%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		rows := tr.Ledger
		var sum fen.Fen
		for _, l := range rows {
			var amt int64
			if err := db.QueryRow(ctx, `SELECT amount FROM stl_ledger WHERE posting = ? AND line = ? AND account = ?`, l.Posting, l.Line, l.Account).Scan(&amt); err != nil || fen.Fen(amt) != l.Amount {
				t.Fatalf("traced row %+v not in stl_ledger: %v %d", l, err, amt)
			}
			sum += l.Amount
		}
		if len(rows) != n || sum != f.Expenditure {
			t.Fatalf("trace: %d rows summing to %s; stl_ledger has %d fund:310 rows, figure %s", len(rows), sum, n, f.Expenditure)
		}

		// Reports: A's report carries the ledger's figures and its rows.
		if n, err := b.Reports.Generate(ctx, "2026-02"); err != nil || n != 1 {
			t.Fatalf("generate: %d %v", n, err)
		}
		rep, err := b.Reports.Report(ctx, ha.Code, "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Payable != payable || rep.FundTotal != fund310 || rep.AcctPay != bal["acct:personal"] {
			t.Fatalf("report %+v, ledger %v", rep, bal)
		}
		src, err := b.Reports.Sources(ctx, ha.Code, "2026-02")
		if err != nil {
			t.Fatal(err)
		}
		var all int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM stl_ledger`).Scan(&all); err != nil {
			t.Fatal(err)
		}
		if len(src) != all {
			t.Fatalf("report rows %d, ledger rows %d (all at hospital A)", len(src), all)
		}
		// Hospital B, though registered and signing correctly, cannot
		// read A's report; A can.
		get := func(as service.SeedHospital) int {
			req, _ := http.NewRequest("GET", hosp.URL+"/reports/v1/institutions/"+ha.Code+"/2026-02?format=csv", nil)
			if err := reports.Sign(req, as.Code, as.SignKey, time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == 200 && !bytes.Contains(body, []byte("应付机构金额,"+payable.String())) {
				t.Fatalf("csv %s", body)
			}
			return resp.StatusCode
		}
		if a, bb := get(ha), get(hb); a != 200 || bb != 403 {
			t.Fatalf("A reads its report: %d; B reads A's: %d", a, bb)
		}
	})
}
