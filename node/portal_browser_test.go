package node_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/internal/browsertest"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/console"
)

// logBuffer keeps what a node logs, to read the one-time codes the public
// service prints there.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

var codeRE = regexp.MustCompile(`one-time code.* code=(\d{6})`)

func (l *logBuffer) lastCode() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := codeRE.FindAllStringSubmatch(l.b.String(), -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// TestPortalAndPublicServiceInBrowser drives headless Chromium against a
// Guangdong node: an operator logs in on the console, lands on the
// portal's workbench, sees an approval waiting and opens the internal
// control API through single sign-on; a person logs in on the public
// service pages with certificate number, name and the one-time code,
// sees their status, files a cross-province filing (2501) and sees it
// listed.
func TestPortalAndPublicServiceInBrowser(t *testing.T) {
	chrome := browsertest.Chromium(t, "../scripts/ensure-browser")
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The gossip keyring enrolment would give the province.
	dir := t.TempDir()
	key, err := member.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := member.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.SaveTo(dir); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	n := portalNode(t, slog.New(slog.NewTextHandler(logs, nil)), "440000", authority, dir, "127.0.0.1:0", "", "gdadmin", console.RoleProvinceAdmin)
	admin := "http://" + n.Addr(node.Admin)
	send := func(method, path, body string) {
		t.Helper()
		req, err := http.NewRequest(method, admin+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
	}
	post := func(path, body string) { t.Helper(); send("POST", path, body) }
	post("/basicinfo/v1/persons", `{"operator":"op1","person":{"certno":"440305198001010128","psn_name":"张三","brdy":"1980-01-01","gend":"2",
"insutype":"310","insuplc_admdvs":"440300","status":"active","months":120,"acct_balc":"321.00","begndate":"2010-01-01"}}`)
	post("/internalcontrol/v1/approvals", `{"kind":"fund.payment","object":"PAY-2026-12-0007","amount":"250000.00","reason":"hospital prepayment","requester":"clerk7"}`)
	send("PUT", "/fund/v1/accounts/310", `{"operator":"op1","name":"职工基本医疗保险统筹基金","opened":"2026-01","opening":"1000000.00"}`)
	send("PUT", "/reports/v1/budgets/H44010000001/2026-12", `{"amount":"500000.00"}`)
	post("/reports/v1/generate?period=2026-12", ``)

	out := t.TempDir()
	if d := os.Getenv("YBFED_TEST_OUTPUT"); d != "" {
		out = filepath.Join(d, "portal")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000), chromedp.Flag("lang", "en-US"))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	base := "http://" + n.Addr(node.Console)

	// Operator: the portal sends an unauthenticated browser to the
	// console's login, which comes back to the workbench.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/portal"), chromedp.WaitVisible(chromedp.ID("username"))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("username"), "gdadmin"),
		chromedp.SendKeys(chromedp.ID("password"), portalPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("tbl-tasks")),
	); err != nil {
		t.Fatalf("log in to the portal: %v", err)
	}
	shot("01-workbench")
	if tasks := text("#tbl-tasks"); !strings.Contains(tasks, "PAY-2026-12-0007") || !strings.Contains(tasks, "clerk7") {
		t.Fatalf("workbench tasks: %s", tasks)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("sub-internalcontrol")), chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open internal control: %v", err)
	}
	var api string
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(api, "PAY-2026-12-0007") {
		if time.Now().After(deadline) {
			t.Fatalf("internal control through single sign-on shows %q", api)
		}
		time.Sleep(100 * time.Millisecond)
		api = text("body")
	}

	// The fund and the monthly reports are linked from the workbench too.
	for _, sub := range []struct{ id, want string }{
		{"sub-fund", "职工基本医疗保险统筹基金"},
		{"sub-reports", `"fixmedins_code":"H44010000001","period":"2026-12"`},
	} {
		if err := chromedp.Do(bctx, chromedp.Navigate(base+"/portal"), chromedp.WaitVisible(chromedp.ID(sub.id)),
			chromedp.Click(chromedp.ID(sub.id)), chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
			t.Fatalf("open %s: %v", sub.id, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for body := text("body"); !strings.Contains(body, sub.want); body = text("body") {
			if time.Now().After(deadline) {
				t.Fatalf("%s through single sign-on shows %q", sub.id, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		shot("01-" + sub.id)
	}

	// Person: certificate number, name, one-time code from the log.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/my"), chromedp.WaitVisible(chromedp.ID("certno")),
		chromedp.SendKeys(chromedp.ID("certno"), "440305198001010128"),
		chromedp.SendKeys(chromedp.ID("psn_name"), "张三"),
		chromedp.Click(chromedp.ID("next")),
		chromedp.WaitVisible(chromedp.ID("code")),
	); err != nil {
		t.Fatalf("person login: %v", err)
	}
	code := logs.lastCode()
	if code == "" {
		t.Fatal("no one-time code in the node log")
	}
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("status"))); err != nil {
		t.Fatalf("one-time code: %v", err)
	}
	shot("02-my-insurance")
	if st := text("#status"); !strings.Contains(st, "active") || !strings.Contains(st, "张*") || strings.Contains(st, "张三") {
		t.Fatalf("status: %s", st)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/my/filing"), chromedp.WaitVisible(chromedp.ID("admdvs")),
		chromedp.SetValue(chromedp.ID("kind"), "temporary"),
		chromedp.SendKeys(chromedp.ID("admdvs"), "110105"),
		chromedp.SendKeys(chromedp.ID("enddate"), "2027-12-31"),
		chromedp.SendKeys(chromedp.ID("reason"), "visiting family"),
		chromedp.Click(chromedp.ID("file")),
		chromedp.WaitVisible(chromedp.ID("info")),
	); err != nil {
		t.Fatalf("file 2501: %v", err)
	}
	shot("03-filed")
	if fs := text("#tbl-filings"); !strings.Contains(fs, "110105") || !strings.Contains(fs, "temporary") {
		t.Fatalf("filings: %s", fs)
	}
}
