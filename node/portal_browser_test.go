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
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(admin+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
		}
	}
	post("/basicinfo/v1/persons", `{"operator":"op1","person":{"certno":"440305198001010128","psn_name":"张三","brdy":"1980-01-01","gend":"2",
"insutype":"310","insuplc_admdvs":"440300","status":"active","months":120,"acct_balc":"321.00","begndate":"2010-01-01"}}`)
	post("/internalcontrol/v1/approvals", `{"kind":"fund.payment","object":"PAY-2026-12-0007","amount":"250000.00","reason":"hospital prepayment","requester":"clerk7"}`)

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
