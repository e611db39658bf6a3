package pricing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// wire posts envelopes to the national node's internode router and keeps
// the last one sent.
type wire struct {
	mu   sync.Mutex
	down bool
	url  string
	last []byte
}

func (w *wire) Deliver(ctx context.Context, admdvs string, env []byte) error {
	w.mu.Lock()
	down, url := w.down, w.url
	w.last = append([]byte(nil), env...)
	w.mu.Unlock()
	if down || admdvs != "100000" {
		return errors.New("link down")
	}
	return post(ctx, url+PathInbox, env)
}

func post(ctx context.Context, url string, env []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(env))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("inbox: %d %s", resp.StatusCode, b)
	}
	return nil
}

func (w *wire) setDown(d bool) { w.mu.Lock(); w.down = d; w.mu.Unlock() }

// federation is a national node and two provinces, each with its own
// database, certificate and signing key, the provinces sending to the
// national node's internode route over loopback HTTP.
type federation struct {
	wire     *wire
	national *node
	inbox    string
	prov     map[string]*node
}

func newFederation(t *testing.T, kind store.Kind, clk *clock) *federation {
	t.Helper()
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &federation{wire: &wire{}, prov: map[string]*node{}}
	for _, a := range []string{"100000", "440000", "110000"} {
		role := ca.RoleProvince
		if a == "100000" {
			role = ca.RoleNational
		}
		m, err := link.IssueMaterial(authority, a, role, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		sg, err := envelope.NewSigner(m.SignKey, m.Sign, true)
		if err != nil {
			t.Fatal(err)
		}
		v, err := envelope.NewVerifier(m.CA, envelope.VerifierOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := mustStart(t, storetest.Open(t, kind), a, Options{Courier: f.wire, Signer: sg, Verifier: v, Now: clk.now})
		if a != "100000" {
			f.prov[a] = n
			continue
		}
		f.national = n
		r := mux.NewRouter()
		n.svc.RegisterInternode(r)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		f.wire.url, f.inbox = srv.URL, srv.URL+PathInbox
	}
	return f
}

func TestSpreadOf(t *testing.T) {
	for _, c := range []struct {
		in          []fen.Fen
		lo, med, hi fen.Fen
	}{
		{[]fen.Fen{12000}, 12000, 12000, 12000},
		{[]fen.Fen{13550, 12000}, 12000, 12775, 13550},
		{[]fen.Fen{101, 100}, 100, 100, 101}, // 100.5 fen rounded down
		{[]fen.Fen{9000, 15000, 12000}, 9000, 12000, 15000},
		{[]fen.Fen{400, 100, 300, 200}, 100, 250, 400},
	} {
		lo, med, hi := SpreadOf(c.in)
		if lo != c.lo || med != c.med || hi != c.hi {
			t.Errorf("%v: %d %d %d, want %d %d %d", c.in, lo, med, hi, c.lo, c.med, c.hi)
		}
	}
}

func TestProvincesSubmitToNational(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: mustDay("2026-04-05")}
		f := newFederation(t, db.Kind(), clk)
		gd, bj, nat := f.prov["440000"], f.prov["110000"], f.national
		seedPrices(t, gd) // April: 135.50 at level 3, 100.00 at level 2
		bj.mustCall(t, http.MethodPut, "/pricing/v1/prices/220201001/3", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次",
			"price": "150.00", "valid_from": "2026-01-01", "reason": "京价目录", "operator": "bj1"}, nil)
		seedProcurement(t, gd)

		// Guangdong has a settlement charged above the price: its
		// overcharge finding names the settlement, which stays here.
		gd.svc.opts.Fees = fees{"2026-04": {{SetlID: "440300S26040100001", FeedetlSn: "FD0001", Fixmedins: "H440300001", MedinsLv: 3,
			Code: "220201001", Date: "2026-04-01", Qty: fen.Units(1), Price: 15000, Amount: 15000}}}
		if run, err := gd.svc.DetectOvercharges(ctx, "2026-04"); err != nil || len(run.Findings) != 1 || run.Excess != 1450 {
			t.Fatalf("overcharges %+v %v", run, err)
		}

		for _, c := range []struct {
			n    *node
			kind string
		}{{gd, KindPrices}, {gd, KindProcurement}, {bj, KindPrices}} {
			var out map[string]any
			c.n.mustCall(t, http.MethodPost, "/pricing/v1/submissions", map[string]any{"kind": c.kind, "period": "2026-04", "operator": "op1"}, &out)
			if out["status"] != StatusAccepted || out["revision"] != 1.0 {
				t.Fatalf("%s: %v", c.kind, out)
			}
		}
		// Beijing has no procurement: nothing is sent.
		if code, _ := bj.call(t, http.MethodPost, "/pricing/v1/submissions", map[string]any{"kind": KindProcurement, "period": "2026-04", "operator": "op1"}, nil); code != http.StatusConflict {
			t.Fatalf("empty procurement summary: %d", code)
		}

		// The national answer was lost: the province sends again, and a
		// second submit of the same summary goes nowhere new.
		var rs map[string]any
		gd.mustCall(t, http.MethodPost, "/pricing/v1/outbox/resend", map[string]any{"id": "prices/440000/2026-04", "operator": "op1"}, &rs)
		if rs["status"] != StatusAccepted {
			t.Fatalf("resend: %v", rs)
		}
		if code, _ := gd.call(t, http.MethodPost, "/pricing/v1/outbox/resend", map[string]any{"id": "prices/440000/1999-01", "operator": "op1"}, nil); code != http.StatusNotFound {
			t.Fatalf("resend of nothing: %d", code)
		}
		if sub, st, err := gd.svc.Submit(ctx, KindPrices, "2026-04"); err != nil || st != StatusAccepted || sub.Revision != 1 {
			t.Fatalf("submit again: %v %s %v", sub, st, err)
		}
		// The same envelope bytes again are a replay.
		f.wire.mu.Lock()
		last := f.wire.last
		f.wire.mu.Unlock()
		if err := post(ctx, f.inbox, last); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("replayed envelope: %v", err)
		}

		var in struct{ Submissions []Received }
		nat.mustCall(t, http.MethodGet, "/pricing/v1/inbox?period=2026-04", nil, &in)
		got := fmt.Sprint(in.Submissions)
		if len(in.Submissions) != 3 || in.Submissions[1].ID != "prices/440000/2026-04" || in.Submissions[1].Duplicates != 1 ||
			in.Submissions[1].Items != 2 || in.Submissions[0].Duplicates != 0 || in.Submissions[2].Procurement == nil {
			t.Fatalf("inbox %s", got)
		}
		if p := in.Submissions[2]; p.ID != "procurement/440000/2026-04" || p.Procurement.Outstanding != 130800+340000 || p.Procurement.MaxDaysOverdue != 19 || p.Procurement.AsOf != "2026-04-05" {
			t.Fatalf("inbox %s", got)
		}

		// The spread across provinces, per item and level.
		var sp struct{ Items []Spread }
		nat.mustCall(t, http.MethodGet, "/pricing/v1/spread?period=2026-04&item=220201001", nil, &sp)
		if len(sp.Items) != 2 {
			t.Fatalf("spread %+v", sp.Items)
		}
		l2, l3 := sp.Items[0], sp.Items[1]
		if l2.Level != 2 || len(l2.Provinces) != 1 || l2.Min != 10000 || l2.Median != 10000 || l2.Max != 10000 {
			t.Fatalf("level 2 %+v", l2)
		}
		if l3.Level != 3 || fmt.Sprint(l3.Provinces) != "[{110000 150.00} {440000 135.50}]" || l3.Min != 13550 || l3.Median != 14275 || l3.Max != 15000 {
			t.Fatalf("level 3 %+v", l3)
		}

		// Guangdong corrects a price: a new revision replaces its prices.
		gd.mustCall(t, http.MethodPut, "/pricing/v1/prices/220201001/2", map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次",
			"price": "90.00", "valid_from": "2026-04-01", "reason": "降价", "operator": "op2"}, nil)
		if sub, st, err := gd.svc.Submit(ctx, KindPrices, "2026-04"); err != nil || st != StatusAccepted || sub.Revision != 2 {
			t.Fatalf("corrected: %+v %s %v", sub, st, err)
		}
		nat.mustCall(t, http.MethodGet, "/pricing/v1/spread?period=2026-04&item=220201001", nil, &sp)
		if sp.Items[0].Max != 9000 {
			t.Fatalf("after the correction %+v", sp.Items[0])
		}

		// A link outage: the outbox keeps the summary until it is back.
		f.wire.setDown(true)
		clk.set(mustDay("2026-05-02"))
		if _, st, err := bj.svc.Submit(ctx, KindPrices, "2026-05"); err != nil || st != StatusQueued {
			t.Fatalf("link down: %s %v", st, err)
		}
		f.wire.setDown(false)
		if n, err := bj.svc.Resend(ctx); err != nil || n != 1 {
			t.Fatalf("resend after outage: %d %v", n, err)
		}

		// The national node holds no patient data for pricing: none of its
		// pricing tables names the province's settlement, visit or fee
		// line, and it has no overcharge findings.
		if c := nat.rows(t, "prc_overcharge"); c != 0 {
			t.Fatalf("national overcharges: %d", c)
		}
		for _, table := range []string{"prc_in", "prc_in_price", "prc_price", "prc_overcharge", "prc_order", "prc_delivery", "prc_payment"} {
			rows, err := nat.db.Query(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					s := fmt.Sprintf("%s", v)
					for _, secret := range []string{"440300S26040100001", "FD0001", "psn_no", "setl_id", "mdtrt_id", "certno"} {
						if strings.Contains(s, secret) {
							t.Errorf("national %s.%s holds %q: %s", table, cols[i], secret, s)
						}
					}
				}
			}
			rows.Close()
		}
		if c := nat.rows(t, "prc_in"); c != 4 {
			t.Fatalf("national holds %d submissions, want 4", c)
		}
		// A province does not take submissions.
		if _, err := gd.svc.Receive(ctx, last); !errors.Is(err, ErrForbidden) {
			t.Fatalf("province inbox: %v", err)
		}
	})
}
