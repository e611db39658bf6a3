package reporting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem/ledgertest"
)

// register is the enrolment figures of the province under test: fixed
// counts by day, the seam the node fills with basic information.
type register struct {
	mu   sync.Mutex
	byTo map[string]EnrolmentCounts // keyed by the CST date of to
}

func (r *register) EnrolmentCounts(_ context.Context, from, to time.Time) (EnrolmentCounts, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byTo[to.In(cst).Format("2006-01-02")], nil
}

var P = ledgertest.Posting

// gdLedger: Guangdong's ledger around 23-25 Nov 2026. On the 23rd a local
// settlement (fund 310100 + 310200, account), a cross-province one of a
// Guangdong person treated in Beijing (payb), one of a Beijing person
// treated here (recv), a reversal of an earlier local settlement, and a
// posting that is no settlement; lines at the first and last instant
// of the 24th; the 25th one local settlement.
func gdLedger() ledgertest.Lines {
	var ls ledgertest.Lines
	for _, p := range []ledgertest.Lines{
		P("L0", "S0", "2026-11-22 23:59:59", "fund:310100", 77700, "hosp:H1", -77700),
		P("L1", "S1", "2026-11-23 08:00:00", "fund:310100", 123456, "fund:310200", 1001, "acct:personal", 2000, "hosp:H1", -126457),
		P("X1", "S2", "2026-11-23 09:00:00", "fund:310100", 50001, "acct:personal", 99, "payb:110000", -50100),
		P("R1", "S3", "2026-11-23 10:00:00", "recv:110000", 8800, "hosp:H2", -8800),
		P("V1", "S0", "2026-11-23 11:00:00", "fund:310100", -77700, "hosp:H1", 77700),
		P("O1", "", "2026-11-23 12:00:00", "fund:310100", 5, "other:x", -5),
		P("sup:F1", "S1", "2026-11-23 13:00:00", "hosp:H1", 1500, "fund:310100", -1000, "fund:310200", -500),
		P("L2", "S4", "2026-11-24 00:00:00", "fund:310100", 300, "hosp:H1", -300),
		P("L3", "S5", "2026-11-24 23:59:59", "fund:310100", 400, "acct:personal", 1, "hosp:H2", -401),
		P("L4", "S6", "2026-11-25 00:00:00", "fund:390100", 900, "hosp:H1", -900),
	} {
		ls = append(ls, p...)
	}
	return ls
}

func TestFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		reg := &register{byTo: map[string]EnrolmentCounts{
			"2026-11-24": {Active: 1000, Suspended: 20, Frozen: 3, New: 7},
			"2026-11-25": {Active: 1002, Suspended: 20, Frozen: 1, New: 2},
			"2026-11-30": {Active: 1010, Suspended: 21, Frozen: 0, New: 12},
		}}
		s := start(t, db, "440000", Options{Ledger: gdLedger(), Enrolment: reg})
		day := func(d string) (time.Time, time.Time) {
			from, to, err := Bounds(KindDaily, d)
			if err != nil {
				t.Fatal(err)
			}
			return from, to
		}
		wf, wt, err := Bounds(KindWeekly, "2026-W48")
		if err != nil || wf.Format("2006-01-02") != "2026-11-23" {
			t.Fatalf("week 48 from %v %v", wf, err)
		}
		for _, c := range []struct {
			name     string
			from, to time.Time
			want     map[string]int64
		}{
			{"23 Nov", first(day("2026-11-23")), second(day("2026-11-23")), map[string]int64{
				"settle_count": 2, "settle_amount": 126457 + 50100,
				"local_count": 1, "local_amount": 126457, "local_rev_count": 1, "local_rev_amount": 77700,
				"xprov_out_count": 1, "xprov_out_amount": 50100, "xprov_in_count": 1, "xprov_in_amount": 8800,
				"fund_expense": 123456 + 1001 + 50001 + 5, "fund_refund": 77700 + 1500, "acct_expense": 2000 + 99,
				"hosp_payable": 126457 + 8800, "hosp_payable_rev": 77700 + 1500, "recv_amount": 8800, "payb_amount": 50100,
				"recovery_count": 1, "recovery_amount": 1500,
				"enrolled": 1023, "enrolled_active": 1000, "enrolled_suspended": 20, "enrolled_frozen": 3, "enrol_new": 7,
			}},
			{"24 Nov, both edges", first(day("2026-11-24")), second(day("2026-11-24")), map[string]int64{
				"settle_count": 2, "settle_amount": 701, "local_count": 2, "local_amount": 701,
				"fund_expense": 700, "acct_expense": 1, "hosp_payable": 701,
				"enrolled": 1023, "enrolled_active": 1002, "enrolled_suspended": 20, "enrolled_frozen": 1, "enrol_new": 2,
			}},
			{"week 48", wf, wt, map[string]int64{
				"settle_count": 5, "settle_amount": 126457 + 50100 + 701 + 900,
				"local_count": 4, "local_amount": 126457 + 701 + 900, "local_rev_count": 1, "local_rev_amount": 77700,
				"xprov_out_count": 1, "xprov_out_amount": 50100, "xprov_in_count": 1, "xprov_in_amount": 8800,
				"fund_expense": 123456 + 1001 + 50001 + 5 + 700 + 900, "fund_refund": 77700 + 1500, "acct_expense": 2000 + 99 + 1,
				"hosp_payable": 126457 + 8800 + 701 + 900, "hosp_payable_rev": 77700 + 1500, "recv_amount": 8800, "payb_amount": 50100,
				"recovery_count": 1, "recovery_amount": 1500,
				"enrolled": 1031, "enrolled_active": 1010, "enrolled_suspended": 21, "enrol_new": 12,
			}},
		} {
			got, err := s.Figures(context.Background(), c.from, c.to)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for k, v := range got {
				if v != c.want[k] {
					t.Errorf("%s: %s = %d, want %d", c.name, k, v, c.want[k])
				}
			}
			for k := range c.want {
				if _, ok := got[k]; !ok {
					t.Errorf("%s: no figure %s", c.name, k)
				}
			}
		}
		if _, err := New(Options{}).Figures(context.Background(), wf, wt); err == nil {
			t.Fatal("figures without a ledger")
		}
	})
}

func first(a, _ time.Time) time.Time  { return a }
func second(_, b time.Time) time.Time { return b }

// outboxIDs lists the province's submissions and their revisions.
func outboxIDs(t *testing.T, s *Service) map[string]int64 {
	t.Helper()
	out, err := s.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, o := range out {
		m[o.ID] = o.Revision
	}
	return m
}

func TestScheduleCatchesUpAfterDowntime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		reg := &register{byTo: map[string]EnrolmentCounts{}}
		ledger := gdLedger()
		opts := func(a string, o *Options) {
			if a == "440000" {
				o.Ledger, o.Enrolment = ledger, reg
			}
		}
		w := newWorld(t, db.Kind(), opts)
		gd := w.provinces["440000"]
		// Tuesday 24 Nov, 01:00: the 23rd and week 47 are closed.
		w.clk.set(time.Date(2026, 11, 24, 1, 0, 0, 0, cst))
		if n, err := gd.RunSchedule(ctx); err != nil || n != 2 {
			t.Fatalf("first run: %d %v", n, err)
		}
		if n, err := gd.RunSchedule(ctx); err != nil || n != 0 {
			t.Fatalf("second run: %d %v", n, err)
		}
		// The node goes down for two days and comes back on the 26th at
		// 00:02, inside the grace: only the 24th is due so far.
		_ = gd.Stop(ctx)
		w.clk.set(time.Date(2026, 11, 26, 0, 2, 0, 0, cst))
		o := Options{Courier: w.wire, Signer: w.signers["440000"], Now: w.clk.now}
		opts("440000", &o)
		gd = start(t, w.dbs["440000"], "440000", o)
		if n, err := gd.RunSchedule(ctx); err != nil || n != 1 {
			t.Fatalf("run inside the grace: %d %v", n, err)
		}
		w.clk.set(time.Date(2026, 11, 26, 0, 10, 0, 0, cst))
		if n, err := gd.RunSchedule(ctx); err != nil || n != 1 {
			t.Fatalf("run after the grace: %d %v", n, err)
		}
		want := map[string]int64{"daily/440000/2026-11-23": 1, "weekly/440000/2026-W47": 1,
			"daily/440000/2026-11-24": 1, "daily/440000/2026-11-25": 1}
		if got := outboxIDs(t, gd); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		// Both missed days reached the national node with their own
		// figures: the 24th after its deadline (25th noon), the 25th before.
		for _, c := range []struct {
			d     string
			n     int64
			state string
		}{{"2026-11-24", 701, StateLate}, {"2026-11-25", 900, StateOnTime}} {
			d := c.d
			var payload string
			if err := w.dbs["100000"].QueryRow(ctx, `SELECT payload FROM rpt_in WHERE id = ?`, "daily/440000/"+d).Scan(&payload); err != nil {
				t.Fatalf("%s at the national node: %v", d, err)
			}
			if want := fmt.Sprintf(`"settle_amount":%d`, c.n); !strings.Contains(payload, want) {
				t.Errorf("%s: %s lacks %s", d, payload, want)
			}
			if got := w.cell(t, KindDaily, "440000", d); got.State != c.state || got.Duplicates != 0 {
				t.Errorf("%s cell %+v, want %s", d, got, c.state)
			}
		}
		// A third restart re-runs nothing.
		_ = gd.Stop(ctx)
		gd = start(t, w.dbs["440000"], "440000", o)
		if n, err := gd.RunSchedule(ctx); err != nil || n != 0 {
			t.Fatalf("run after restart: %d %v", n, err)
		}
		cs, err := gd.Schedule(ctx)
		if err != nil || fmt.Sprintf("%s %s %s %s", cs[0].Kind, cs[0].Period, cs[1].Kind, cs[1].Period) != "daily 2026-11-25 weekly 2026-W47" {
			t.Fatalf("cursors %+v %v", cs, err)
		}
	})
}

func TestWeekMissingThenLate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db.Kind(), func(a string, o *Options) {
			o.Ledger, o.Enrolment = gdLedger(), &register{byTo: map[string]EnrolmentCounts{}}
		})
		gd, bj := w.provinces["440000"], w.provinces["110000"]
		// Both report week 47 on Wednesday 25 Nov.
		w.clk.set(time.Date(2026, 11, 25, 9, 0, 0, 0, cst))
		for _, p := range []*Service{gd, bj} {
			if _, err := p.RunSchedule(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// Guangdong is down from then on; Beijing reports week 48 on
		// Tuesday 1 Dec at 09:00, before the noon deadline.
		w.clk.set(time.Date(2026, 12, 1, 9, 0, 0, 0, cst))
		if _, err := bj.RunSchedule(ctx); err != nil {
			t.Fatal(err)
		}
		if c := w.cell(t, KindWeekly, "440000", "2026-W48"); c.State != StateNotDue {
			t.Fatalf("before the deadline: %+v", c)
		}
		// Wednesday 2 Dec: the deadline (Tuesday noon) has passed.
		w.clk.set(time.Date(2026, 12, 2, 8, 0, 0, 0, cst))
		if c := w.cell(t, KindWeekly, "440000", "2026-W48"); c.State != StateMissing {
			t.Fatalf("not submitted: %+v", c)
		}
		if c := w.cell(t, KindWeekly, "110000", "2026-W48"); c.State != StateOnTime {
			t.Fatalf("Beijing: %+v", c)
		}
		// Guangdong comes back and catches up: week 48 arrives late.
		if _, err := gd.RunSchedule(ctx); err != nil {
			t.Fatal(err)
		}
		if c := w.cell(t, KindWeekly, "440000", "2026-W48"); c.State != StateLate {
			t.Fatalf("submitted late: %+v", c)
		}
		if c := w.cell(t, KindDaily, "440000", "2026-12-01"); c.State != StateOnTime {
			t.Fatalf("1 Dec, before its deadline: %+v", c)
		}
		if c := w.cell(t, KindDaily, "440000", "2026-11-29"); c.State != StateLate {
			t.Fatalf("29 Nov, after its deadline: %+v", c)
		}
	})
}

// period keys the fakes below by the CST dates of from and to.
func period(from, to time.Time) string {
	return from.In(cst).Format("2006-01-02") + "/" + to.In(cst).Format("2006-01-02")
}

// funds is the fund accounts' position by period, the seam the node fills
// with the fund subsystem.
type funds map[string]FundPosition

func (f funds) FundPosition(_ context.Context, from, to time.Time) (FundPosition, error) {
	p, ok := f[period(from, to)]
	if !ok {
		return p, errors.New("fund not ready")
	}
	return p, nil
}

// respTimes is the p95 by period; a period not in the map has no
// measurement.
type respTimes map[string]int64

func (r respTimes) RespP95(_ context.Context, from, to time.Time) (int64, bool, error) {
	if r == nil {
		return 0, false, errors.New("store gone")
	}
	v, ok := r[period(from, to)]
	return v, ok, nil
}

// TestFundAndResponseFigures: the fund position and the response times
// join the ledger's figures, a negative balance is reported as a deficit,
// and a period without accounts or measurements omits the figures.
func TestFundAndResponseFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fp := funds{
			"2026-11-23/2026-11-24": {Accounts: 2, Income: 5000000, Balance: 103606000},
			"2026-11-24/2026-11-25": {Accounts: 1, Balance: -30000},
			"2026-11-25/2026-11-26": {},
			"2026-11-23/2026-11-30": {Accounts: 3, Income: 8001234, Balance: 106547234},
		}
		rt := respTimes{"2026-11-23/2026-11-24": 87, "2026-11-25/2026-11-26": 1, "2026-11-23/2026-11-30": 2001}
		reg := &register{byTo: map[string]EnrolmentCounts{}}
		s := start(t, db, "440000", Options{Ledger: gdLedger(), Enrolment: reg, Fund: fp, RespTimes: rt})
		const none = -1
		for _, c := range []struct {
			kind, period                  string
			income, balance, deficit, p95 int64 // none: omitted
		}{
			{KindDaily, "2026-11-23", 5000000, 103606000, 0, 87},
			{KindDaily, "2026-11-24", 0, 0, 30000, none},
			{KindDaily, "2026-11-25", none, none, none, 1},
			{KindWeekly, "2026-W48", 8001234, 106547234, 0, 2001},
		} {
			from, to, err := Bounds(c.kind, c.period)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Figures(context.Background(), from, to)
			if err != nil {
				t.Fatalf("%s: %v", c.period, err)
			}
			for k, want := range map[string]int64{"fund_income": c.income, "fund_balance": c.balance, "fund_deficit": c.deficit, "resp_p95_ms": c.p95} {
				v, ok := got[k]
				switch {
				case want == none && ok:
					t.Errorf("%s: %s = %d, want none", c.period, k, v)
				case want != none && (!ok || v != want):
					t.Errorf("%s: %s = %d (%v), want %d", c.period, k, v, ok, want)
				}
			}
			if c.period == "2026-11-23" && got["settle_count"] != 2 {
				t.Errorf("%s: settle_count %d", c.period, got["settle_count"])
			}
		}
		from, to, _ := Bounds(KindDaily, "2026-11-22")
		if _, err := s.Figures(context.Background(), from, to); err == nil || !strings.Contains(err.Error(), "fund not ready") {
			t.Errorf("fund failing: %v", err)
		}
		s2 := New(Options{Ledger: gdLedger(), Enrolment: reg, RespTimes: respTimes(nil)})
		if _, err := s2.Figures(context.Background(), from, to); err == nil || !strings.Contains(err.Error(), "store gone") {
			t.Errorf("response times failing: %v", err)
		}
	})
}
