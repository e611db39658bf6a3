package credit

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/internal/fen"
)

func mustModel(tb testing.TB) *Model {
	tb.Helper()
	f, err := os.Open("testdata/model.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m, err := ParseModel(f)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func ev(typ, code, id, kind, sev string, amount fen.Fen, days int, d catalog.Date) Event {
	return Event{ID: id, SubjectType: typ, SubjectCode: code, Kind: kind, Severity: sev, Amount: amount, Days: days, Date: d, Evidence: "ref:" + id}
}

func TestEvaluate(t *testing.T) {
	m := mustModel(t)
	inst := func(id, kind, sev string, amount fen.Fen, days int, d catalog.Date) Event {
		return ev(SubjectInstitution, "H1", id, kind, sev, amount, days, d)
	}
	doc := func(id, kind, sev string, d catalog.Date) Event {
		return ev(SubjectDoctor, "D1", id, kind, sev, 0, 0, d)
	}
	var capped []Event
	for i := range 6 {
		capped = append(capped, inst(fmt.Sprint("c", i), EventFindingConfirmed, "1", fen.Yuan(100000), 0, catalog.Date(20260301+i)))
	}
	tests := []struct {
		name       string
		typ, code  string
		period     string
		events     []Event
		score      int
		grade      string
		points     int
		status     string
		linePoints []int
		lineCapped []bool
	}{
		{"institution year to date", SubjectInstitution, "H1", "2026-11", []Event{
			inst("e1", EventFindingConfirmed, "1", fen.MustParse("25600.00"), 0, 20260305),
			inst("e2", EventReconciliationLate, "", 0, 3, 20260401),
			inst("e3", EventReconciliationOK, "", 0, 0, 20260501),
			inst("e4", EventComplaintUpheld, "", 0, 0, 20260610),
			inst("e5", EventFindingConfirmed, "2", 100, 0, 20260701),
			inst("e6", EventFindingConfirmed, "1", 100, 0, 20261201),
			inst("e7", EventComplaintUpheld, "", 0, 0, 20251231),
			inst("e8", "unknown_kind", "", 0, 0, 20260801),
		}, 939, "A", 0, "", []int{-30, -8, 2, -15, -10, 0}, nil},
		{"institution without events", SubjectInstitution, "H2", "2026-11", nil, 1000, "A", 0, "", []int{}, nil},
		{"rule cap", SubjectInstitution, "H1", "2026-11", capped, 700, "C", 0, "", []int{-70, -70, -70, -70, -20, 0},
			[]bool{false, false, false, false, true, true}},
		{"bonus bounded by max", SubjectInstitution, "H1", "2026-12", func() []Event {
			var es []Event
			for i := range 14 {
				es = append(es, inst(fmt.Sprint("ok", i), EventReconciliationOK, "", 0, 0, catalog.Date(20260110+i)))
			}
			return es
		}(), 1024, "A", 0, "", []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0}, nil},
		{"doctor suspended", SubjectDoctor, "D1", "2026-11", []Event{
			doc("d1", EventFindingConfirmed, "1", 20260201), doc("d2", EventFindingConfirmed, "1", 20260301),
			doc("d3", EventComplaintUpheld, "", 20260401), doc("d4", EventFindingConfirmed, "2", 20251201),
		}, 5, "", 7, "suspended_1m", []int{3, 3, 1}, nil},
		{"doctor qualification ended", SubjectDoctor, "D1", "2026-11", []Event{
			doc("d1", EventFindingConfirmed, "1", 20260201), doc("d2", EventFindingConfirmed, "1", 20260301),
			doc("d3", EventFindingConfirmed, "1", 20260401), doc("d4", EventFindingConfirmed, "1", 20260501),
			doc("d5", EventComplaintUpheld, "", 20260601),
		}, 0, "", 13, "terminated", []int{3, 3, 3, 3, 1}, nil},
		{"doctor below the first step", SubjectDoctor, "D1", "2026-11", []Event{doc("d1", EventFindingConfirmed, "2", 20260201)}, 11, "", 1, StatusNormal, []int{1}, nil},
		{"unit late contributions", SubjectUnit, "U1", "2026-11", []Event{
			ev(SubjectUnit, "U1", "u1", EventContributionLate, "", 0, 10, 20260115),
		}, 88, "B", 0, "", []int{-12}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Evaluate(m, tt.period, tt.typ, tt.code, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			var pts []int
			var caps []bool
			for _, l := range e.Explanation {
				pts = append(pts, l.Points)
				caps = append(caps, l.Capped)
				if l.Evidence == "" {
					t.Errorf("line without evidence: %+v", l)
				}
			}
			if pts == nil {
				pts = []int{}
			}
			if e.Score != tt.score || e.Grade != tt.grade || e.Points != tt.points || e.Status != tt.status || !slices.Equal(pts, tt.linePoints) {
				t.Fatalf("got score %d grade %q points %d status %q lines %v\nwant %d %q %d %q %v", e.Score, e.Grade, e.Points, e.Status, pts,
					tt.score, tt.grade, tt.points, tt.status, tt.linePoints)
			}
			if tt.lineCapped != nil && !slices.Equal(caps, tt.lineCapped) {
				t.Fatalf("capped %v, want %v", caps, tt.lineCapped)
			}
			if n := len(e.Explanation); n > 0 {
				want := e.Score
				if tt.typ == SubjectDoctor {
					want = e.Points
				}
				if last := e.Explanation[n-1].Running; last != want {
					t.Fatalf("last running %d, want %d", last, want)
				}
			}
		})
	}
}

func TestEvaluateRejects(t *testing.T) {
	m := mustModel(t)
	if _, err := Evaluate(m, "2026-13", SubjectInstitution, "H1", nil); err == nil {
		t.Error("bad period accepted")
	}
	if _, err := Evaluate(m, "2026-11", "patient", "P1", nil); err == nil {
		t.Error("bad subject type accepted")
	}
	if _, err := Evaluate(m, "2026-11", SubjectInstitution, "H1", []Event{ev(SubjectInstitution, "H2", "x", EventComplaintUpheld, "", 0, 0, 20260101)}); err == nil {
		t.Error("another subject's event accepted")
	}
}

func TestParseModelRejects(t *testing.T) {
	raw, err := os.ReadFile("testdata/model.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Model)
	}{
		{"no version", func(m *Model) { m.Version = "" }},
		{"missing class", func(m *Model) { delete(m.Classes, ClassUnit) }},
		{"no zero grade", func(m *Model) { c := m.Classes[ClassUnit]; c.Grades = c.Grades[:1]; m.Classes[ClassUnit] = c }},
		{"negative personnel points", func(m *Model) { c := m.Classes[ClassPersonnel]; c.Rules[0].Points = -3; m.Classes[ClassPersonnel] = c }},
		{"cap sign", func(m *Model) {
			c := m.Classes[ClassInstitution]
			c.Rules[0].Cap = 300
			m.Classes[ClassInstitution] = c
		}},
		{"duplicate rule", func(m *Model) { c := m.Classes[ClassUnit]; c.Rules[1].ID = c.Rules[0].ID; m.Classes[ClassUnit] = c }},
		{"bad kind", func(m *Model) { c := m.Classes[ClassUnit]; c.Kind = "stars"; m.Classes[ClassUnit] = c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Model
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			tt.edit(&m)
			if err := m.Check(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func dateOf(d int32) catalog.Date { return catalog.Date(d) }
