package portal

import (
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/node/store/storetest"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

// headerSessions stands in for the console's login, which this package
// may not import: the X-Test-User header names a known principal.
type headerSessions map[string]Principal

func (h headerSessions) Principal(r *http.Request) (Principal, error) {
	p, ok := h[r.Header.Get("X-Test-User")]
	if !ok {
		return Principal{}, ErrNoSession
	}
	return p, nil
}

// auditRec records audit entries.
type auditRec struct {
	mu      sync.Mutex
	entries []string
}

func (a *auditRec) Append(_ context.Context, actor, action, object, detail string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, actor+" "+action+" "+object+" "+detail)
	return nil
}

func (a *auditRec) has(actor, action string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.entries {
		if strings.HasPrefix(e, actor+" "+action+" ") {
			return true
		}
	}
	return false
}

type taskList []Task

func (l taskList) Tasks(_ context.Context, p Principal) ([]Task, error) {
	var out []Task
	for _, t := range l {
		if t.ID != "mine-"+p.Name {
			out = append(out, t)
		}
	}
	return out, nil
}

var (
	admin   = Principal{Name: "gdadmin", Role: RoleProvinceAdmin, Admdvs: "440000", CSRF: "tok-admin"}
	auditor = Principal{Name: "gdaudit", Role: RoleAuditor, Admdvs: "440000", CSRF: "tok-audit"}
)

type node struct {
	s     *Service
	audit *auditRec
	srv   *httptest.Server // console router
	inbox *httptest.Server // internode router
}

func startNode(t *testing.T, db *store.DB, admdvs string, o Options) *node {
	t.Helper()
	n := &node{audit: &auditRec{}}
	o.Audit = n.audit
	if o.Sessions == nil {
		o.Sessions = headerSessions{"gdadmin": admin, "gdaudit": auditor}
	}
	o.RetryEvery = time.Hour
	n.s = New(o)
	d := n.s.Descriptor()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background(), d.Name, d.Migrations); err != nil {
		t.Fatal(err)
	}
	console, internode := mux.NewRouter(), mux.NewRouter()
	// A subsystem API behind the guard, and a console page outside it.
	console.HandleFunc("/internalcontrol/v1/approvals", func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalOf(r.Context())
		subsystem.WriteJSON(w, http.StatusOK, map[string]string{"who": p.Name})
	}).Methods(http.MethodGet, http.MethodPost)
	console.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "login page") })
	if err := n.s.Start(context.Background(), subsystem.Env{DB: db, Admdvs: admdvs, Console: console}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.s.Stop(context.Background()) })
	n.s.RegisterInternode(internode)
	n.srv, n.inbox = httptest.NewServer(console), httptest.NewServer(internode)
	t.Cleanup(n.srv.Close)
	t.Cleanup(n.inbox.Close)
	return n
}

func do(t *testing.T, srv *httptest.Server, method, path, user, csrf, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		subs := []subsystem.Descriptor{{Name: "internalcontrol", Title: "内部控制"}}
		n := startNode(t, db, "440000", Options{Subsystems: subs})
		cases := []struct {
			name, method, path, user, csrf string
			want                           int
			wantAudit                      string // actor action
		}{
			{"no session on an API", "GET", "/internalcontrol/v1/approvals", "", "", 401, "anonymous portal.denied"},
			{"no session on a page redirects", "GET", "/portal", "", "", 303, "anonymous portal.denied"},
			{"read with a session", "GET", "/internalcontrol/v1/approvals", "gdaudit", "", 200, ""},
			{"auditor may not change", "POST", "/internalcontrol/v1/approvals", "gdaudit", "tok-audit", 403, "gdaudit portal.denied"},
			{"change without CSRF", "POST", "/internalcontrol/v1/approvals", "gdadmin", "", 403, "gdadmin portal.denied"},
			{"change with a wrong CSRF", "POST", "/internalcontrol/v1/approvals", "gdadmin", "tok-audit", 403, "gdadmin portal.denied"},
			{"change with CSRF", "POST", "/internalcontrol/v1/approvals", "gdadmin", "tok-admin", 200, "gdadmin portal.change"},
			{"other province out of scope", "GET", "/internalcontrol/v1/approvals?admdvs=110000", "gdadmin", "", 403, "gdadmin portal.denied"},
			{"own division in scope", "GET", "/internalcontrol/v1/approvals?admdvs=440300", "gdadmin", "", 200, ""},
			{"unguarded console page", "GET", "/login", "", "", 200, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				n.audit.entries = nil
				code, body := do(t, n.srv, c.method, c.path, c.user, c.csrf, "{}")
				if code != c.want {
					t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, code, c.want, body)
				}
				if c.wantAudit != "" {
					actor, action, _ := strings.Cut(c.wantAudit, " ")
					if !n.audit.has(actor, action) {
						t.Fatalf("audit %v lacks %s", n.audit.entries, c.wantAudit)
					}
				} else if len(n.audit.entries) != 0 {
					t.Fatalf("unexpected audit entries %v", n.audit.entries)
				}
				if code == 200 && c.user != "" && strings.Contains(c.path, "/v1/") && !strings.Contains(body, `"who":"`+c.user+`"`) {
					t.Fatalf("handler did not see the principal: %s", body)
				}
			})
		}
	})
}

func TestWorkbench(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		tasks := taskList{
			{Source: "internalcontrol", ID: "a2", Kind: "approval", Title: "approve payment", Since: t0.Add(time.Hour)},
			{Source: "supervision", ID: "f1", Kind: "finding", Title: "review finding", Since: t0},
			{Source: "internalcontrol", ID: "mine-gdadmin", Kind: "approval", Title: "my own request", Since: t0},
		}
		n := startNode(t, db, "440000", Options{Tasks: []TaskSource{tasks}})
		code, body := do(t, n.srv, "GET", "/portal/v1/tasks", "gdadmin", "", "")
		if code != 200 {
			t.Fatalf("tasks: %d %s", code, body)
		}
		var out struct{ Tasks []Task }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 2 || out.Tasks[0].ID != "f1" || out.Tasks[1].ID != "a2" {
			t.Fatalf("tasks %+v: want f1 then a2, not my own request", out.Tasks)
		}
		code, body = do(t, n.srv, "GET", "/portal", "gdadmin", "", "")
		if code != 200 || !strings.Contains(body, "review finding") || strings.Contains(body, "my own request") {
			t.Fatalf("workbench page: %d %s", code, body)
		}
	})
}

// fed is a national and a province portal whose messages travel between
// their internode servers as signed envelopes.
type fed struct {
	national, province *node
	down               bool
	mu                 sync.Mutex
}

func (f *fed) Deliver(ctx context.Context, admdvs string, env []byte) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return errors.New("link down")
	}
	to := map[string]*node{"100000": f.national, "440000": f.province}[admdvs]
	if to == nil {
		return fmt.Errorf("no node %s", admdvs)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.inbox.URL+PathInbox, bytes.NewReader(env))
	if err != nil {
		return err
	}
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

func newFed(t *testing.T, dbN, dbP *store.DB) (*fed, *envelope.Signer) {
	t.Helper()
	authority, err := ca.Init(t.TempDir(), []byte("pass"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fed{}
	messaging := func(admdvs string, role ca.Role) (*envelope.Signer, *envelope.Verifier) {
		m, err := link.IssueMaterial(authority, admdvs, role, "127.0.0.1")
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
		return sg, v
	}
	sgN, vN := messaging("100000", ca.RoleNational)
	sgP, vP := messaging("440000", ca.RoleProvince)
	nat := Principal{Name: "nhsa", Role: RoleNationalAdmin, Admdvs: "100000", CSRF: "tok-nhsa"}
	f.national = startNode(t, dbN, "100000", Options{Courier: f, Signer: sgN, Verifier: vN, Sessions: headerSessions{"nhsa": nat}})
	f.province = startNode(t, dbP, "440000", Options{Courier: f, Signer: sgP, Verifier: vP})
	return f, sgP
}

func TestMessagesBetweenCenters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbN *store.DB) {
		dbP := storetest.Open(t, dbN.Kind())
		f, sgP := newFed(t, dbN, dbP)
		file := []byte("week,settlements\n2026-W48,1234\n")
		send := fmt.Sprintf(`{"to":"440000","subject":"W48 reporting","body":"please check","file_name":"w48.csv","file":%q}`,
			base64.StdEncoding.EncodeToString(file))
		code, body := do(t, f.national.srv, "POST", "/portal/v1/messages", "nhsa", "tok-nhsa", send)
		if code != 201 || !strings.Contains(body, `"status":"delivered"`) {
			t.Fatalf("send: %d %s", code, body)
		}
		var sent Message
		_ = json.Unmarshal([]byte(body), &sent)
		// Stored at both ends, the file intact.
		code, body = do(t, f.province.srv, "GET", "/portal/v1/messages?box=in", "gdadmin", "", "")
		if code != 200 || !strings.Contains(body, sent.ID) || !strings.Contains(body, `"from":"100000"`) {
			t.Fatalf("province inbox: %d %s", code, body)
		}
		code, got := do(t, f.province.srv, "GET", "/portal/messages/in/"+sent.ID+"/file", "gdadmin", "", "")
		if code != 200 || got != string(file) {
			t.Fatalf("file at the province: %d %q", code, got)
		}
		if !f.province.audit.has("100000", "portal.message.receive") || !f.province.audit.has("gdadmin", "portal.file.download") ||
			!f.national.audit.has("nhsa", "portal.message.send") {
			t.Fatalf("audit: national %v province %v", f.national.audit.entries, f.province.audit.entries)
		}
		if m, err := f.national.s.load(context.Background(), sent.ID, BoxOut); err != nil || m.Status != StatusDelivered || string(m.File) != string(file) {
			t.Fatalf("national copy: %+v %v", m, err)
		}

		// The same envelope delivered twice is stored once.
		var env string
		if err := dbN.QueryRow(context.Background(), `SELECT envelope FROM portal_message WHERE id = ? AND box = ?`, sent.ID, BoxOut).Scan(&env); err != nil {
			t.Fatal(err)
		}
		if err := f.Deliver(context.Background(), "440000", []byte(env)); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("replayed envelope: %v, want refused", err)
		}
		// A retry after a lost answer is sealed afresh and stored once.
		m, err := f.national.s.load(context.Background(), sent.ID, BoxOut)
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.national.s.seal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Deliver(context.Background(), "440000", again); err != nil {
			t.Fatalf("retry: %v", err)
		}
		var count int
		if err := dbP.QueryRow(context.Background(), `SELECT COUNT(*) FROM portal_message WHERE id = ?`, sent.ID).Scan(&count); err != nil || count != 1 {
			t.Fatalf("province holds %d copies (%v)", count, err)
		}

		// A province may not message another province, nor claim to be
		// the national center.
		code, body = do(t, f.province.srv, "POST", "/portal/v1/messages", "gdadmin", "tok-admin", `{"to":"110000","subject":"hi"}`)
		if code != 400 || !strings.Contains(body, `"field":"to"`) {
			t.Fatalf("province to province: %d %s", code, body)
		}
		forged, _ := json.Marshal(Message{ID: "msg-forged", From: "100000", To: "440000", Sender: "x", Subject: "forged", Sent: 1})
		e, err := sgP.Sign(EnvelopeType, forged)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := e.Encode()
		if _, err := f.province.s.Receive(context.Background(), raw); !errors.Is(err, ErrForbidden) {
			t.Fatalf("forged sender: %v", err)
		}

		// Link down: queued, then delivered by the retry.
		f.mu.Lock()
		f.down = true
		f.mu.Unlock()
		code, body = do(t, f.province.srv, "POST", "/portal/v1/messages", "gdadmin", "tok-admin", `{"to":"100000","subject":"answer","body":"done"}`)
		if code != 201 || !strings.Contains(body, `"status":"queued"`) {
			t.Fatalf("send while down: %d %s", code, body)
		}
		f.mu.Lock()
		f.down = false
		f.mu.Unlock()
		if n, err := f.province.s.Redeliver(context.Background()); err != nil || n != 1 {
			t.Fatalf("redeliver: %d %v", n, err)
		}
		list, err := f.national.s.Messages(context.Background(), Principal{Name: "nhsa", Role: RoleNationalAdmin, Admdvs: "100000"}, BoxIn, 10)
		if err != nil || len(list) != 1 || list[0].Subject != "answer" || list[0].From != "440000" {
			t.Fatalf("national inbox: %+v %v", list, err)
		}
		// An auditor reads but may not send.
		if _, err := f.province.s.Send(context.Background(), auditor, Draft{To: "100000", Subject: "x"}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("auditor send: %v", err)
		}
	})
}
