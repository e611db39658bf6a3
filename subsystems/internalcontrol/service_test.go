package internalcontrol

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/auditlog"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

func TestRecordIntoAuditLog(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := testCtx(t)
		a := f.record(t, at(1, 10, 0), Action{Operator: "op1", Kind: "basicinfo.person.suspend", Object: "440300000000000001", Subject: "440300000000000001", Detail: "unemployed"})
		b := f.record(t, at(1, 10, 5), Action{Operator: "op2", Kind: "settlement.detail.export", Object: "2026-11", Rows: 1200})
		all, err := f.audit.All(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("audit log = %+v, %v", all, err)
		}
		if all[0].Seq != a.AuditSeq || all[0].Actor != "op1" || all[0].Action != "basicinfo.person.suspend" || all[0].Object != a.Object ||
			!strings.Contains(all[0].Detail, "unemployed") {
			t.Fatalf("audit entry %+v for %+v", all[0], a)
		}
		if all[1].Seq != b.AuditSeq || !strings.Contains(all[1].Detail, "rows=1200") {
			t.Fatalf("audit entry %+v", all[1])
		}
		if _, err := f.audit.Verify(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Actions(ctx, ActionFilter{Operator: "op2"})
		if err != nil || len(got) != 1 || got[0].Rows != 1200 || !got[0].At.Equal(at(1, 10, 5)) {
			t.Fatalf("Actions = %+v, %v", got, err)
		}
		for _, bad := range []struct {
			a     Action
			field string
		}{
			{Action{Operator: "", Kind: "a.b", Object: "x"}, "operator"},
			{Action{Operator: "op", Kind: "Export", Object: "x"}, "kind"},
			{Action{Operator: "op", Kind: "a.b"}, "object"},
			{Action{Operator: "op", Kind: "a.b", Object: "x", Rows: -1}, "rows"},
		} {
			var fe *FieldError
			if _, err := f.s.Record(ctx, bad.a); !errors.As(err, &fe) || fe.Field != bad.field {
				t.Fatalf("Record(%+v) = %v, want field %s", bad.a, err, bad.field)
			}
		}
	})
}

// TestNodeAuditLogByDefault checks that without an explicit log the
// subsystem writes into the node's audit_log table.
func TestNodeAuditLogByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		log, err := auditlog.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		s := New(Options{})
		if err := db.Migrate(ctx, Name, s.Descriptor().Migrations); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, subsystem.Env{DB: db}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Record(ctx, Action{Operator: "op1", Kind: "key.rotate", Object: "pii-k2"}); err != nil {
			t.Fatal(err)
		}
		tail, err := log.Tail(ctx, 1)
		if err != nil || len(tail) != 1 || tail[0].Action != "key.rotate" {
			t.Fatalf("node audit log tail = %+v, %v", tail, err)
		}
	})
}

func TestReviewAndDecide(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := testCtx(t)
		if err := f.s.PutOperator(ctx, Operator{ID: "op1", Name: "张经办", Role: "clerk", OwnSubject: "440300000000000007"}); err != nil {
			t.Fatal(err)
		}
		self := f.record(t, at(1, 10, 0), Action{Operator: "op1", Kind: "basicinfo.person.update", Object: "440300000000000007", Subject: "440300000000000007"})
		f.record(t, at(1, 10, 1), Action{Operator: "op1", Kind: "basicinfo.person.update", Object: "440300000000000008", Subject: "440300000000000008"})
		night := f.record(t, at(1, 23, 10), Action{Operator: "op2", Kind: "settlement.detail.export", Object: "2026-11", Rows: 20000})
		for i := 0; i < 5; i++ {
			f.record(t, at(2, 9, i), Action{Operator: "op3", Kind: "settlement.reverse", Object: "S" + string(rune('0'+i))})
		}
		f.clk.Set(at(3, 9, 0))
		got, err := f.s.Review(ctx, at(1, 0, 0), at(3, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
			if x.Status != FindingOpen {
				t.Fatalf("new finding %+v", x)
			}
		}
		want := []string{"off_hours_export:" + strconv.FormatInt(night.Seq, 10), "reversals:op3:2026-12-02", "self_record:" + strconv.FormatInt(self.Seq, 10)}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("findings %v, want %v", ids, want)
		}
		// The operator cannot clear their own finding; someone else can.
		if _, err := f.s.Decide(ctx, want[2], "op1", "dismiss", "mine"); !errors.Is(err, ErrSelfApproval) {
			t.Fatalf("self review: %v", err)
		}
		d, err := f.s.Decide(ctx, want[2], "auditor1", "confirm", "changed own contribution base")
		if err != nil || d.Status != FindingConfirmed || d.Reviewer != "auditor1" {
			t.Fatalf("Decide = %+v, %v", d, err)
		}
		if _, err := f.s.Decide(ctx, want[2], "auditor2", "dismiss", ""); !errors.Is(err, ErrTransition) {
			t.Fatalf("second decision: %v", err)
		}
		// Reviewing again keeps decisions and adds nothing.
		again, err := f.s.Review(ctx, at(1, 0, 0), at(3, 0, 0))
		if err != nil || len(again) != 3 || again[2].Status != FindingConfirmed {
			t.Fatalf("second review = %+v, %v", again, err)
		}
		open, err := f.s.Findings(ctx, FindingOpen, 0)
		if err != nil || len(open) != 2 {
			t.Fatalf("open findings = %+v, %v", open, err)
		}
		// The decision itself is in the audit log.
		tail, _ := f.audit.Tail(ctx, 1)
		if len(tail) != 1 || tail[0].Action != "internalcontrol.finding.confirm" || tail[0].Actor != "auditor1" {
			t.Fatalf("audit tail %+v", tail)
		}
		// Over HTTP: bad decision names the field, self review is 403.
		if code, raw := call(t, f.srv, "POST", "/internalcontrol/v1/findings/"+want[1]+"/decide", map[string]string{"reviewer": "a", "decision": "maybe"}, nil); code != 400 || !strings.Contains(raw, `"field":"decision"`) {
			t.Fatalf("bad decision: %d %s", code, raw)
		}
		if code, _ := call(t, f.srv, "POST", "/internalcontrol/v1/findings/"+want[1]+"/decide", map[string]string{"reviewer": "op3", "decision": "dismiss"}, nil); code != http.StatusForbidden {
			t.Fatalf("self review over HTTP: %d", code)
		}
		if code, raw := call(t, f.srv, "POST", "/internalcontrol/v1/review", map[string]string{"from": "yesterday"}, nil); code != 400 || !strings.Contains(raw, `"field":"from"`) {
			t.Fatalf("bad from: %d %s", code, raw)
		}
	})
}

func TestCheckReminders(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := testCtx(t)
		if err := f.s.PutOperator(ctx, Operator{ID: "op1", Name: "张经办", OwnSubject: "P7"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			f.record(t, at(1, 9, i), Action{Operator: "op1", Kind: "settlement.reverse", Object: "S"})
		}
		f.clk.Set(at(1, 21, 0))
		tests := []struct {
			name string
			a    Action
			want []string
		}{
			{"own record", Action{Operator: "op1", Kind: "basicinfo.person.update", Object: "P7", Subject: "P7"}, []string{RuleSelfRecord}},
			{"fifth reversal", Action{Operator: "op1", Kind: "settlement.reverse", Object: "S5"}, []string{RuleReversals}},
			{"night export", Action{Operator: "op1", Kind: "person.list.export", Object: "all", Rows: 100000}, []string{RuleOffHoursExport}},
			{"large payment", Action{Operator: "op1", Kind: KindFundPayment, Object: "PAY1", Amount: fen.Yuan(80000)}, []string{RuleApproval}},
			{"small payment", Action{Operator: "op1", Kind: KindFundPayment, Object: "PAY2", Amount: fen.Yuan(800)}, nil},
			{"key rotation", Action{Operator: "op2", Kind: KindKeyRotate, Object: "pii"}, []string{RuleApproval}},
			{"ordinary", Action{Operator: "op2", Kind: "basicinfo.person.read", Object: "P1"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rs, err := f.s.Check(ctx, tt.a)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range rs {
					got = append(got, r.Rule)
				}
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Fatalf("reminders %+v, want %v", rs, tt.want)
				}
			})
		}
		// Check records nothing.
		if as, _ := f.s.Actions(ctx, ActionFilter{}); len(as) != 4 {
			t.Fatalf("%d actions after checks", len(as))
		}
	})
}

func TestFourEyesApproval(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := testCtx(t)
		var fe *FieldError
		if _, err := f.s.RequestApproval(ctx, ApprovalRequest{Kind: KindFundPayment, Object: "PAY1", Amount: fen.Yuan(100), Reason: "r", Requester: "op1"}); !errors.As(err, &fe) || fe.Field != "kind" {
			t.Fatalf("small payment: %v", err)
		}
		req := ApprovalRequest{ID: "AP-pay-0001", Kind: KindFundPayment, Object: "PAY2", Amount: fen.MustParse("120000.50"), Reason: "prepayment to 110000", Requester: "op1"}
		a, err := f.s.RequestApproval(ctx, req)
		if err != nil || a.Status != ApprovalPending || !a.Expires.Equal(at(1, 10, 0).Add(24*time.Hour)) {
			t.Fatalf("request = %+v, %v", a, err)
		}
		if again, err := f.s.RequestApproval(ctx, req); err != nil || again.ID != a.ID {
			t.Fatalf("repeated request = %+v, %v", again, err)
		}
		other := req
		other.Amount++
		if _, err := f.s.RequestApproval(ctx, other); !errors.Is(err, ErrTransition) {
			t.Fatalf("same id, other amount: %v", err)
		}
		if _, err := f.s.Execute(ctx, a.ID, Use{Kind: req.Kind, Object: req.Object, Amount: req.Amount, Operator: "op1"}); !errors.Is(err, ErrTransition) {
			t.Fatalf("execute before approval: %v", err)
		}
		if _, err := f.s.Approve(ctx, a.ID, "op1", ""); !errors.Is(err, ErrSelfApproval) {
			t.Fatalf("self approval: %v", err)
		}
		f.clk.Add(time.Hour)
		if a, err = f.s.Approve(ctx, a.ID, "chief1", "ok"); err != nil || a.Status != ApprovalApproved || a.Approver != "chief1" {
			t.Fatalf("approve = %+v, %v", a, err)
		}
		use := Use{Kind: req.Kind, Object: req.Object, Amount: req.Amount, Operator: "op1"}
		wrong := use
		wrong.Amount = fen.Yuan(200000)
		if _, err := f.s.Execute(ctx, a.ID, wrong); !errors.Is(err, ErrMismatch) {
			t.Fatalf("execute other amount: %v", err)
		}
		approver := use
		approver.Operator = "chief1"
		if _, err := f.s.Execute(ctx, a.ID, approver); !errors.Is(err, ErrSelfApproval) {
			t.Fatalf("approver executes: %v", err)
		}
		if a, err = f.s.Execute(ctx, a.ID, use); err != nil || a.Status != ApprovalExecuted || a.Executor != "op1" {
			t.Fatalf("execute = %+v, %v", a, err)
		}
		if _, err := f.s.Execute(ctx, a.ID, use); !errors.Is(err, ErrTransition) {
			t.Fatalf("second execution: %v", err)
		}
		// Expiry: a catalogue retirement left waiting past its TTL.
		r, err := f.s.RequestApproval(ctx, ApprovalRequest{Kind: KindCatalogueRetire, Object: "XA01ABD075A002010100483", Reason: "withdrawn", Requester: "op2"})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Add(24*time.Hour + time.Second)
		if _, err := f.s.Approve(ctx, r.ID, "chief1", ""); !errors.Is(err, ErrExpired) {
			t.Fatalf("approve expired: %v", err)
		}
		if r, _ = f.s.Approval(ctx, r.ID); r.Status != ApprovalExpired {
			t.Fatalf("status after expiry %s", r.Status)
		}
		if _, err := f.s.Approve(ctx, r.ID, "chief1", ""); !errors.Is(err, ErrTransition) {
			t.Fatalf("approve after expiry: %v", err)
		}
		// Approved but executed too late.
		k, err := f.s.RequestApproval(ctx, ApprovalRequest{Kind: KindKeyRotate, Object: "pii", Reason: "yearly", Requester: "op2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Approve(ctx, k.ID, "chief1", ""); err != nil {
			t.Fatal(err)
		}
		f.clk.Add(25 * time.Hour)
		if _, err := f.s.Execute(ctx, k.ID, Use{Kind: KindKeyRotate, Object: "pii", Operator: "op2"}); !errors.Is(err, ErrExpired) {
			t.Fatalf("late execution: %v", err)
		}
		// Every step is in the audit log.
		all, err := f.audit.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, e := range all {
			if e.Object == "AP-pay-0001" {
				steps = append(steps, e.Actor+":"+strings.TrimPrefix(e.Action, "internalcontrol.approval."))
			}
		}
		if strings.Join(steps, " ") != "op1:request chief1:approve op1:execute" {
			t.Fatalf("audit steps %v", steps)
		}
	})
}

func TestApprovalHTTP(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		var a Approval
		body := map[string]any{"kind": "catalogue.retire", "object": "C0101", "reason": "withdrawn", "requester": "op1"}
		if code, raw := call(t, f.srv, "POST", "/internalcontrol/v1/approvals", body, &a); code != http.StatusCreated {
			t.Fatalf("request: %d %s", code, raw)
		}
		bad := []struct {
			path  string
			body  any
			code  int
			field string
		}{
			{"/internalcontrol/v1/approvals", map[string]any{"kind": "catalogue.retire", "object": "C1", "reason": "x"}, 400, "requester"},
			{"/internalcontrol/v1/approvals", map[string]any{"kind": "fund.payment", "object": "C1", "reason": "x", "requester": "o", "amount": "12.345"}, 400, "amount"},
			{"/internalcontrol/v1/approvals", map[string]any{"kind": "catalogue.retire", "object": "C1", "requester": "o"}, 400, "reason"},
			{"/internalcontrol/v1/approvals/" + a.ID + "/approve", map[string]any{"operator": "op1"}, 403, ""},
			{"/internalcontrol/v1/approvals/" + a.ID + "/reject", map[string]any{"operator": "op2"}, 400, "note"},
			{"/internalcontrol/v1/approvals/nope12345/approve", map[string]any{"operator": "op2"}, 404, ""},
		}
		for _, b := range bad {
			code, raw := call(t, f.srv, "POST", b.path, b.body, nil)
			if code != b.code || b.field != "" && !strings.Contains(raw, `"field":"`+b.field+`"`) {
				t.Fatalf("POST %s %v: %d %s, want %d field %q", b.path, b.body, code, raw, b.code, b.field)
			}
		}
		if code, raw := call(t, f.srv, "POST", "/internalcontrol/v1/approvals/"+a.ID+"/approve", map[string]any{"operator": "op2"}, &a); code != 200 || a.Status != ApprovalApproved {
			t.Fatalf("approve: %d %s", code, raw)
		}
		f.clk.Add(48 * time.Hour)
		if code, raw := call(t, f.srv, "POST", "/internalcontrol/v1/approvals/"+a.ID+"/execute", Use{Kind: "catalogue.retire", Object: "C0101", Operator: "op1"}, nil); code != http.StatusGone {
			t.Fatalf("late execute: %d %s", code, raw)
		}
		var list struct{ Approvals []Approval }
		if code, _ := call(t, f.srv, "GET", "/internalcontrol/v1/approvals?status=expired", nil, &list); code != 200 || len(list.Approvals) != 1 {
			t.Fatalf("expired list %+v", list)
		}
	})
}
