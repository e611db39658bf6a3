package supervision

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// dbLedger is a small double-entry ledger in the test database, standing
// where the node wires the fund ledger: it refuses unbalanced postings and
// ignores a posting it already has.
type dbLedger struct{ db *store.DB }

var _ Ledger = dbLedger{}

func (l dbLedger) PostRecovery(ctx context.Context, p Posting) ([]PostingLine, error) {
	var sum fen.Fen
	for _, ln := range p.Lines {
		sum += ln.Amount
	}
	if sum != 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return p.Lines, l.db.Tx(ctx, func(tx *store.Tx) error {
		for i, ln := range p.Lines {
			if _, err := tx.Exec(ctx, `INSERT INTO t_ledger (posting, line, account, amount, setl_id) VALUES (?,?,?,?,?)
				ON CONFLICT (posting, line) DO NOTHING`, p.ID, i, ln.Account, int64(ln.Amount), p.SetlID); err != nil {
				return err
			}
		}
		return nil
	})
}

// LedgerLines reads the lines of one settlement (the only query a trace
// makes).
func (l dbLedger) LedgerLines(ctx context.Context, q subsystem.LedgerQuery, fn func(subsystem.LedgerLine) error) error {
	rows, err := l.db.Query(ctx, `SELECT posting, line, account, amount, setl_id FROM t_ledger WHERE setl_id = ? ORDER BY posting, line`, q.SetlID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ln subsystem.LedgerLine
		if err := rows.Scan(&ln.Posting, &ln.Line, &ln.Account, &ln.Amount, &ln.SetlID); err != nil {
			return err
		}
		if err := fn(ln); err != nil {
			return err
		}
	}
	return rows.Err()
}

func startService(t *testing.T, db *store.DB, o Options) (*Service, *httptest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := New(o)
	d := s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	admin := mux.NewRouter()
	if err := s.Start(ctx, subsystem.Env{DB: db, Admin: admin}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin)
	t.Cleanup(srv.Close)
	return s, srv
}

func call(t *testing.T, srv *httptest.Server, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestServiceWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE t_ledger (posting TEXT, line INTEGER, account TEXT, amount BIGINT, setl_id TEXT, PRIMARY KEY (posting, line))`); err != nil {
			t.Fatal(err)
		}
		s, srv := startService(t, db, Options{Ledger: dbLedger{db}})
		if code := call(t, srv, "POST", "/supervision/v1/check", baseBill(), nil); code != http.StatusServiceUnavailable {
			t.Fatalf("check without rules: %d", code)
		}
		s.SetRules(mustEngine(t))

		// Two stays of one person at one hospital, 4 days apart, and a
		// man charged a gynaecological examination.
		first := baseBill()
		first.SetlID, first.Inpatient, first.AdmDate, first.DscgDate = "S1", true, 20261101, 20261106
		first.Diagnoses, first.FundPay = []string{"I21.000"}, 1800000
		first.Lines = first.Lines[:1]
		second := first
		second.SetlID, second.MdtrtID, second.AdmDate, second.DscgDate, second.SetlDate = "S2", "M2", 20261110, 20261118, 20261118
		third := baseBill()
		third.SetlID, third.PsnNo = "S3", "P3"
		third.Lines = append(third.Lines, line("3", "311201001000000", day, "1", "50.00"))
		var run RunResult
		if code := call(t, srv, "POST", "/supervision/v1/batch", map[string]any{"period": "2026-11", "bills": []Bill{first, second, third}}, &run); code != 200 ||
			run.Bills != 3 || run.Findings != 2 || run.Added != 2 {
			t.Fatalf("batch: %d %+v", code, run)
		}
		if code := call(t, srv, "POST", "/supervision/v1/batch", map[string]any{"period": "2026-11", "bills": []Bill{first, second, third}}, &run); code != 200 || run.Added != 0 {
			t.Fatalf("rerun: %d %+v", code, run)
		}
		// A third admission checked before settlement sees the stored stays.
		pre := second
		pre.SetlID, pre.AdmDate, pre.DscgDate = "", 20261125, 20261128
		var chk struct{ Result []Finding }
		if code := call(t, srv, "POST", "/supervision/v1/check", pre, &chk); code != 200 || len(chk.Result) != 1 ||
			chk.Result[0].RuleID != "R007" || chk.Result[0].Evidence["prev_setl_id"] != "S2" {
			t.Fatalf("pre-check: %d %+v", code, chk)
		}

		// The NHSA 3102 form of the same check.
		raw, err := os.ReadFile("testdata/3102_request.json")
		if err != nil {
			t.Fatal(err)
		}
		var req3102 any
		if err := json.Unmarshal(raw, &req3102); err != nil {
			t.Fatal(err)
		}
		var out3102 struct{ Result []Result3101 }
		if code := call(t, srv, "POST", "/supervision/v1/3102", req3102, &out3102); code != 200 || len(out3102.Result) != 3 {
			t.Fatalf("3102: %d %+v", code, out3102)
		}

		var fs []Stored
		if code := call(t, srv, "GET", "/supervision/v1/findings?status=suspected&period=2026-11", nil, &fs); code != 200 || len(fs) != 2 {
			t.Fatalf("findings: %d %+v", code, fs)
		}
		var re Stored
		for _, f := range fs {
			if f.RuleID == "R007" {
				re = f
			}
		}
		if re.SetlID != "S2" || re.Amount != 1800000 || re.Evidence["prev_setl_id"] != "S1" {
			t.Fatalf("re-admission finding %+v", re)
		}
		path := "/supervision/v1/findings/" + url.PathEscape(re.ID)
		steps := []struct {
			d    Decision
			code int
		}{
			{Decision{Action: ActionConfirm, Operator: "wang"}, http.StatusConflict},          // not reviewed yet
			{Decision{Action: ActionReview}, http.StatusBadRequest},                           // no operator
			{Decision{Action: ActionReview, Operator: "wang", Note: "病历已调取"}, 200},            // suspected → reviewed
			{Decision{Action: ActionConfirm, Operator: "wang"}, http.StatusConflict},          // same operator
			{Decision{Action: ActionConfirm, Operator: "li", Recovery: 1800001}, 400},         // above the amount
			{Decision{Action: ActionConfirm, Operator: "li", Recovery: fen.Yuan(12000)}, 200}, // reviewed → confirmed
			{Decision{Action: ActionDismiss, Operator: "zhao"}, http.StatusConflict},          // final
		}
		for i, st := range steps {
			if code := call(t, srv, "POST", path+"/decide", st.d, nil); code != st.code {
				t.Fatalf("step %d %+v: %d, want %d", i, st.d, code, st.code)
			}
		}
		var got Stored
		if code := call(t, srv, "GET", path, nil, &got); code != 200 {
			t.Fatalf("get: %d", code)
		}
		if got.Status != StatusConfirmed || got.Recovered != fen.Yuan(12000) || len(got.Events) != 2 ||
			got.Events[0].Operator != "wang" || got.Events[1].Operator != "li" || got.Events[1].From != StatusReviewed ||
			got.Recovery == nil || got.Recovery.Status != "posted" {
			t.Fatalf("finding after workflow %+v", got)
		}
		// The recovery is in the ledger, balanced, against the hospital,
		// traceable to the settlement behind the finding.
		var n int
		var sum, hosp int64
		if err := db.QueryRow(ctx, `SELECT COUNT(*), SUM(amount), SUM(CASE WHEN account = ? THEN amount ELSE 0 END) FROM t_ledger WHERE setl_id = ?`,
			AccountHospital+re.Fixmedins, re.SetlID).Scan(&n, &sum, &hosp); err != nil {
			t.Fatal(err)
		}
		if n != 2 || sum != 0 || hosp != 1200000 {
			t.Fatalf("ledger rows %d sum %d hospital %d", n, sum, hosp)
		}
		// The other finding is dismissed after review.
		var other Stored
		for _, f := range fs {
			if f.RuleID == "R001" {
				other = f
			}
		}
		op := "/supervision/v1/findings/" + url.PathEscape(other.ID) + "/decide"
		if call(t, srv, "POST", op, Decision{Action: ActionReview, Operator: "wang"}, nil) != 200 ||
			call(t, srv, "POST", op, Decision{Action: ActionDismiss, Operator: "li", Note: "外院转入记录错误"}, nil) != 200 {
			t.Fatal("dismiss failed")
		}
		var ps []Posting
		if code := call(t, srv, "GET", "/supervision/v1/recoveries", nil, &ps); code != 200 || len(ps) != 1 || ps[0].Amount != 1200000 {
			t.Fatalf("recoveries: %d %+v", code, ps)
		}
		if code := call(t, srv, "GET", "/supervision/v1/findings/nope", nil, nil); code != http.StatusNotFound {
			t.Fatalf("missing finding: %d", code)
		}
	})
}

func TestRecoveryPendingWithoutLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := startService(t, db, Options{})
		s.SetRules(mustEngine(t))
		b := baseBill()
		b.Diagnoses = []string{"I10.X00"}
		if _, err := s.RunBatch(ctx, "2026-11", []Bill{b}); err != nil {
			t.Fatal(err)
		}
		fs, err := s.Findings(ctx, Filter{RuleID: "R009"})
		if err != nil || len(fs) != 1 {
			t.Fatalf("%v %+v", err, fs)
		}
		if _, err := s.Decide(ctx, fs[0].ID, Decision{Action: ActionReview, Operator: "a"}); err != nil {
			t.Fatal(err)
		}
		st, err := s.Decide(ctx, fs[0].ID, Decision{Action: ActionConfirm, Operator: "b"})
		if err != nil || st.Recovered != 2460 || st.Recovery == nil || st.Recovery.Status != "pending" {
			t.Fatalf("%v %+v", err, st)
		}
		if _, err := s.PostPending(ctx); err == nil {
			t.Fatal("posted without a ledger")
		}
	})
}
