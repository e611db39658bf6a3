package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
	"github.com/ybfed/ybfed/subsystems/subsystem"
	"github.com/ybfed/ybfed/subsystems/supervision"
)

// The fee details of a synthetic stay: 30 lines over its five days,
// cycling through eight items, some under rules of
// testdata/presettle_rules.json (a daily quantity, a diagnosis-bound
// drug, duplicate charges, a price cap), and a female-only item.
var benchStayCodes = []string{"120100001000000", "XN02BEA001A001010100001", "250102035000000", "330803007000000",
	"XA10BAA001A001010100001", "C0101010010000000000001", "000000000000001", "000000000000002"}

const benchFemaleOnly = "311201001000000"

// benchStayDiagnoses are the stays' main diagnoses, in turn; only the
// diabetes one allows the diagnosis-bound drug.
var benchStayDiagnoses = [][2]string{{"I21.000", "急性心肌梗死"}, {"J18.900", "肺炎"}, {"E11.900", "2型糖尿病"}, {"K35.800", "急性阑尾炎"}}

// benchCatalogue is the demo catalogue with the items the stays bill.
func benchCatalogue() settlement.CatalogueMap {
	m := service.DemoCatalogue()
	for _, c := range append(slices.Clone(benchStayCodes), benchFemaleOnly) {
		it := settlement.CatalogueItem{Code: c, Name: "项目" + c[len(c)-4:], Class: settlement.ClassA}
		if c[0] == 'X' {
			it.Class, it.SelfpayProp = settlement.ClassB, fen.Percent(10)
		}
		m[c] = it
	}
	return m
}

// benchRules is the node's test rule library plus 20,000 generated item
// limits (4,000 codes under each of five kinds), about the size of a
// province's library, as supervision's own benchmarks use it.
func benchRules(tb testing.TB) *supervision.Engine {
	tb.Helper()
	f, err := os.Open("testdata/presettle_rules.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	base, err := supervision.ParseRules(f)
	if err != nil {
		tb.Fatal(err)
	}
	lib := supervision.Library{Version: base.Version() + "+20000", Admdvs: "440000", Rules: base.Rules()}
	kinds := []supervision.Rule{
		{ID: "G-GEN", Kind: supervision.KindGender, Severity: supervision.SevClear},
		{ID: "A-GEN", Kind: supervision.KindAge, Severity: supervision.SevClear},
		{ID: "L-GEN", Kind: supervision.KindHospitalLevel, Severity: supervision.SevClear},
		{ID: "P-GEN", Kind: supervision.KindPriceCap, Severity: supervision.SevClear},
		{ID: "Q-GEN", Kind: supervision.KindQuantity, Severity: supervision.SevSuspicious},
	}
	for i := range 4000 {
		code := fmt.Sprintf("9%014d", i)
		kinds[0].Items = append(kinds[0].Items, supervision.ItemLimit{Code: code, Gender: catalog.GenderFemale})
		kinds[1].Items = append(kinds[1].Items, supervision.ItemLimit{Code: code, MaxAge: 17})
		kinds[2].Items = append(kinds[2].Items, supervision.ItemLimit{Code: code, MinLevel: 3})
		kinds[3].Items = append(kinds[3].Items, supervision.ItemLimit{Code: code, Cap: fen.Yuan(1000)})
		kinds[4].Items = append(kinds[4].Items, supervision.ItemLimit{Code: code, MaxPerDay: fen.Units(4)})
	}
	lib.Rules = append(lib.Rules, kinds...)
	e, err := supervision.NewEngine(&lib)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// benchHospital sends signed hospital transactions to a settlement
// service; safe for concurrent use (msgids come from the caller).
type benchHospital struct {
	svc     *service.Service
	seeded  *service.Seeded
	insuplc string
}

// call sends infno with input as hospital h under the call's number k
// (which makes the msgid) and decodes the output into out.
func (bh *benchHospital) call(ctx context.Context, h service.SeedHospital, k int, infno string, input, out any) error {
	in, err := json.Marshal(input)
	if err != nil {
		return err
	}
	at := time.Date(2026, 2, 28, 10, 0, 0, 0, subsystem.CST).Add(time.Duration(k/10000) * time.Second)
	req := settlement.Request{Infno: infno, Msgid: h.Code + at.Format("20060102150405") + fmt.Sprintf("%04d", k%10000),
		MdtrtareaAdmvs: h.Admdvs, InsuplcAdmdvs: bh.insuplc, RecerSysCode: "FSI_LOCAL", Infver: "V1.0", OpterType: "1", Opter: "0012",
		OpterName: "收费员", InfTime: at.Format("2006-01-02 15:04:05"), FixmedinsCode: h.Code, FixmedinsName: h.Name, Input: in}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sig, err := service.SignRequest(h.SignKey, body)
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	var r settlement.Response
	if err := json.Unmarshal(bh.svc.Call(ctx, h.Code, raw, body), &r); err != nil {
		return fmt.Errorf("%s: %w", infno, err)
	}
	if r.Infcode != 0 {
		return fmt.Errorf("%s: infcode %d: %s", infno, r.Infcode, r.ErrMsg)
	}
	if out != nil {
		if err := json.Unmarshal(r.Output, out); err != nil {
			return fmt.Errorf("%s output: %w", infno, err)
		}
	}
	return nil
}

// stay settles stay i as a hospital does: admission (2401), the 31 fee
// details in one upload (2301), discharge (2402) and settlement (2304).
// Person i mod len(persons) stays four days from 2026-02-(1 + 7k + i mod
// 2), k the person's earlier stays this month, at hospital i mod 3.
func (bh *benchHospital) stay(ctx context.Context, i int) error {
	ps := bh.seeded.Persons
	p, h := ps[i%len(ps)], bh.seeded.Hospitals[i%len(bh.seeded.Hospitals)]
	adm := time.Date(2026, 2, 1+7*(i/len(ps))+i%2, 8, 0, 0, 0, subsystem.CST)
	diag := benchStayDiagnoses[i%len(benchStayDiagnoses)]
	dise := []any{map[string]any{"diag_type": "1", "diag_srt_no": "1", "diag_code": diag[0], "diag_name": diag[1],
		"diag_time": adm.Format("2006-01-02 15:04:05")}}
	var a struct {
		Result struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"result"`
	}
	err := bh.call(ctx, h, 4*i, "2401", map[string]any{"mdtrtinfo": map[string]any{"psn_no": p.PsnNo, "insutype": p.Insutype,
		"begntime": adm.Format("2006-01-02 15:04:05"), "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "med_type": "21",
		"ipt_no": fmt.Sprint("IP", i), "atddr_no": "D01", "chfpdr_name": "王医生", "adm_dept_codg": "A03", "adm_dept_name": "内科",
		"dscg_maindiag_code": diag[0], "dscg_maindiag_name": diag[1]}, "diseinfo": dise}, &a)
	if err != nil {
		return err
	}
	mdtrt := a.Result.MdtrtID
	fee := make([]any, 0, 31)
	add := func(sn, code string, day int, cnt fen.Qty, pric fen.Fen) {
		fee = append(fee, map[string]any{"feedetl_sn": sn, "mdtrt_id": mdtrt, "psn_no": p.PsnNo, "chrg_bchno": "B1",
			"fee_ocur_time": adm.AddDate(0, 0, day).Add(time.Hour).Format("2006-01-02 15:04:05"), "med_list_codg": code,
			"medins_list_codg": "HX" + code[len(code)-4:], "det_item_fee_sumamt": pric.MulQty(cnt), "cnt": cnt, "pric": pric})
	}
	for j := range 30 {
		cnt := fen.Units(1)
		if j == 1 {
			cnt = fen.Units(6) // above the daily four of R004
		}
		add(fmt.Sprintf("F%02d", j), benchStayCodes[j%len(benchStayCodes)], j%5, cnt, fen.Yuan(100))
	}
	add("F99", benchFemaleOnly, 0, fen.Units(1), fen.Yuan(500))
	var priced struct {
		Result []settlement.PricedLine `json:"result"`
	}
	if err := bh.call(ctx, h, 4*i+1, "2301", map[string]any{"feedetail": fee}, &priced); err != nil {
		return err
	}
	err = bh.call(ctx, h, 4*i+2, "2402", map[string]any{"dscginfo": map[string]any{"mdtrt_id": mdtrt, "psn_no": p.PsnNo,
		"insutype": p.Insutype, "endtime": adm.AddDate(0, 0, 4).Add(2 * time.Hour).Format("2006-01-02 15:04:05"), "dise_codg": diag[0],
		"dise_name": diag[1], "dscg_way": "1"}, "diseinfo": dise}, nil)
	if err != nil {
		return err
	}
	tot := settlement.Sum(priced.Result)
	return bh.call(ctx, h, 4*i+3, "2304", map[string]any{"data": map[string]any{"psn_no": p.PsnNo, "mdtrt_cert_type": "02",
		"mdtrt_cert_no": p.Certno, "med_type": "21", "medfee_sumamt": tot.MedfeeSumamt, "psn_setlway": "01", "mdtrt_id": mdtrt,
		"chrg_bchno": "", "insutype": p.Insutype, "acct_used_flag": "0", "invono": "", "mid_setl_flag": "0",
		"fulamt_ownpay_amt": tot.FulamtOwnpayAmt, "overlmt_selfpay": tot.OverlmtSelfpay, "preselfpay_amt": tot.PreselfpayAmt,
		"inscp_scp_amt": tot.InscpScpAmt}}, nil)
}

// fillStays settles n stays with two hospital clients (a person's stays
// all go through one client, in order).
func (bh *benchHospital) fillStays(ctx context.Context, n int) error {
	const clients = 2
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; i < n; i += clients {
				if err := bh.stay(ctx, i); err != nil {
					errs[c] = fmt.Errorf("stay %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// benchStays is the number of stays BenchmarkBatchMillion settles: 32,259
// of 31 fee details are 1,000,029 details. YBFED_BENCH_STAYS overrides it
// (a smaller run to try the benchmark); -short settles 500.
func benchStays(tb testing.TB) int {
	n := 32259
	if testing.Short() {
		n = 500 // make check runs each benchmark once to keep it working
	}
	if s := os.Getenv("YBFED_BENCH_STAYS"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			tb.Fatalf("YBFED_BENCH_STAYS=%q", s)
		}
	}
	return n
}

// BenchmarkBatchMillion is issue 11's batch supervision over 1,000,000
// settlement details on SQLite, on the real path: 32,259 inpatient stays of
// 31 fee details are settled once, before the timer, through the settlement
// service's hospital API (2401, 2301, 2402, 2304; "fill-s" is how long that
// took); each run is supervision's RunPeriod for the month reading them
// through node.SettlementBills (the service's SettledBills), checking them
// against a province-sized library (20,000 item limits beside the test
// rules) and storing the findings; each run starts without findings or
// stays. It reports the median run ("s/run"), the median CPU time of the
// process during a run ("cpu-s/run", which a busy machine does not
// inflate) and, as the reference measured in the same run, the median of
// the pure engine over the same bills already in memory with the same
// history ("engine-s/run"), and their ratio ("x-engine").
func BenchmarkBatchMillion(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, store.SQLite)
	keys := testKeys(b)
	n := benchStays(b)
	persons := min(n, 10006) // even: a person's stays stay with one client
	seeded, err := service.SeedNode(ctx, db, keys, "440000", persons, 11)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := service.New(service.Options{Admdvs: "440000", DB: db, Keys: keys, Catalogue: benchCatalogue(),
		Policies: service.PolicyMap{"440000": service.DemoPolicy("440000")},
		Now:      func() time.Time { return time.Date(2026, 2, 28, 12, 0, 0, 0, subsystem.CST) }})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	bh := &benchHospital{svc: svc, seeded: seeded, insuplc: service.SeedCity("440000")}
	if err := bh.fillStays(ctx, n); err != nil {
		b.Fatal(err)
	}
	fill := time.Since(t0)

	sl := SettlementLedger{Service: func() *service.Service { return svc }}
	biz, err := NewBusiness(BusinessOptions{Keys: keys, Bills: SettlementBills{sl}, Ledger: SettlementRecoveries{sl}})
	if err != nil {
		b.Fatal(err)
	}
	host := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440000"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
	comp := NewSubsystemComponent(biz.Supervision)
	if err := comp.Start(ctx, host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = comp.Stop(ctx) })
	e := benchRules(b)
	biz.Supervision.SetRules(e)

	// The reference: the same bills, read once, in memory, with the
	// history a run sees (the month's stays).
	var mem []supervision.Bill
	details := 0
	err = (SettlementBills{sl}).SettledBills(ctx, "2026-02", func(x *supervision.Bill) error {
		mem = append(mem, *x)
		details += len(x.Lines)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(mem) != n || details != 31*n {
		b.Fatalf("read %d bills of %d details, settled %d of %d", len(mem), details, n, 31*n)
	}
	hist := map[string][]supervision.Episode{}
	for i := range mem {
		x := &mem[i]
		if x.Inpatient && x.AdmDate != 0 && x.DscgDate != 0 {
			ep := supervision.Episode{SetlID: x.SetlID, Fixmedins: x.Fixmedins, AdmDate: x.AdmDate, DscgDate: x.DscgDate}
			if len(x.Diagnoses) > 0 {
				ep.MainDiagnosis = x.Diagnoses[0]
			}
			hist[x.PsnNo] = append(hist[x.PsnNo], ep)
		}
	}

	var runs, refs, cpus []time.Duration
	var findings int64
	for b.Loop() {
		b.StopTimer()
		for _, t := range []string{"sup_finding", "sup_episode", "sup_run"} {
			if _, err := db.SQL().ExecContext(ctx, `DELETE FROM `+t); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		var want int
		for i := range mem {
			want += len(e.Check(&mem[i], hist[mem[i].PsnNo]))
		}
		refs = append(refs, time.Since(t0))
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime(b)
		res, err := biz.Supervision.RunPeriod(ctx, "2026-02")
		if err != nil {
			b.Fatal(err)
		}
		runs, cpus = append(runs, time.Since(t0)), append(cpus, cpuTime(b)-c0)
		if res.Bills != int64(n) || res.Lines != int64(details) || res.Findings != int64(want) || want == 0 {
			b.Fatalf("run checked %d bills, %d lines (settled %d, %d), %d findings (engine alone %d)", res.Bills, res.Lines, n, details, res.Findings, want)
		}
		findings = res.Findings
	}
	med := func(ds []time.Duration) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2].Seconds()
	}
	b.ReportMetric(float64(details), "details")
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(fill.Seconds(), "fill-s")
	b.ReportMetric(med(runs), "s/run")
	b.ReportMetric(med(cpus), "cpu-s/run")
	b.ReportMetric(med(refs), "engine-s/run")
	b.ReportMetric(med(runs)/med(refs), "x-engine")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
