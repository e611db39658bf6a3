package internalcontrol

import (
	"strings"
	"testing"
	"time"
)

func acts(n int, op, kind string, start time.Time, step time.Duration, seq0 int64) []Action {
	out := make([]Action, n)
	for i := range out {
		out[i] = Action{Seq: seq0 + int64(i), Operator: op, Kind: kind, Object: "x", At: start.Add(time.Duration(i) * step)}
	}
	return out
}

func TestEvaluate(t *testing.T) {
	r := DefaultRules()
	from := at(1, 0, 0)
	// 20 actions a day on 10 earlier days: a mean of 200/28 a day.
	var history []Action
	for d := 0; d < 10; d++ {
		history = append(history, acts(20, "op1", "basicinfo.person.update", time.Date(2026, 11, 20+d, 9, 0, 0, 0, cst), time.Minute, int64(1000+d*100))...)
	}
	// 70 a day on 10 earlier days: 3× the mean is 75.
	var busy []Action
	for d := 0; d < 10; d++ {
		busy = append(busy, acts(70, "op1", "basicinfo.person.update", time.Date(2026, 11, 20+d, 9, 0, 0, 0, cst), time.Second, int64(1000+d*100))...)
	}
	tests := []struct {
		name     string
		actions  []Action
		subjects map[string]string
		want     []string // finding ids
	}{
		{"own record", []Action{{Seq: 1, Operator: "op1", Kind: "basicinfo.person.update", Object: "P1", Subject: "4403001", At: at(1, 10, 0)}},
			map[string]string{"op1": "4403001"}, []string{"self_record:1"}},
		{"someone else's record", []Action{{Seq: 1, Operator: "op2", Kind: "basicinfo.person.update", Object: "P1", Subject: "4403001", At: at(1, 10, 0)}},
			map[string]string{"op1": "4403001"}, nil},
		{"night bulk export", []Action{{Seq: 2, Operator: "op1", Kind: "settlement.detail.export", Object: "2026-11", Rows: 5000, At: at(1, 22, 30)}}, nil,
			[]string{"off_hours_export:2"}},
		{"weekend bulk export", []Action{{Seq: 3, Operator: "op1", Kind: "settlement.detail.export", Object: "2026-11", Rows: 1000, At: at(5, 11, 0)}}, nil,
			[]string{"off_hours_export:3"}},
		{"day bulk export", []Action{{Seq: 4, Operator: "op1", Kind: "settlement.detail.export", Object: "2026-11", Rows: 5000, At: at(1, 17, 59)}}, nil, nil},
		{"small night export", []Action{{Seq: 5, Operator: "op1", Kind: "settlement.detail.export", Object: "2026-11", Rows: 999, At: at(1, 23, 0)}}, nil, nil},
		{"before-from action is history only", []Action{{Seq: 6, Operator: "op1", Kind: "a.export", Object: "x", Rows: 5000, At: at(1, 0, 0).Add(-time.Hour)}}, nil, nil},
		{"absolute volume", acts(501, "op2", "basicinfo.person.read", at(1, 9, 0), time.Second, 1), nil, []string{"volume:op2:2026-12-01"}},
		{"volume at the limit", acts(500, "op2", "basicinfo.person.read", at(1, 9, 0), time.Second, 1), nil, nil},
		{"above own baseline", append(append([]Action{}, history...), acts(60, "op1", "basicinfo.person.update", at(1, 9, 0), time.Second, 1)...), nil,
			[]string{"volume:op1:2026-12-01"}},
		{"within own baseline", append(append([]Action{}, busy...), acts(74, "op1", "basicinfo.person.update", at(1, 9, 0), time.Second, 1)...), nil, nil},
		{"just above own baseline", append(append([]Action{}, busy...), acts(76, "op1", "basicinfo.person.update", at(1, 9, 0), time.Second, 1)...), nil,
			[]string{"volume:op1:2026-12-01"}},
		{"below the baseline minimum", append(append([]Action{}, history...), acts(49, "op1", "basicinfo.person.update", at(1, 9, 0), time.Second, 1)...), nil, nil},
		{"new operator below the absolute limit", acts(300, "op3", "basicinfo.person.read", at(1, 9, 0), time.Second, 1), nil, nil},
		{"five reversals", acts(5, "op4", "settlement.reverse", at(1, 9, 0), time.Hour, 1), nil, []string{"reversals:op4:2026-12-01"}},
		{"four reversals", acts(4, "op4", "settlement.cancel", at(1, 9, 0), time.Hour, 1), nil, nil},
		{"reversals on two days", append(acts(3, "op4", "settlement.reverse", at(1, 20, 0), time.Hour, 1), acts(3, "op4", "settlement.reverse", at(2, 9, 0), time.Hour, 10)...), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.evaluate(tt.actions, tt.subjects, from)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("findings %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	mod := []struct {
		name  string
		f     func(*Rules)
		field string
	}{
		{"default", func(*Rules) {}, ""},
		{"hours", func(r *Rules) { r.WorkStart, r.WorkEnd = 18, 8 }, "work_start"},
		{"rows", func(r *Rules) { r.BulkExportRows = 0 }, "bulk_export_rows"},
		{"ttl", func(r *Rules) { r.ApprovalTTLHours = 0 }, "approval_ttl_hours"},
		{"baseline", func(r *Rules) { r.BaselineDays = 2 }, "baseline_days"},
	}
	for _, m := range mod {
		t.Run(m.name, func(t *testing.T) {
			r := DefaultRules()
			m.f(&r)
			err := r.Validate()
			if m.field == "" && err != nil || m.field != "" && (err == nil || !strings.Contains(err.Error(), m.field)) {
				t.Fatalf("Validate = %v, want field %q", err, m.field)
			}
		})
	}
}
