package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// presettleEnv is a settlement service with (svc) and without (plain)
// supervision's pre-settlement check, on one store with seeded persons.
type presettleEnv struct {
	svc, plain *service.Service
	seeded     *service.Seeded
	seq        int
	checks     []time.Duration // durations of the rule checks
}

// timedCheck records how long each pre-settlement check takes.
type timedCheck struct {
	pc   service.PreChecker
	took *[]time.Duration
}

func (c timedCheck) PreSettle(ctx context.Context, b *service.PreSettleBill) ([]service.PreCheckFinding, error) {
	start := time.Now()
	w, err := c.pc.PreSettle(ctx, b)
	*c.took = append(*c.took, time.Since(start))
	return w, err
}

func newPresettleEnv(tb testing.TB, db *store.DB) *presettleEnv {
	tb.Helper()
	return newPresettleEnvRules(tb, db, "testdata/presettle_rules.json")
}

// newPresettleEnvRules is newPresettleEnv with the rule library at rules.
func newPresettleEnvRules(tb testing.TB, db *store.DB, rules string) *presettleEnv {
	tb.Helper()
	ctx := context.Background()
	keys := testKeys(tb)
	seeded, err := service.SeedNode(ctx, db, keys, "440000", 20, 3)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := NewBusiness(BusinessOptions{Keys: keys, Rules: rules})
	if err != nil {
		tb.Fatal(err)
	}
	h := &Host{Config: &config.Config{Node: config.Identity{Admdvs: "440000"}}, DB: db, Hospital: mux.NewRouter(), Admin: mux.NewRouter()}
	if err := NewSubsystemComponent(b.Supervision).Start(ctx, h); err != nil {
		tb.Fatal(err)
	}
	e := &presettleEnv{seeded: seeded}
	for _, pc := range []service.PreChecker{timedCheck{b.preCheck(), &e.checks}, nil} {
		s, err := service.New(service.Options{Admdvs: "440000", DB: db, Keys: keys, Catalogue: service.DemoCatalogue(),
			Policies: service.PolicyMap{"440000": service.DemoPolicy("440000")}, PreCheck: pc,
			Now: func() time.Time { return time.Date(2026, 2, 10, 10, 0, 0, 0, time.UTC) }})
		if err != nil {
			tb.Fatal(err)
		}
		if pc != nil {
			e.svc = s
		} else {
			e.plain = s
		}
	}
	return e
}

// visit registers an outpatient visit of person i at the level-3
// hospital with a surgery (100.00) and cnt of a class-B drug (30.00 each,
// 10 % co-pay) on one day; it returns the 2207 input.
func (e *presettleEnv) visit(tb testing.TB, svc *service.Service, i int, cnt int64) map[string]any {
	tb.Helper()
	p := e.seeded.Persons[i%len(e.seeded.Persons)]
	h := e.seeded.Hospitals[2]
	var reg struct {
		Data struct {
			MdtrtID string `json:"mdtrt_id"`
		} `json:"data"`
	}
	hospitalCall(tb, svc, h, &e.seq, p.Insuplc, "2201", map[string]any{"data": map[string]any{
		"psn_no": p.PsnNo, "insutype": p.Insutype, "begntime": "2026-02-10 09:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno,
		"ipt_otp_no": fmt.Sprintf("OP%d", e.seq), "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A01",
	}}, &reg)
	drug := fen.Yuan(30)
	q := fen.Units(cnt)
	hospitalCall(tb, svc, h, &e.seq, p.Insuplc, "2204", map[string]any{"feedetail": []any{
		map[string]any{"feedetl_sn": "CB01-01", "mdtrt_id": reg.Data.MdtrtID, "psn_no": p.PsnNo, "chrg_bchno": "CB01", "fee_ocur_time": "2026-02-10 09:10:00",
			"med_list_codg": "003301000010000", "medins_list_codg": "HX0033", "det_item_fee_sumamt": fen.Yuan(100), "cnt": fen.Units(1), "pric": fen.Yuan(100)},
		map[string]any{"feedetl_sn": "CB01-02", "mdtrt_id": reg.Data.MdtrtID, "psn_no": p.PsnNo, "chrg_bchno": "CB01", "fee_ocur_time": "2026-02-10 09:20:00",
			"med_list_codg": "XL01XC000A001010100001", "medins_list_codg": "HXXL01", "det_item_fee_sumamt": drug.MulQty(q), "cnt": q, "pric": drug},
	}}, nil)
	tot := settlement.Totals{MedfeeSumamt: fen.Yuan(100) + drug.MulQty(q), PreselfpayAmt: fen.Fen(300 * cnt), InscpScpAmt: fen.Yuan(100) + fen.Fen(2700*cnt)}
	return map[string]any{"data": map[string]any{
		"psn_no": p.PsnNo, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "med_type": "11", "medfee_sumamt": tot.MedfeeSumamt, "psn_setlway": "01",
		"mdtrt_id": reg.Data.MdtrtID, "chrg_bchno": "CB01", "insutype": p.Insutype, "acct_used_flag": "1", "invono": "",
		"fulamt_ownpay_amt": fen.Fen(0), "overlmt_selfpay": fen.Fen(0), "preselfpay_amt": tot.PreselfpayAmt, "inscp_scp_amt": tot.InscpScpAmt}}
}

func (e *presettleEnv) settle(tb testing.TB, svc *service.Service, i int, infno string, input map[string]any) string {
	tb.Helper()
	p := e.seeded.Persons[i%len(e.seeded.Persons)]
	return hospitalCall(tb, svc, e.seeded.Hospitals[2], &e.seq, p.Insuplc, infno, input, nil)
}

// TestPreSettlementWarnings: supervision's rules run in 2206 and 2207
// and their findings come back in warn_msg; a clean bill has none, and
// the service without the check never warns.
func TestPreSettlementWarnings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPresettleEnv(t, db)
		for _, tc := range []struct {
			name string
			svc  *service.Service
			cnt  int64
			want string
		}{
			{"over the daily quantity", e.svc, 10, "R104 超每日最大用量: "},
			{"within the daily quantity", e.svc, 5, ""},
			{"no check", e.plain, 10, ""},
		} {
			in := e.visit(t, tc.svc, 0, tc.cnt)
			for _, infno := range []string{"2206", "2207"} {
				w := e.settle(t, tc.svc, 0, infno, in)
				if tc.want == "" && w != "" || tc.want != "" && !strings.HasPrefix(w, tc.want) {
					t.Errorf("%s %s: warn_msg %q, want %q", tc.name, infno, w, tc.want)
				}
			}
		}
	})
}

// TestPreSettlementBlockingRule: a rule of supervision's library marked
// "block" refuses the 2206 and 2207 it fires on (infcode -1, the rule in
// err_msg) and the 2207 stores nothing; a bill it does not fire on
// settles.
func TestPreSettlementBlockingRule(t *testing.T) {
	raw, err := os.ReadFile("testdata/presettle_rules.json")
	if err != nil {
		t.Fatal(err)
	}
	var lib map[string]any
	if err := json.Unmarshal(raw, &lib); err != nil {
		t.Fatal(err)
	}
	blocked := false
	for _, r := range lib["rules"].([]any) {
		if r := r.(map[string]any); r["id"] == "R104" {
			r["block"], blocked = true, true
		}
	}
	if !blocked {
		t.Fatal("testdata rule library has no R104")
	}
	path := filepath.Join(t.TempDir(), "rules.json")
	raw, _ = json.Marshal(lib)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPresettleEnvRules(t, db, path)
		settled := func() int {
			var n int
			if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM stl_setl`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		in := e.visit(t, e.svc, 0, 10)
		p := e.seeded.Persons[0]
		for _, infno := range []string{"2206", "2207"} {
			r := hospitalResponse(t, e.svc, e.seeded.Hospitals[2], &e.seq, p.Insuplc, infno, in)
			if r.Infcode != -1 || !strings.HasPrefix(r.ErrMsg, "supervision: R104 超每日最大用量: ") || !strings.Contains(r.ErrMsg, "blocking pre-settlement rule") {
				t.Errorf("%s over the daily quantity with R104 blocking: %+v", infno, r)
			}
		}
		if n := settled(); n != 0 {
			t.Errorf("%d settlements stored after a blocked 2207", n)
		}
		if w := e.settle(t, e.svc, 1, "2207", e.visit(t, e.svc, 1, 5)); w != "" {
			t.Errorf("a bill within the daily quantity: warn_msg %q", w)
		}
		if n := settled(); n != 1 {
			t.Errorf("%d settlements stored, want 1", n)
		}
	})
}

// BenchmarkPreSettle2207 settles outpatient visits alternately without
// and with supervision's pre-settlement rules (12 rules, the 2207 path
// in-process on SQLite) and reports each one's median and p99 latency,
// the p99 the check adds and the ratio of the means, and the median and
// p99 of the rule check alone (bill conversion and supervision's rules;
// the fee-line read before it is in the checked latency only).
func BenchmarkPreSettle2207(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	e := newPresettleEnv(b, db)
	ins := make([][2]map[string]any, b.N)
	for i := range ins {
		ins[i] = [2]map[string]any{e.visit(b, e.plain, 2*i, 3), e.visit(b, e.svc, 2*i+1, 3)}
	}
	lat := [2][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}
	e.checks = e.checks[:0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, svc := range []*service.Service{e.plain, e.svc} {
			start := time.Now()
			e.settle(b, svc, 2*i+k, "2207", ins[i][k])
			lat[k] = append(lat[k], time.Since(start))
		}
	}
	b.StopTimer()
	q := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
	}
	mean := func(d []time.Duration) float64 {
		var t time.Duration
		for _, x := range d {
			t += x
		}
		return float64(t) / float64(len(d))
	}
	b.ReportMetric(q(lat[0], 0.5), "plain-p50-ms")
	b.ReportMetric(q(lat[1], 0.5), "checked-p50-ms")
	b.ReportMetric(q(lat[0], 0.99), "plain-p99-ms")
	b.ReportMetric(q(lat[1], 0.99), "checked-p99-ms")
	b.ReportMetric(q(lat[1], 0.99)-q(lat[0], 0.99), "added-p99-ms")
	b.ReportMetric(mean(lat[1])/mean(lat[0]), "ratio")
	b.ReportMetric(q(e.checks, 0.5), "rules-p50-ms")
	b.ReportMetric(q(e.checks, 0.99), "rules-p99-ms")
}
