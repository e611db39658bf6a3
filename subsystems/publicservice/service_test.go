package publicservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// register is an in-memory register standing in for the basic-information
// subsystem, which this package may not import.
type register struct {
	mu sync.Mutex
	m  map[string]Insured
}

var _ Register = (*register)(nil)

func (r *register) Lookup(_ context.Context, certno string) (Insured, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[strings.ToUpper(strings.TrimSpace(certno))]
	if !ok {
		return Insured{}, fmt.Errorf("%w: person", ErrNotFound)
	}
	return p, nil
}

type directory []Institution

func (d directory) Institutions(_ context.Context, prefix string, limit int) ([]Institution, error) {
	var out []Institution
	for _, in := range d {
		if strings.HasPrefix(in.Admdvs, prefix) && len(out) < limit {
			out = append(out, in)
		}
	}
	return out, nil
}

type fixture struct {
	s   *Service
	srv *httptest.Server
	reg *register
	now time.Time
}

var cst = time.FixedZone("CST", 8*3600)

func newFixture(t *testing.T, db *store.DB, admdvs string, o Options) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{reg: &register{m: map[string]Insured{
		"440305198001010128": {PsnNo: "P1", Certno: "440305198001010128", Name: "张三", Insutype: "310", Status: "active", InsuplcAdmdvs: "440300", Months: 120, AcctBalc: fen.MustParse("321.00")},
		"440305196606060425": {PsnNo: "P2", Certno: "440305196606060425", Name: "李四", Insutype: "390", Status: "suspended", InsuplcAdmdvs: "440300"},
	}}, now: time.Date(2026, 12, 5, 10, 0, 0, 0, cst)}
	if o.Register == nil {
		o.Register = f.reg
	}
	o.Now = func() time.Time { return f.now }
	f.s = New(o)
	d := f.s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	if err := f.s.Start(ctx, subsystem.Env{DB: db, Admdvs: admdvs, Hospital: r, Admin: r, Console: r}); err != nil {
		t.Fatal(err)
	}
	f.s.RegisterInternode(r)
	f.srv = httptest.NewServer(r)
	t.Cleanup(func() { _ = f.s.Stop(ctx); f.srv.Close() })
	return f
}

func call(t *testing.T, srv *httptest.Server, method, path string, body, out any) (int, string) {
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
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

var zhang = Identity{Certno: "440305198001010128", Name: "张三"}

func TestStatusAndIdentity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "440300", Options{Directory: directory{
			{Code: "H44030500123", Name: "深圳市人民医院", Kind: "hospital", Level: "3", Admdvs: "440305"},
			{Code: "H44030600001", Name: "南山医院", Kind: "hospital", Level: "3", Admdvs: "440306"},
			{Code: "P44030500009", Name: "深圳大药房", Kind: "pharmacy", Admdvs: "440305"},
		}})
		var st Status
		code, raw := call(t, f.srv, "POST", "/publicservice/v1/me/status", zhang, &st)
		if code != 200 || st.Name != "张*" || st.Certno != "4403**********0128" || st.Months != 120 || st.AcctBalc != fen.MustParse("321") {
			t.Fatalf("status: %d %s", code, raw)
		}
		if strings.Contains(raw, "张三") || strings.Contains(raw, zhang.Certno) {
			t.Fatalf("status answer holds PII: %s", raw)
		}
		wrongName, _ := call(t, f.srv, "POST", "/publicservice/v1/me/status", Identity{Certno: zhang.Certno, Name: "张四"}, nil)
		unknown, body := call(t, f.srv, "POST", "/publicservice/v1/me/status", Identity{Certno: "110101199001010011", Name: "张三"}, nil)
		if wrongName != 403 || unknown != 403 {
			t.Fatalf("wrong name %d, unknown %d (%s)", wrongName, unknown, body)
		}
		if code, raw := call(t, f.srv, "POST", "/publicservice/v1/me/status", map[string]string{"certno": zhang.Certno}, nil); code != 400 || !strings.Contains(raw, `"field":"psn_name"`) {
			t.Fatalf("no name: %d %s", code, raw)
		}
		if code, _ := call(t, f.srv, "POST", "/publicservice/v1/me/settlements", map[string]string{"certno": zhang.Certno, "psn_name": "张三", "year": "2026"}, nil); code != 503 {
			t.Fatalf("settlements without source: %d", code)
		}
		if code, raw := call(t, f.srv, "POST", "/publicservice/v1/me/settlements", map[string]string{"certno": zhang.Certno, "psn_name": "张三", "year": "26"}, nil); code != 400 || !strings.Contains(raw, `"field":"year"`) {
			t.Fatalf("bad year: %d %s", code, raw)
		}
		var list struct{ Institutions []Institution }
		if code, raw := call(t, f.srv, "GET", "/publicservice/v1/institutions?admdvs=4403&q=医院", nil, &list); code != 200 || len(list.Institutions) != 2 {
			t.Fatalf("search: %d %s", code, raw)
		}
		if code, raw := call(t, f.srv, "GET", "/publicservice/v1/institutions?admdvs=x", nil, nil); code != 400 || !strings.Contains(raw, `"field":"admdvs"`) {
			t.Fatalf("bad area: %d %s", code, raw)
		}
	})
}

func TestFilingRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "440300", Options{})
		tests := []struct {
			name    string
			r       FilingRequest
			field   string
			err     error
			enddate string
		}{
			{"temporary default six months", FilingRequest{Kind: FilingTemporary, Admdvs: "110000", Begndate: "2026-12-10"}, "", nil, "2027-06-09"},
			{"temporary too short", FilingRequest{Kind: FilingTemporary, Admdvs: "110000", Begndate: "2026-12-10", Enddate: "2027-01-10"}, "enddate", nil, ""},
			{"referral needs a reason", FilingRequest{Kind: FilingReferral, Admdvs: "310000", Begndate: "2026-12-10"}, "reason", nil, ""},
			{"referral", FilingRequest{Kind: FilingReferral, Admdvs: "310100", Begndate: "2026-12-10", Reason: "C34.9 转上级医院"}, "", nil, "2027-06-09"},
			{"in the insured province", FilingRequest{Kind: FilingTemporary, Admdvs: "440100", Begndate: "2026-12-10"}, "admdvs", nil, ""},
			{"national code", FilingRequest{Kind: FilingTemporary, Admdvs: "100000", Begndate: "2026-12-10"}, "admdvs", nil, ""},
			{"too far back", FilingRequest{Kind: FilingEmergency, Admdvs: "110000", Begndate: "2025-11-01"}, "begndate", nil, ""},
			{"emergency afterwards", FilingRequest{Kind: FilingEmergency, Admdvs: "110105", Begndate: "2026-11-20"}, "", nil, "2026-11-20"},
			{"long-term open-ended", FilingRequest{Kind: FilingLongTerm, Admdvs: "460000", Begndate: "2026-12-01", Enddate: "2027-12-01"}, "enddate", nil, ""},
			{"long-term", FilingRequest{Kind: FilingLongTerm, Admdvs: "460000", Begndate: "2026-12-01"}, "", nil, ""},
			{"second long-term", FilingRequest{Kind: FilingLongTerm, Admdvs: "460100", Begndate: "2026-12-01"}, "", ErrTransition, ""},
			{"unknown kind", FilingRequest{Kind: "holiday", Admdvs: "460000", Begndate: "2026-12-01"}, "kind", nil, ""},
		}
		ids := map[string]string{}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.r.Identity = zhang
				got, err := f.s.File(ctx, tt.r)
				var fe *FieldError
				switch {
				case tt.field != "":
					if !errors.As(err, &fe) || fe.Field != tt.field {
						t.Fatalf("File = %v, want field %s", err, tt.field)
					}
				case tt.err != nil:
					if !errors.Is(err, tt.err) {
						t.Fatalf("File = %v, want %v", err, tt.err)
					}
				default:
					if err != nil || got.Enddate != tt.enddate || got.Status != FilingActive {
						t.Fatalf("File = %+v, %v; want enddate %q", got, err, tt.enddate)
					}
					ids[tt.name] = got.ID
				}
			})
		}
		if _, err := f.s.File(ctx, FilingRequest{Identity: Identity{Certno: "440305196606060425", Name: "李四"}, Kind: FilingTemporary, Admdvs: "110000", Begndate: "2026-12-10"}); !errors.Is(err, ErrTransition) {
			t.Fatalf("suspended person files: %v", err)
		}
		// A long-term filing stays fixed for six months; a temporary one can go.
		if _, err := f.s.CancelFiling(ctx, zhang, ids["long-term"]); !errors.Is(err, ErrTransition) {
			t.Fatalf("early cancel of long-term: %v", err)
		}
		if c, err := f.s.CancelFiling(ctx, zhang, ids["temporary default six months"]); err != nil || c.Status != FilingCancelled {
			t.Fatalf("cancel temporary = %+v, %v", c, err)
		}
		if _, err := f.s.CancelFiling(ctx, Identity{Certno: "440305196606060425", Name: "李四"}, ids["referral"]); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel someone else's filing: %v", err)
		}
		f.now = f.now.AddDate(0, 7, 0)
		if _, err := f.s.CancelFiling(ctx, zhang, ids["long-term"]); err != nil {
			t.Fatalf("late cancel of long-term: %v", err)
		}
		in, err := f.s.FilingsOf(ctx, "P1")
		if err != nil || len(in) != 2 {
			t.Fatalf("filings in force = %+v, %v", in, err)
		}
	})
}

func TestQualification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, "440300", Options{})
		if _, err := f.s.File(ctx, FilingRequest{Identity: zhang, Kind: FilingTemporary, Admdvs: "110100", Begndate: "2026-12-10"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.File(ctx, FilingRequest{Identity: zhang, Kind: FilingLongTerm, Admdvs: "460000", Begndate: "2026-12-01"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			id        Identity
			admdvs    string
			date      string
			emergency bool
			ok        bool
			cut       int
		}{
			{"home city", zhang, "440300", "2026-12-05", false, true, 0},
			{"own province", zhang, "440100", "2026-12-05", false, true, 0},
			{"filed city", zhang, "110105", "2026-12-20", false, true, TemporaryRatioCutBP},
			{"before the filing", zhang, "110105", "2026-12-09", false, false, 0},
			{"after the filing", zhang, "110105", "2027-06-10", false, false, 0},
			{"other city of the province", zhang, "130100", "2026-12-20", false, false, 0},
			{"long-term province", zhang, "460100", "2027-03-01", false, true, 0},
			{"emergency", zhang, "310100", "2026-12-05", true, true, 0},
			{"suspended", Identity{Certno: "440305196606060425", Name: "李四"}, "440300", "2026-12-05", false, false, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q, err := f.s.CheckQualification(ctx, tt.id, tt.admdvs, tt.date, tt.emergency)
				if err != nil || q.Qualified != tt.ok || q.RatioCutBP != tt.cut {
					t.Fatalf("CheckQualification = %+v, %v; want qualified=%v cut=%d", q, err, tt.ok, tt.cut)
				}
			})
		}
		if code, raw := call(t, f.srv, "POST", "/publicservice/v1/qualification", map[string]any{"certno": zhang.Certno, "psn_name": "张三", "admdvs": "110105", "date": "20261220"}, nil); code != 400 || !strings.Contains(raw, `"field":"date"`) {
			t.Fatalf("bad date: %d %s", code, raw)
		}
	})
}

func TestNotices(t *testing.T) {
	for _, k := range storetest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			ctx := context.Background()
			nat := newFixture(t, storetest.Open(t, k), centers.NationalAdmdvs, Options{})
			prov := newFixture(t, storetest.Open(t, k), "440300", Options{Notices: &FeedClient{National: nat.srv.URL}, NoticeInterval: -1})
			pub := []Notice{
				{Title: "关于做好跨省异地就医直接结算工作的通知", Body: "各省……", Begndate: "2026-12-01"},
				{Title: "北京市门诊起付线调整", Body: "……", Scope: "11", Begndate: "2026-12-01"},
				{Title: "已过期通知", Body: "……", Begndate: "2026-01-01", Enddate: "2026-06-30"},
			}
			for _, n := range pub {
				if code, raw := call(t, nat.srv, "POST", "/publicservice/v1/notices", n, nil); code != 201 {
					t.Fatalf("publish: %d %s", code, raw)
				}
			}
			if code, raw := call(t, nat.srv, "POST", "/publicservice/v1/notices", Notice{Title: "x", Body: "y", Begndate: "2026-12-01", Scope: "4"}, nil); code != 400 || !strings.Contains(raw, `"field":"scope"`) {
				t.Fatalf("bad scope: %d %s", code, raw)
			}
			if _, err := prov.s.Publish(ctx, Notice{Title: "x", Body: "y", Begndate: "2026-12-01", Scope: "11"}); err == nil {
				t.Fatal("a province published for another province")
			}
			if _, err := prov.s.Publish(ctx, Notice{Title: "深圳市参保缴费提醒", Body: "……", Begndate: "2026-12-01"}); err != nil {
				t.Fatal(err)
			}
			for i, want := range []int{3, 0} {
				n, err := prov.s.SyncNotices(ctx)
				if err != nil || n != want {
					t.Fatalf("sync %d = %d, %v; want %d", i, n, err, want)
				}
			}
			var got struct{ Notices []Notice }
			if code, raw := call(t, prov.srv, "GET", "/publicservice/v1/notices?date=2026-12-05", nil, &got); code != 200 || len(got.Notices) != 2 {
				t.Fatalf("province notices: %d %s", code, raw)
			}
			if code, _ := call(t, prov.srv, "GET", "/publicservice/v1/notices?date=2026-12-05&admdvs=110105", nil, &got); code != 200 || len(got.Notices) != 2 || got.Notices[0].Scope != "11" && got.Notices[1].Scope != "11" {
				t.Fatalf("Beijing notices: %+v", got.Notices)
			}
		})
	}
}
