package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/console"
)

// adminJSON calls n's admin API and returns the status and body.
func adminJSON(t *testing.T, n *node.Node, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+n.Addr(node.Admin)+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestPricingAcrossProvinces runs the national center and two provinces
// as real nodes joined by gossip: each province's price list (and
// Guangdong's procurement) reaches the national node signed over GM TLS,
// a copy sent again is counted as a duplicate, the national node shows
// the spread of the prices on its API and console, and it holds no
// settlement or person of the provinces.
func TestPricingAcrossProvinces(t *testing.T) {
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nat, natGossip, natDir := nationalPortalNode(t, authority)
	seed := `"` + natGossip + `"`
	gd := portalNode(t, slog.New(slog.DiscardHandler), "440000", authority, joiningDir(t, natDir), "127.0.0.1:0", seed, "gdadmin", console.RoleProvinceAdmin)
	bj := portalNode(t, slog.New(slog.DiscardHandler), "110000", authority, joiningDir(t, natDir), "127.0.0.1:0", seed, "bjadmin", console.RoleProvinceAdmin)

	must := func(n *node.Node, method, path string, body any) string {
		t.Helper()
		code, out := adminJSON(t, n, method, path, body)
		if code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
		return out
	}
	price := func(p string) map[string]any {
		return map[string]any{"item_name": "彩色多普勒超声常规检查", "unit": "次", "price": p, "valid_from": "2026-01-01", "reason": "价格目录", "operator": "op1"}
	}
	must(gd, "PUT", "/pricing/v1/prices/220201001/3", price("135.50"))
	must(gd, "PUT", "/pricing/v1/prices/220201001/2", price("100.00"))
	must(bj, "PUT", "/pricing/v1/prices/220201001/3", price("150.00"))
	must(gd, "POST", "/pricing/v1/tenders", map[string]any{"id": "GD-2026-01", "name": "药品集中带量采购", "category": "drug", "opened": "2026-01-05", "operator": "op1"})
	must(gd, "PUT", "/pricing/v1/tenders/GD-2026-01/awards/XC01", map[string]any{"product_name": "阿托伐他汀钙片", "supplier": "S01", "price": "3.27", "operator": "op1"})
	must(gd, "POST", "/pricing/v1/orders", map[string]any{"id": "O1", "fixmedins_code": "H440300001", "tender_id": "GD-2026-01", "product_code": "XC01", "qty": 1000, "ordered": "2026-02-01", "operator": "op2"})
	must(gd, "POST", "/pricing/v1/deliveries", map[string]any{"id": "D1", "order_id": "O1", "qty": 1000, "accepted": "2026-02-05", "operator": "op2"})

	period := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	// Until gossip lists the national node a submission waits in the
	// outbox; submitting again sends it.
	submit := func(n *node.Node, kind string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			out := must(n, "POST", "/pricing/v1/submissions", map[string]any{"kind": kind, "period": period, "operator": "op1"})
			if strings.Contains(out, `"status":"accepted"`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s summary not accepted within 90 s: %s; outbox %s", kind, out, must(n, "GET", "/pricing/v1/outbox", nil))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	submit(gd, "prices")
	submit(gd, "procurement")
	submit(bj, "prices")
	// A copy sent again changes nothing at the national node.
	if out := must(gd, "POST", "/pricing/v1/outbox/resend", map[string]any{"id": "prices/440000/" + period, "operator": "op1"}); !strings.Contains(out, `"accepted"`) {
		t.Fatalf("resend: %s", out)
	}

	var in struct {
		Submissions []struct {
			ID         string
			Revision   int64
			Duplicates int64
			Items      int
		}
	}
	if err := json.Unmarshal([]byte(must(nat, "GET", "/pricing/v1/inbox?period="+period, nil)), &in); err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int64{}
	for _, s := range in.Submissions {
		got[s.ID] = [3]int64{s.Revision, s.Duplicates, int64(s.Items)}
	}
	want := map[string][3]int64{"prices/110000/" + period: {1, 0, 1}, "prices/440000/" + period: {1, 1, 2}, "procurement/440000/" + period: {1, 0, 0}}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("national inbox %s: %v, want (revision, duplicates, items) %v", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("national inbox %v", got)
	}
	spread := must(nat, "GET", "/pricing/v1/spread?period="+period+"&item=220201001", nil)
	if !strings.Contains(spread, `"level":3,"provinces":[{"admdvs":"110000","price":150.00},{"admdvs":"440000","price":135.50}],"min":135.50,"median":142.75,"max":150.00`) {
		t.Fatalf("spread %s", spread)
	}
	// Only summaries crossed: the national node has no fee line,
	// overcharge, order or delivery of a province, and the summaries name
	// no settlement, visit or person.
	inbox := must(nat, "GET", "/pricing/v1/inbox?period="+period, nil)
	for _, field := range []string{"setl_id", "mdtrt_id", "psn_no", "certno", "fixmedins_code", "H440300001"} {
		if strings.Contains(inbox, field) {
			t.Errorf("national inbox names %s: %s", field, inbox)
		}
	}
	if out := must(nat, "GET", "/pricing/v1/overcharges?period="+period, nil); !strings.Contains(out, `"findings":[]`) {
		t.Errorf("national overcharges: %s", out)
	}
	if out := must(nat, "GET", "/pricing/v1/tenders", nil); !strings.Contains(out, `"tenders":[]`) {
		t.Errorf("national tenders: %s", out)
	}
	// The national console shows the spread and the summaries.
	nb := newBrowser(t, nat)
	nb.login("nhsa")
	if code, page := nb.do("GET", "/pricing", "", ""); code != 200 || !strings.Contains(page, "142.75") || !strings.Contains(page, "广东省") {
		t.Fatalf("national pricing page: %d %s", code, page)
	}
}
