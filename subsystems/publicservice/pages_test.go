package publicservice

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
)

// codes collects the one-time codes the service sends.
type codes struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *codes) send(certno, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[certno] = code
}

func (c *codes) get(certno string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[certno]
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

type personBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPersonBrowser(t *testing.T, base string) *personBrowser {
	jar, _ := cookiejar.New(nil)
	return &personBrowser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *personBrowser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

// post submits a form with the CSRF token of page.
func (b *personBrowser) post(path, page string, form url.Values) (int, string, string) {
	b.t.Helper()
	if m := csrfField.FindStringSubmatch(page); m != nil && form.Get("csrf") == "" {
		form.Set("csrf", m[1])
	}
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

func (b *personBrowser) login(id Identity, cs *codes) {
	b.t.Helper()
	_, page, _ := b.get("/my/login")
	if code, body, loc := b.post("/my/login", page, url.Values{"certno": {id.Certno}, "psn_name": {id.Name}}); code != 303 || loc != "/my/code" {
		b.t.Fatalf("login: %d %s", code, body)
	}
	_, page, _ = b.get("/my/code")
	if code, body, loc := b.post("/my/code", page, url.Values{"code": {cs.get(id.Certno)}}); code != 303 || loc != "/my" {
		b.t.Fatalf("code: %d %s", code, body)
	}
}

// TestPersonPages walks the person pages: login with certificate number,
// name and one-time code; status; a 2501 filing that is then listed;
// qualification; and never another person's data.
func TestPersonPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cs := &codes{m: map[string]string{}}
		f := newFixture(t, db, "440300", Options{SendCode: cs.send, Directory: directory{
			{Code: "H44030500123", Name: "深圳市人民医院", Kind: "hospital", Level: "3", Admdvs: "440305"}}})

		anon := newPersonBrowser(t, f.srv.URL)
		if code, _, loc := anon.get("/my"); code != 303 || loc != "/my/login" {
			t.Fatalf("/my without login: %d %s", code, loc)
		}
		// A wrong name gets no code.
		_, page, _ := anon.get("/my/login")
		if code, _, _ := anon.post("/my/login", page, url.Values{"certno": {zhang.Certno}, "psn_name": {"张四"}}); code != 401 || cs.get(zhang.Certno) != "" {
			t.Fatalf("wrong name: %d, code sent %q", code, cs.get(zhang.Certno))
		}
		// A login form posted without the page's token is refused.
		if code, _, _ := anon.post("/my/login", "", url.Values{"certno": {zhang.Certno}, "psn_name": {"张三"}}); code != 403 {
			t.Fatalf("login without token: %d", code)
		}
		// Five wrong codes end the attempt.
		if code, _, _ := anon.post("/my/login", page, url.Values{"certno": {zhang.Certno}, "psn_name": {"张三"}}); code != 303 {
			t.Fatalf("login: %d", code)
		}
		_, cpage, _ := anon.get("/my/code")
		for i := 0; i < codeTries; i++ {
			wrong := "000000"
			if cs.get(zhang.Certno) == wrong {
				wrong = "111111"
			}
			anon.post("/my/code", cpage, url.Values{"code": {wrong}})
		}
		if code, _, loc := anon.post("/my/code", cpage, url.Values{"code": {cs.get(zhang.Certno)}}); code != 303 || loc != "/my/login" {
			t.Fatalf("right code after 5 wrong ones: %d %s", code, loc)
		}

		b := newPersonBrowser(t, f.srv.URL)
		b.login(zhang, cs)
		code, home, _ := b.get("/my")
		if code != 200 || !strings.Contains(home, "张*") || !strings.Contains(home, "4403**********0128") || !strings.Contains(home, "No filing in force") {
			t.Fatalf("home: %d %s", code, home)
		}
		if strings.Contains(home, "张三") || strings.Contains(home, zhang.Certno) {
			t.Fatalf("home page shows PII in clear")
		}
		_, fpage, _ := b.get("/my/filing")
		code, body, loc := b.post("/my/filing", fpage, url.Values{"kind": {FilingTemporary}, "admdvs": {"110105"},
			"begndate": {"2026-12-05"}, "enddate": {"2027-06-30"}, "reason": {"visiting family"}})
		if code != 303 || !strings.HasPrefix(loc, "/my?info=") {
			t.Fatalf("file 2501: %d %s", code, body)
		}
		id := strings.TrimPrefix(loc, "/my?info=")
		if _, home, _ = b.get(loc); !strings.Contains(home, id) || !strings.Contains(home, "110105") {
			t.Fatalf("filing %s not listed: %s", id, home)
		}
		if _, q, _ := b.get("/my/qualification?admdvs=110105&date=2026-12-20"); !strings.Contains(q, "Qualified: temporary filing in force") {
			t.Fatalf("qualification: %s", q)
		}
		if code, body, _ = b.post("/my/filing", fpage, url.Values{"kind": {FilingTemporary}, "admdvs": {"11"}, "begndate": {"2026-12-05"}}); code != 400 || !strings.Contains(body, "admdvs") {
			t.Fatalf("bad filing: %d %s", code, body)
		}
		if _, inst, _ := b.get("/my/institutions?admdvs=4403"); !strings.Contains(inst, "深圳市人民医院") {
			t.Fatalf("institutions: %s", inst)
		}
		// A POST without the session's token is refused.
		if code, _, _ = b.post("/my/filing", "", url.Values{"kind": {FilingTemporary}, "admdvs": {"110105"}}); code != 403 {
			t.Fatalf("filing without CSRF: %d", code)
		}

		// Another person sees only their own record.
		li := Identity{Certno: "440305196606060425", Name: "李四"}
		o := newPersonBrowser(t, f.srv.URL)
		o.login(li, cs)
		_, other, _ := o.get("/my")
		if strings.Contains(other, id) || strings.Contains(other, "张") || !strings.Contains(other, "suspended") {
			t.Fatalf("李四 sees: %s", other)
		}
		if code, _, _ := o.post("/my/filing/"+id+"/cancel", other, url.Values{}); code == 303 {
			t.Fatalf("李四 cancelled 张三's filing")
		}
		// Logging out ends the session.
		if code, _, _ := b.post("/my/logout", home, url.Values{}); code != 303 {
			t.Fatalf("logout: %d", code)
		}
		if code, _, loc := b.get("/my"); code != 303 || loc != "/my/login" {
			t.Fatalf("after logout: %d", code)
		}
	})
}
