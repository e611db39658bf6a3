package console_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/internal/browsertest"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/console"
	"github.com/ybfed/ybfed/node/demo"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// outputDir is where screenshots go: $YBFED_TEST_OUTPUT/console when set,
// else a temporary directory of the test.
func outputDir(t *testing.T) string {
	if d := os.Getenv("YBFED_TEST_OUTPUT"); d != "" {
		d = filepath.Join(d, "console")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser drives the console, served by a real national node, in
// headless Chromium against a small real federation: log in, see every center in the grid with the right state,
// open every page, then stop one node and watch its row turn red through
// the grid's partial refresh.
func TestBrowser(t *testing.T) {
	chrome := browsertest.Chromium(t, "../../scripts/ensure-browser")
	out := outputDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// A small real federation: the national node serving the console as
	// its component, and two provinces with certificates from its CA.
	fedCA, err := ca.Init(filepath.Join(t.TempDir(), "ca"), []byte("test"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring := console.NewErrorRing(nil, 20)
	logger := slog.New(ring)
	c := console.New(console.Options{RefreshMillis: 400, AlertInterval: 300 * time.Millisecond})
	c.SetErrors(ring)
	cc := node.NewConsole(c)
	var nodes []*node.Node
	for i, admdvs := range []string{centers.NationalAdmdvs, "110000", "120000"} {
		cfg, err := demo.Config(admdvs, filepath.Join(t.TempDir(), admdvs))
		if err != nil {
			t.Fatal(err)
		}
		o := node.Options{Log: logger}
		if i == 0 {
			o.CA, o.Components = fedCA, []node.Component{cc}
		} else {
			cfg.Listen.Console = ""
			if o.Material, err = link.IssueMaterial(fedCA, admdvs, ca.RoleProvince, "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		n := node.New(cfg, o)
		if err := n.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	f := &demo.Federation{Nodes: nodes}
	// Half an hour of settlements seen by the recorder, and a clearing
	// month, so the traffic and clearing pages have something to draw.
	now := time.Now()
	for i := 0; i < 30; i++ {
		at := now.Add(time.Duration(i-29) * time.Minute)
		for j := 0; j < 20+i%7; j++ {
			cc.Traffic.Observe(console.Observation{Time: at, To: "100000", Duration: time.Duration(2+j%5) * time.Millisecond})
		}
		for j := 0; j < 8+i%4; j++ {
			cc.Traffic.Observe(console.Observation{Time: at, Routed: true, From: "440000", To: "110000", Duration: time.Duration(9+j*3) * time.Millisecond, Failed: j == 0 && i%5 == 0})
		}
		if i%9 == 0 {
			cc.Traffic.Observe(console.Observation{Time: at, Routed: true, From: "440000", To: "110000", Reversal: true, Duration: 4 * time.Millisecond})
		}
	}
	book := console.NewClearingBook()
	book.PutStatement(settlement.Statement{Month: "2026-11", Provinces: []settlement.ProvincePosition{
		{Province: "110000", Receivable: 1234500, Payable: 200000, Net: 1034500},
		{Province: "440000", Receivable: 200000, Payable: 1234500, Net: -1034500},
	}}, "issued")
	c.SetClearing(book)
	access, err := f.OpenConsole(ctx, 0, c, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(access.Stop)
	pw := access.Password
	if len(pw) < console.MinPassword || access.User != "admin" {
		t.Fatalf("seeded login %q / %q", access.User, pw)
	}
	base := access.URL
	reg := nodes[0].Registry()
	reachable := func() int {
		n := 0
		for _, m := range c.Members().Members(ctx) {
			if m.Reachable {
				n++
			}
		}
		return n
	}
	for i := 0; reachable() < len(nodes); i++ {
		if i > 600 {
			t.Fatalf("console reaches %d of %d nodes after 60 s", reachable(), len(nodes))
		}
		time.Sleep(100 * time.Millisecond)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1440, 1100), chromedp.Flag("lang", "en-US"))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(out, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	location := func() string {
		loc, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	// Unauthenticated: the grid sends the browser to the login page.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/grid"), chromedp.WaitVisible(chromedp.ID("username"))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	if loc := location(); !strings.Contains(loc, "/login?next=%2Fgrid") {
		t.Fatalf("not redirected to the login page: %s", loc)
	}
	shot("01-login")
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("tbl-centers")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	rowClasses := func() []string {
		cls, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('#tbl-centers tbody tr')).map(r => r.className)`))
		if err != nil {
			t.Fatal(err)
		}
		return cls
	}
	cls := rowClasses()
	if len(cls) != 33 {
		t.Fatalf("grid lists %d centers, want 33", len(cls))
	}
	for i, cl := range cls {
		want := "r-unknown"
		if i < len(f.Nodes) {
			want = "r-up"
		}
		if cl != want {
			t.Fatalf("row %d (%s) is %q, want %q", i, centers.All()[i].Admdvs, cl, want)
		}
	}
	shot("02-grid")

	for i, p := range []string{"/node/100000", "/node/110000", "/traffic", "/refdata", "/clearing", "/audit", "/alerts", "/users"} {
		if err := chromedp.Do(bctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if loc := location(); !strings.HasSuffix(loc, p) {
			t.Fatalf("%s ended at %s", p, loc)
		}
		h1, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main h1")))
		if err != nil || h1 == "" {
			t.Fatalf("%s: heading %q %v", p, h1, err)
		}
		shot(filepath.Base(p) + "-" + string(rune('a'+i)))
	}
	body, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(body, "admin") {
		t.Fatalf("users page: %v", err)
	}
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`fetch('/traffic').then(r => r.text()).then(t => (t.match(/<svg/g) || []).length)`,
		chromedp.EvalAwaitPromise))
	if err != nil || charts != 3 {
		t.Fatalf("traffic page draws %d charts: %v", charts, err)
	}

	// Stop one province; its row turns red without a reload.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/grid"), chromedp.WaitVisible(chromedp.ID("tbl-centers")),
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	victim := nodes[2].Config().Node.Admdvs
	stopped := time.Now()
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](
		`document.querySelector('#tbl-centers tbody tr:nth-child(3)').className === 'r-down' && window.__noReload === true`,
		chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("row of stopped %s did not turn red: %v (classes %v)", victim, err, rowClasses())
	}
	t.Logf("stopped node shown down after %s", time.Since(stopped).Round(10*time.Millisecond))
	// Read in one evaluation: the partial refresh replaces the table body,
	// so a node id looked up first can be gone by the time it is read.
	why, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`document.querySelector('#tbl-centers tbody tr:nth-child(3) td:last-child').textContent.trim()`))
	if err != nil || why == "" {
		t.Fatalf("no reason shown for the stopped node: %q %v", why, err)
	}
	t.Logf("reason shown: %s", why)
	down, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`dd[data-count="down"]`)))
	if err != nil || down != "1" {
		t.Fatalf("down counter %q after the partial refresh: %v", down, err)
	}
	shot("03-grid-node-down")
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/node/"+victim), chromedp.WaitVisible(chromedp.ID("tbl-errors"))); err != nil {
		t.Fatal(err)
	}
	errs, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("tbl-errors")))
	if err != nil || !strings.Contains(errs, "not answering") {
		t.Fatalf("detail of the stopped node lacks the event: %q %v", errs, err)
	}
	shot("04-node-down-detail")

	// The alert reaches the node's metrics too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if alertActive(t, reg, console.AlertNodeDown, victim) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no node_down alert metric for the stopped node")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func alertActive(t *testing.T, reg *prometheus.Registry, kind, admdvs string) bool {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ybnode_console_alert" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["admdvs"] == admdvs && m.GetGauge().GetValue() == 1 {
				return true
			}
		}
	}
	return false
}
