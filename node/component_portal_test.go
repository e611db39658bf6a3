package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/configs"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/federation/member"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/console"
)

// portalNode starts a node built with every wired part and a console
// user of role at it; it returns nil when the gossip port was taken
// meanwhile by another test's socket.
func portalNode(t *testing.T, log *slog.Logger, admdvs string, authority *ca.CA, dir, gossip, seeds string, user string, role console.Role) *node.Node {
	t.Helper()
	b, err := configs.Center(admdvs)
	if err != nil {
		t.Fatal(err)
	}
	over := fmt.Sprintf(`listen: {hospital: "127.0.0.1:0", internode: "127.0.0.1:0", raft: "127.0.0.1:0", gossip: "`+gossip+`", admin: "127.0.0.1:0", console: "127.0.0.1:0", enrol: ""}
advertise: 127.0.0.1
data_dir: %s
storage: {driver: sqlite, path: %s, url: ""}
federation: {seeds: [%s]}
ca: {dir: "", passphrase_file: ""}
tls: {dir: %s, passphrase_file: ""}
`, dir, filepath.Join(dir, "node.db"), seeds, filepath.Join(dir, "tls"))
	cfg, err := config.Parse(configs.Defaults(), b, []byte(over))
	if err != nil {
		t.Fatal(err)
	}
	r := ca.RoleProvince
	if admdvs == "100000" {
		r = ca.RoleNational
	}
	mat, err := link.IssueMaterial(authority, admdvs, r, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Build(cfg, node.Options{Log: log, Material: mat})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(context.Background()); err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil // the caller picks another gossip port
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Parts().Console.Console.Users().Add(context.Background(), console.User{Name: user, Role: role, Admdvs: admdvs}, portalPassword); err != nil {
		t.Fatal(err)
	}
	return n
}

const portalPassword = "portal test password"

// nationalPortalNode starts the national center (console user nhsa) and
// returns it with its gossip address and data directory. The gossip port
// must be known before start (it is the provinces' seed), so it is picked
// free and may be taken by another socket before the node binds it: a
// few are tried.
func nationalPortalNode(t *testing.T, authority *ca.CA) (nat *node.Node, gossip, dir string) {
	t.Helper()
	for try := 0; nat == nil; try++ {
		if try == 5 {
			t.Fatal("no free gossip port in 5 tries")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gossip = l.Addr().String()
		l.Close()
		dir = t.TempDir()
		nat = portalNode(t, slog.New(slog.DiscardHandler), "100000", authority, dir, gossip, "", "nhsa", console.RoleNationalAdmin)
	}
	return nat, gossip, dir
}

// joiningDir is the data directory of a province joining the national
// center's gossip: it holds the national keyring, as enrolment would give it.
func joiningDir(t *testing.T, natDir string) string {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile(filepath.Join(natDir, member.KeyringFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, member.KeyringFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// browser is a cookie-keeping client of one console that does not follow
// redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, n *node.Node) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: "http://" + n.Addr(node.Console), c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, contentType, body string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.csrf != "" && method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// login signs in on the console's login form, then reads the session's
// CSRF token from the portal's workbench.
func (b *browser) login(user string) {
	b.t.Helper()
	_, page := b.do("GET", "/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the login page")
	}
	form := url.Values{"username": {user}, "password": {portalPassword}, "csrf": {m[1]}, "next": {"/portal"}}
	if code, body := b.do("POST", "/login", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", user, code, body)
	}
	code, page := b.do("GET", "/portal", "", "")
	if m = csrfRE.FindStringSubmatch(page); code != 200 || m == nil || !strings.Contains(page, "Pending tasks") {
		b.t.Fatalf("workbench after login: %d %s", code, page)
	}
	b.csrf = m[1]
}

// TestPortalSingleSignOn logs in once on the console of two real nodes
// (national center and Guangdong, joined by gossip) and uses that session
// for the subsystems' APIs; the national center sends Guangdong a file,
// which arrives signed over GM TLS and is stored at both ends; logins and
// refusals are in each node's audit chain.
func TestPortalSingleSignOn(t *testing.T) {
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nat, natGossip, natDir := nationalPortalNode(t, authority)
	gd := portalNode(t, slog.New(slog.DiscardHandler), "440000", authority, joiningDir(t, natDir), "127.0.0.1:0", `"`+natGossip+`"`, "gdadmin", console.RoleProvinceAdmin)

	anon := newBrowser(t, nat)
	if code, _ := anon.do("GET", "/internalcontrol/v1/approvals", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("subsystem API without a session: %d", code)
	}
	nb := newBrowser(t, nat)
	nb.login("nhsa")
	if code, body := nb.do("GET", "/internalcontrol/v1/approvals?status=pending", "", ""); code != 200 || !strings.Contains(body, `"approvals"`) {
		t.Fatalf("subsystem API through single sign-on: %d %s", code, body)
	}
	// A change without the session's CSRF token is refused.
	noTok := &browser{t: t, base: nb.base, c: nb.c}
	if code, _ := noTok.do("POST", "/internalcontrol/v1/review", "application/json", `{}`); code != http.StatusForbidden {
		t.Fatalf("change without CSRF: %d", code)
	}

	gb := newBrowser(t, gd)
	gb.login("gdadmin")
	// A province account's scope is its own province.
	if code, _ := gb.do("GET", "/internalcontrol/v1/approvals?admdvs=110000", "", ""); code != http.StatusForbidden {
		t.Fatalf("province account naming Beijing: %d", code)
	}

	code, body := nb.do("POST", "/portal/v1/messages", "application/json",
		`{"to":"440000","subject":"W48 statistics","body":"see file","file_name":"w48.csv","file":"d2VlayxuCjQ4LDEyMwo="}`)
	if code != http.StatusCreated {
		t.Fatalf("send: %d %s", code, body)
	}
	var sent struct{ ID string }
	_ = json.Unmarshal([]byte(body), &sent)
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, body = gb.do("GET", "/portal/v1/messages?box=in", "", "")
		if strings.Contains(body, sent.ID) {
			break
		}
		if time.Now().After(deadline) {
			_, out := nb.do("GET", "/portal/v1/messages?box=out", "", "")
			t.Fatalf("message not at Guangdong within 90 s; national outbox: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, file := gb.do("GET", "/portal/messages/in/"+sent.ID+"/file", "", ""); code != 200 || file != "week,n\n48,123\n" {
		t.Fatalf("file at Guangdong: %d %q", code, file)
	}
	// Upward reporting: Guangdong's daily indicators reach the national
	// node, which shows them on time and computes monitoring KPIs.
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02") // due tomorrow noon: on time
	if code, body := gb.do("POST", "/reporting/v1/submissions", "application/json",
		`{"kind":"daily","period":"`+day+`","figures":{"settle_count":420,"settle_amount":9876500,"xprov_count":40,"xprov_direct":38}}`); code != 200 {
		t.Fatalf("daily submission: %d %s", code, body)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body = nb.do("GET", "/reporting/v1/status?kind=daily&from="+day+"&to="+day, "", "")
		if strings.Contains(body, `{"admdvs":"440000","period":"`+day+`","state":"on_time","revision":1}`) {
			break
		}
		if time.Now().After(deadline) {
			_, out := gb.do("GET", "/reporting/v1/outbox", "", "")
			t.Fatalf("daily submission not at the national node: %s; outbox %s", body, out)
		}
	}
	if _, body := nb.do("GET", "/monitoring/v1/kpis?date="+day, "", ""); !strings.Contains(body, `"settle_count":420`) || !strings.Contains(body, `"direct_rate_bp":9500`) {
		t.Fatalf("national KPIs from the report: %s", body)
	}
	if code, _ := gb.do("POST", "/logout", "application/x-www-form-urlencoded", "csrf="+gb.csrf); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := gb.do("GET", "/portal/v1/tasks", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", code)
	}

	want := map[*node.Node][]string{
		nat: {"nhsa console.login", "anonymous portal.denied", "nhsa portal.denied", "nhsa portal.message.send"},
		gd:  {"gdadmin console.login", "gdadmin portal.denied", "100000 portal.message.receive", "gdadmin portal.file.download", "gdadmin console.logout"},
	}
	for n, acts := range want {
		all, err := n.Audit().All(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, e := range all {
			have[e.Actor+" "+e.Action] = true
		}
		for _, a := range acts {
			if !have[a] {
				t.Errorf("%s audit chain lacks %q", n.Config().Node.Admdvs, a)
			}
		}
		if _, err := n.Audit().Verify(context.Background()); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	}
}
