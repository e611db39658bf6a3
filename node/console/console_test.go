package console

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

var national = Self{Admdvs: centers.NationalAdmdvs, Name: "国家医疗保障局", Role: "national"}

// statements is a fixed clearing source for the tests.
type statements []Statement

func (s statements) Clearing(context.Context) ([]Statement, error) { return s, nil }

func TestUnauthenticatedRedirectsToLogin(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	for _, tc := range []struct{ method, path, next string }{
		{"GET", "/", "/"},
		{"GET", "/grid", "/grid"},
		{"GET", "/grid?fragment=centers", "/grid"},
		{"GET", "/grid?csv=centers", "/grid?csv=centers"},
		{"GET", "/node/440000", "/node/440000"},
		{"GET", "/clearing", "/clearing"},
		{"GET", "/audit", "/audit"},
		{"GET", "/users", "/users"},
		{"POST", "/users", "/"},
		{"POST", "/logout", "/"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{"username": {"x"}}
			}
			st, _, resp := e.anon().do(tc.method, tc.path, form)
			if st != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", st)
			}
			if loc := resp.Header.Get("Location"); loc != "/login?next="+url.QueryEscape(tc.next) {
				t.Fatalf("redirected to %q", loc)
			}
		})
	}
	// A forged or stale cookie is no better than none.
	cl := &client{e: e, token: strings.Repeat("ab", 32)}
	if st, _ := cl.get("/grid"); st != http.StatusSeeOther {
		t.Fatalf("unknown session token: status %d", st)
	}
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestLoginLogout(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: centers.NationalAdmdvs})
	anon := e.anon()
	st, body, resp := anon.do("GET", "/login?next=/traffic", nil)
	if st != 200 {
		t.Fatalf("login page: %d", st)
	}
	var loginTok string
	for _, ck := range resp.Cookies() {
		if ck.Name == loginCookie {
			loginTok = ck.Value
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Fatalf("login cookie %+v not HttpOnly SameSite=Strict", ck)
			}
		}
	}
	m := hiddenCSRF.FindStringSubmatch(body)
	if loginTok == "" || m == nil || m[1] != loginTok {
		t.Fatalf("login form token %v does not match cookie %q", m, loginTok)
	}
	post := func(form url.Values, cookie string) (int, string, *http.Response) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: loginCookie, Value: cookie})
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp
	}
	good := url.Values{"csrf": {loginTok}, "username": {"nat"}, "password": {testPassword}, "next": {"/traffic"}}
	t.Run("no csrf token", func(t *testing.T) {
		f := url.Values{"username": {"nat"}, "password": {testPassword}}
		if st, _, _ := post(f, loginTok); st != http.StatusForbidden {
			t.Fatalf("status %d", st)
		}
		if st, _, _ := post(good, ""); st != http.StatusForbidden {
			t.Fatalf("without the login cookie: status %d", st)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		f := url.Values{"csrf": {loginTok}, "username": {"nat"}, "password": {"not the password"}}
		st, body, resp := post(f, loginTok)
		if st != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
			t.Fatalf("status %d", st)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie && ck.Value != "" {
				t.Fatal("session cookie set after a failed login")
			}
		}
	})
	var token string
	t.Run("right password", func(t *testing.T) {
		st, _, resp := post(good, loginTok)
		if st != http.StatusSeeOther || resp.Header.Get("Location") != "/traffic" {
			t.Fatalf("status %d location %q", st, resp.Header.Get("Location"))
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				token = ck.Value
				if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
					t.Fatalf("session cookie %+v", ck)
				}
			}
		}
		if len(token) != 64 {
			t.Fatalf("session token %q", token)
		}
	})
	cl := &client{e: e, token: token}
	st, body = cl.get("/grid")
	if st != 200 || gridRows(body) != 33 {
		t.Fatalf("grid after login: status %d, %d rows", st, gridRows(body))
	}
	m = hiddenCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	if st, _, _ := cl.do("POST", "/logout", url.Values{}); st != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", st)
	}
	if st, _, _ := cl.do("POST", "/logout", url.Values{"csrf": {m[1]}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := cl.get("/grid"); st != http.StatusSeeOther {
		t.Fatalf("grid after logout: %d", st)
	}
	// The audit chain recorded the failure, the login and the logout.
	recs, err := e.c.audit.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if got := strings.Join(actions, ","); got != "login.fail,login,logout" {
		t.Fatalf("audit actions %s", got)
	}
}

func TestLoginLockout(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLoginLimiter(func() time.Time { return now })
	for range maxFailures - 1 {
		l.failed("x")
	}
	if l.blocked("x") != 0 {
		t.Fatal("blocked before the limit")
	}
	l.failed("x")
	if l.blocked("x") != lockout || l.blocked("y") != 0 {
		t.Fatal("not blocked at the limit, or another name blocked")
	}
	now = now.Add(lockout)
	if l.blocked("x") != 0 {
		t.Fatal("still blocked after the lockout")
	}
}

func TestScopeAndRoles(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	e.c.SetClearing(statements{
		{Month: "2026-11", Admdvs: "440000", Receivable: 1250000, Payable: 1000000, Net: 250000, Status: "issued"},
		{Month: "2026-11", Admdvs: "110000", Receivable: 100, Payable: 300, Net: -200, Status: "issued"},
	})
	users := []User{
		{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"},
		{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"},
		{Name: "aud", Role: RoleAuditor, Admdvs: "100000"},
		{Name: "audgd", Role: RoleAuditor, Admdvs: "440000"},
	}
	cl := map[string]*client{}
	for _, u := range users {
		e.addUser(u)
		cl[u.Name] = e.sessionFor(u.Name)
	}
	tests := []struct {
		user, path string
		status     int
		rows       int // grid rows, when >= 0
		has, lacks string
	}{
		{"nat", "/grid", 200, 33, "北京市", ""},
		{"aud", "/grid", 200, 33, "广东省", ""},
		{"gd", "/grid", 200, 1, "广东省", "北京市"},
		{"audgd", "/grid", 200, 1, "广东省", "北京市"},
		{"gd", "/node/440000", 200, -1, "广东省", ""},
		{"gd", "/node/110000", 403, -1, "", ""},
		{"audgd", "/node/110000", 403, -1, "", ""},
		{"nat", "/node/110000", 200, -1, "北京市", ""},
		{"nat", "/node/999999", 404, -1, "", ""},
		{"gd", "/clearing", 200, -1, "12500.00", "110000"},
		{"gd", "/clearing?admdvs=110000", 403, -1, "", ""},
		{"gd", "/clearing?csv=statements", 200, -1, "12500.00", "110000"},
		{"nat", "/clearing?admdvs=110000", 200, -1, "-2.00", "440000"},
		{"aud", "/clearing", 200, -1, "110000", ""},
		{"gd", "/users", 200, -1, "audgd", "aud<"},
		{"aud", "/users", 200, -1, "nat", "Add user"},
		{"nat", "/users", 200, -1, "Add user", ""},
		{"aud", "/audit", 200, -1, "Chain verified", ""},
		{"aud", "/traffic", 200, -1, notConnected, ""},
		{"aud", "/refdata", 200, -1, notConnected, ""},
		{"aud", "/alerts", 200, -1, "Alert rules", ""},
	}
	for _, tc := range tests {
		t.Run(tc.user+tc.path, func(t *testing.T) {
			st, body := cl[tc.user].get(tc.path)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %.200s", st, tc.status, body)
			}
			if tc.rows >= 0 && gridRows(body) != tc.rows {
				t.Fatalf("%d grid rows, want %d", gridRows(body), tc.rows)
			}
			if tc.has != "" && !strings.Contains(body, tc.has) {
				t.Fatalf("body lacks %q", tc.has)
			}
			if tc.lacks != "" && strings.Contains(body, tc.lacks) {
				t.Fatalf("body shows %q", tc.lacks)
			}
		})
	}
	t.Run("auditor changes nothing", func(t *testing.T) {
		a := cl["aud"]
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/users", url.Values{"csrf": {a.csrf}, "username": {"newbie"}, "role": {"auditor"}, "admdvs": {"100000"}, "password": {"long enough password"}}},
			{"/users/gd/disable", url.Values{"csrf": {a.csrf}}},
		} {
			if st, _, _ := a.do("POST", p.path, p.form); st != http.StatusForbidden {
				t.Fatalf("POST %s by an auditor: %d", p.path, st)
			}
		}
		if u, err := e.c.users.Get(context.Background(), "gd"); err != nil || u.Disabled {
			t.Fatalf("gd after the auditor's attempt: %+v %v", u, err)
		}
		if _, err := e.c.users.Get(context.Background(), "newbie"); err == nil {
			t.Fatal("auditor created a user")
		}
	})
	t.Run("province admin stays in its province", func(t *testing.T) {
		g := cl["gd"]
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/users", url.Values{"csrf": {g.csrf}, "username": {"bj"}, "role": {"province_admin"}, "admdvs": {"110000"}, "password": {"long enough password"}}},
			{"/users", url.Values{"csrf": {g.csrf}, "username": {"boss"}, "role": {"national_admin"}, "admdvs": {"100000"}, "password": {"long enough password"}}},
			{"/users/nat/disable", url.Values{"csrf": {g.csrf}}},
			{"/users/aud/disable", url.Values{"csrf": {g.csrf}}},
		} {
			if st, _, _ := g.do("POST", p.path, p.form); st != http.StatusForbidden {
				t.Fatalf("POST %s %v by a province admin: %d", p.path, p.form, st)
			}
		}
		// Its own province's auditor it may disable, which ends that
		// auditor's sessions.
		if st, _, _ := g.do("POST", "/users/audgd/disable", url.Values{"csrf": {g.csrf}}); st != http.StatusSeeOther {
			t.Fatalf("disable audgd: %d", st)
		}
		if st, _ := cl["audgd"].get("/grid"); st != http.StatusSeeOther {
			t.Fatalf("disabled user still served: %d", st)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	e.addUser(User{Name: "aud", Role: RoleAuditor, Admdvs: "100000"})
	a := e.sessionFor("nat")
	other := e.sessionFor("nat")
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{}, nil},
		{"empty token", url.Values{"csrf": {""}}, nil},
		{"another session's token", url.Values{"csrf": {other.csrf}}, nil},
		{"token in the query only", nil, nil},
		{"foreign origin", url.Values{"csrf": {a.csrf}}, []string{"Origin", "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/users/aud/disable"
			if tc.form == nil {
				path += "?csrf=" + a.csrf
			}
			if st, _, _ := a.do("POST", path, tc.form, tc.hdr...); st != http.StatusForbidden {
				t.Fatalf("status %d, want 403", st)
			}
			if u, _ := e.c.users.Get(context.Background(), "aud"); u.Disabled {
				t.Fatal("the change went through")
			}
		})
	}
	st, _, _ := a.do("POST", "/users/aud/disable", url.Values{"csrf": {a.csrf}}, "Origin", e.srv.URL)
	if st != http.StatusSeeOther {
		t.Fatalf("same-origin POST with the token: %d", st)
	}
	if u, _ := e.c.users.Get(context.Background(), "aud"); !u.Disabled {
		t.Fatal("aud not disabled")
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newTestEnv(t, national, Options{SessionTTL: 2 * time.Hour, IdleTimeout: 20 * time.Minute})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	t.Run("idle", func(t *testing.T) {
		cl := e.sessionFor("nat")
		e.clock.Add(19 * time.Minute)
		if st, _ := cl.get("/grid"); st != 200 {
			t.Fatalf("before the idle timeout: %d", st)
		}
		e.clock.Add(19 * time.Minute) // 19 min after the last use
		if st, _ := cl.get("/grid"); st != 200 {
			t.Fatalf("use refreshed the idle clock, yet: %d", st)
		}
		e.clock.Add(20 * time.Minute)
		if st, _ := cl.get("/grid"); st != http.StatusSeeOther {
			t.Fatalf("after the idle timeout: %d", st)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		cl := e.sessionFor("nat")
		for i := 0; i < 6; i++ { // active every 15 min for 1.5 h
			e.clock.Add(15 * time.Minute)
			if st, _ := cl.get("/grid?fragment=centers"); st != 200 {
				t.Fatalf("active session refused after %d min: %d", 15*(i+1), st)
			}
		}
		e.clock.Add(31 * time.Minute)
		if st, _ := cl.get("/grid"); st != http.StatusSeeOther {
			t.Fatalf("session outlived its lifetime: %d", st)
		}
		var n int
		if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM console_sessions WHERE token_hash = ?`, tokenHash(cl.token)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("expired session row left: %d %v", n, err)
		}
	})
}

func TestCSVAndFragments(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	e.c.SetClearing(statements{{Month: "2026-11", Admdvs: "440000", Net: 5, Status: "=HYPERLINK(\"x\")"}})
	cl := e.sessionFor("nat")
	st, body, resp := cl.do("GET", "/grid?csv=centers", nil)
	if st != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("status %d headers %v", st, resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(recs) != 34 || recs[0][0] != "Center" || recs[1][1] != "100000" || recs[33][1] != "660000" {
		t.Fatalf("%d records, first %v", len(recs), recs[0])
	}
	if recs[1][2] != "up" || recs[2][2] != "unknown" {
		t.Fatalf("health column: %q %q", recs[1][2], recs[2][2])
	}
	_, body, _ = cl.do("GET", "/clearing?csv=statements", nil)
	recs, err = csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("clearing CSV %v %v", recs, err)
	}
	if recs[1][5] != `'=HYPERLINK("x")` || recs[1][4] != "0.05" {
		t.Fatalf("clearing CSV row %q", recs[1])
	}
	for _, p := range []string{"/users?csv=users", "/audit?csv=records", "/alerts?csv=rules", "/node/100000?csv=checks", "/traffic?csv=pairs", "/refdata?csv=namespaces"} {
		if st, _ := cl.get(p); st != 200 {
			t.Fatalf("%s: %d", p, st)
		}
	}
	if st, _ := cl.get("/grid?csv=nosuch"); st != 404 {
		t.Fatalf("unknown table: %d", st)
	}
	st, body = cl.get("/grid?fragment=centers")
	if st != 200 || !strings.HasPrefix(body, "<tbody>") || gridRows(body) != 33 || strings.Contains(body, "<html") {
		t.Fatalf("fragment: %d %.100s", st, body)
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "@SUM": "'@SUM", "-12.50": "-12.50", "-x": "'-x", "abc": "abc", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuditTamperShown(t *testing.T) {
	e := newTestEnv(t, national, Options{})
	e.addUser(User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		e.c.record(ctx, "nat", "test", "n="+string(rune('a'+i)))
	}
	cl := e.sessionFor("nat")
	if _, body := cl.get("/audit"); !strings.Contains(body, "Chain verified: 3 records") {
		t.Fatal("intact chain not verified")
	}
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE console_audit SET detail = 'n=z' WHERE seq = 2`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := cl.get("/audit"); !strings.Contains(body, "Chain verification FAILED") || !strings.Contains(body, "seq 2") {
		t.Fatal("edited record not reported")
	}
	// Deleting the newest record is caught by the recorded head.
	err = e.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE console_audit SET detail = 'n=b' WHERE seq = 2`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM console_audit WHERE seq = 3`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := cl.get("/audit"); !strings.Contains(body, "Chain verification FAILED") || !strings.Contains(body, "deleted") {
		t.Fatal("deleted head record not reported")
	}
}

func TestUserValidation(t *testing.T) {
	for _, tc := range []struct {
		u  User
		ok bool
	}{
		{User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "100000"}, true},
		{User{Name: "nat", Role: RoleNationalAdmin, Admdvs: "440000"}, false},
		{User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "100000"}, false},
		{User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "440000"}, true},
		{User{Name: "gd", Role: RoleProvinceAdmin, Admdvs: "999999"}, false},
		{User{Name: "aud", Role: RoleAuditor, Admdvs: "440000"}, true},
		{User{Name: "x", Role: RoleAuditor, Admdvs: "440000"}, false},
		{User{Name: "Bad Name", Role: RoleAuditor, Admdvs: "440000"}, false},
		{User{Name: "root", Role: "root", Admdvs: "100000"}, false},
	} {
		t.Run(tc.u.Name+"-"+string(tc.u.Role)+"-"+tc.u.Admdvs, func(t *testing.T) {
			if err := tc.u.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/grid", "/traffic": "/traffic", "/node/110000?csv=checks": "/node/110000?csv=checks",
		"//evil.example/": "/grid", "/\\evil.example": "/grid", "https://evil.example": "/grid", "/login?next=/x": "/grid",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
