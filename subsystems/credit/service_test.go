package credit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// listSource is an event source holding a fixed list, as a supervision
// adapter would return it.
type listSource []Event

var _ EventSource = listSource(nil)

func (l listSource) CreditEvents(context.Context, string) ([]Event, error) { return l, nil }

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

func TestServiceMonthly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s := New(listSource{ev(SubjectInstitution, "H3", "sup:R002/S9/1", EventFindingConfirmed, "2", 100, 0, 20261115)})
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
		defer srv.Close()
		if code := call(t, srv, "POST", "/credit/v1/periods/2026-11/evaluate", nil, nil); code != http.StatusServiceUnavailable {
			t.Fatalf("evaluate without model: %d", code)
		}
		s.SetModel(mustModel(t))
		inst := func(code, id, kind, sev string, amt fen.Fen, days int, d int32) Event {
			return ev(SubjectInstitution, code, id, kind, sev, amt, days, dateOf(d))
		}
		events := []Event{
			inst("H1", "h1a", EventFindingConfirmed, "1", fen.MustParse("25600.00"), 0, 20261005),
			inst("H1", "h1b", EventComplaintUpheld, "", 0, 0, 20261103),
			inst("H2", "h2a", EventComplaintUpheld, "", 0, 0, 20260201),
			inst("H2", "h2b", EventComplaintUpheld, "", 0, 0, 20260301),
			inst("H2", "h2c", EventComplaintUpheld, "", 0, 0, 20260401),
			inst("H2", "h2d", EventFindingConfirmed, "1", fen.Yuan(200000), 0, 20261101),
			ev(SubjectDoctor, "D1", "d1a", EventFindingConfirmed, "1", 0, 0, 20261101),
			ev(SubjectDoctor, "D1", "d1b", EventFindingConfirmed, "1", 0, 0, 20261102),
			ev(SubjectDoctor, "D2", "d2a", EventFindingConfirmed, "2", 0, 0, 20261102),
			ev(SubjectUnit, "U1", "u1a", EventContributionLate, "", 0, 5, 20261120),
		}
		var rec map[string]int
		if code := call(t, srv, "POST", "/credit/v1/events", events, &rec); code != 200 || rec["recorded"] != 10 {
			t.Fatalf("record: %d %v", code, rec)
		}
		if code := call(t, srv, "POST", "/credit/v1/events", events, &rec); code != 200 || rec["recorded"] != 0 {
			t.Fatalf("record again: %d %v", code, rec)
		}
		if code := call(t, srv, "POST", "/credit/v1/events", []Event{{ID: "x", SubjectType: "patient"}}, nil); code != http.StatusBadRequest {
			t.Fatalf("bad event: %d", code)
		}
		for _, p := range []string{"2026-10", "2026-11", "2026-11"} {
			if code := call(t, srv, "POST", "/credit/v1/periods/"+p+"/evaluate", nil, nil); code != 200 {
				t.Fatalf("evaluate %s: %d", p, code)
			}
		}
		var hist []Evaluation
		if code := call(t, srv, "GET", "/credit/v1/subjects/inst/H1", nil, &hist); code != 200 || len(hist) != 2 ||
			hist[0].Period != "2026-10" || hist[0].Score != 970 || hist[1].Score != 955 || len(hist[1].Explanation) != 2 ||
			hist[1].Explanation[0].Evidence != "ref:h1a" {
			t.Fatalf("history: %d %+v", code, hist)
		}
		var dis Disclosure
		if code := call(t, srv, "GET", "/credit/v1/disclosure/2026-11", nil, &dis); code != 200 {
			t.Fatalf("disclosure: %d", code)
		}
		want := []Disclosed{
			{SubjectType: SubjectInstitution, SubjectCode: "H1", Score: 955, Grade: "A", Deductions: 2},
			{SubjectType: SubjectInstitution, SubjectCode: "H2", Score: 835, Grade: "B", Deductions: 4},
			{SubjectType: SubjectInstitution, SubjectCode: "H3", Score: 990, Grade: "A", Deductions: 1},
		}
		if len(dis.Institutions) != 3 || dis.Institutions[0] != want[0] || dis.Institutions[1] != want[1] || dis.Institutions[2] != want[2] {
			t.Fatalf("institutions %+v", dis.Institutions)
		}
		if dis.Grades["A"] != 2 || dis.Grades["B"] != 1 || len(dis.Units) != 1 || dis.Units[0].Score != 93 || dis.Units[0].Grade != "A" {
			t.Fatalf("grades/units %+v %+v", dis.Grades, dis.Units)
		}
		if len(dis.Personnel) != 1 || dis.Personnel[0] != (Disclosed{SubjectType: SubjectDoctor, SubjectCode: "D1", Score: 6, Points: 6, Status: "suspended_1m", Deductions: 2}) {
			t.Fatalf("personnel %+v", dis.Personnel)
		}
		if code := call(t, srv, "GET", "/credit/v1/disclosure/2026-09", nil, nil); code != http.StatusNotFound {
			t.Fatalf("unevaluated period: %d", code)
		}
	})
}
