package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/federation/centers"
)

// Cookie names.
const (
	sessionCookie = "ybconsole_session"
	loginCookie   = "ybconsole_login"
)

type ctxKey struct{}

// reqState is the authenticated caller of a request.
type reqState struct {
	User User
	CSRF string
}

func stateOf(r *http.Request) reqState {
	s, _ := r.Context().Value(ctxKey{}).(reqState)
	return s
}

// authed wraps a handler: no valid session redirects to the login page;
// every POST must carry the session's CSRF token and, when the browser
// sends one, a same-origin Origin header.
func (c *Console) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-store")
		ck, err := r.Cookie(sessionCookie)
		var ss session
		if err == nil {
			ss, err = c.sessions.lookup(r.Context(), ck.Value)
		}
		if err == nil && !c.serves(ss.User) {
			err = errNoSession
		}
		if err != nil {
			if !errors.Is(err, errNoSession) && !errors.Is(err, http.ErrNoCookie) {
				c.log.Error("session lookup failed", "err", err)
			}
			clearCookie(w, r, sessionCookie)
			next := r.URL.Path
			if r.Method == http.MethodGet && r.URL.RawQuery != "" && !strings.Contains(r.URL.RawQuery, "fragment=") {
				next += "?" + r.URL.RawQuery
			}
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || !tokenEqual(r.PostFormValue("csrf"), ss.CSRF) {
				c.log.Warn("refused a POST without a valid CSRF token", "path", r.URL.Path, "user", ss.User.Name)
				http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, reqState{User: ss.User, CSRF: ss.CSRF})
		next(w, r.WithContext(ctx))
	}
}

// ErrNoSession is Principal's answer for a request without a valid
// console session.
var ErrNoSession = errNoSession

// Principal returns the console user of r's session cookie and the
// session's CSRF token, for other parts of the node that share the
// console's login (single sign-on); a missing, expired or foreign session
// is ErrNoSession.
func (c *Console) Principal(r *http.Request) (User, string, error) {
	if c.sessions == nil {
		return User{}, "", errNoSession
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return User{}, "", errNoSession
	}
	ss, err := c.sessions.lookup(r.Context(), ck.Value)
	if err != nil {
		return User{}, "", err
	}
	if !c.serves(ss.User) {
		return User{}, "", errNoSession
	}
	return ss.User, ss.CSRF, nil
}

// writer wraps a handler that changes something: auditors are refused.
func (c *Console) writer(next http.HandlerFunc) http.HandlerFunc {
	return c.authed(func(w http.ResponseWriter, r *http.Request) {
		if u := stateOf(r).User; !u.CanWrite() {
			c.log.Warn("refused a change by a read-only user", "path", r.URL.Path, "user", u.Name)
			http.Error(w, "forbidden: your role is read-only", http.StatusForbidden)
			return
		}
		next(w, r)
	})
}

// serves reports whether u may use this node's console: the national
// center serves every account, a provincial center only its own.
func (c *Console) serves(u User) bool {
	return c.host.Self.Admdvs == centers.NationalAdmdvs || u.Admdvs == c.host.Self.Admdvs
}

func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a POST whose Origin header names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// safeNext keeps only local paths as a post-login destination.
func safeNext(s string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.HasPrefix(s, "/login") {
		return "/grid"
	}
	return s
}

type loginView struct {
	CSRF  string
	Next  string
	Error string
	User  string
	Node  Self
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	token := randomHex(16)
	setCookie(w, r, loginCookie, token, 30*time.Minute)
	c.pages.login(w, http.StatusOK, loginView{CSRF: token, Next: safeNext(r.URL.Query().Get("next")), Node: c.host.Self})
}

func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !tokenEqual(r.PostFormValue("csrf"), ck.Value) {
		http.Error(w, "forbidden: missing or wrong CSRF token; reload the login page", http.StatusForbidden)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("username"))
	pw := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	fail := func(msg string, status int) {
		token := randomHex(16)
		setCookie(w, r, loginCookie, token, 30*time.Minute)
		c.pages.login(w, status, loginView{CSRF: token, Next: next, Error: msg, User: name, Node: c.host.Self})
	}
	if wait := c.limiter.blocked(name); wait > 0 {
		fail("Too many failed attempts; try again in "+wait.Round(time.Second).String()+".", http.StatusTooManyRequests)
		return
	}
	u, err := c.users.Authenticate(r.Context(), name, pw)
	if err != nil {
		if !errors.Is(err, ErrBadLogin) {
			c.log.Error("login failed", "err", err)
			fail("The console cannot check logins right now.", http.StatusInternalServerError)
			return
		}
		c.limiter.failed(name)
		c.record(r.Context(), name, "login.fail", "remote="+remoteHost(r))
		fail("Wrong user name or password, or the account is disabled.", http.StatusUnauthorized)
		return
	}
	c.limiter.reset(name)
	if !c.serves(u) {
		c.record(r.Context(), name, "login.refused", "account of "+u.Admdvs+" at "+c.host.Self.Admdvs)
		fail("This account belongs to another center's console.", http.StatusForbidden)
		return
	}
	token, _, err := c.sessions.create(r.Context(), u.Name)
	if err != nil {
		c.log.Error("create session", "err", err)
		fail("The console cannot start a session right now.", http.StatusInternalServerError)
		return
	}
	c.record(r.Context(), u.Name, "login", "remote="+remoteHost(r))
	clearCookie(w, r, loginCookie)
	setCookie(w, r, sessionCookie, token, c.opts.SessionTTL)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.sessions.end(r.Context(), ck.Value); err != nil {
			c.log.Error("logout", "err", err)
		}
	}
	c.record(r.Context(), stateOf(r).User.Name, "logout", "")
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func remoteHost(r *http.Request) string {
	h := r.RemoteAddr
	if i := strings.LastIndexByte(h, ':'); i > 0 {
		h = h[:i]
	}
	return h
}

// loginLimiter slows down password guessing: after 5 failures within 15
// minutes a user name is refused for 5 minutes.
type loginLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*attempts
}

type attempts struct {
	n     int
	first time.Time
	until time.Time
}

const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	lockout       = 5 * time.Minute
)

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, m: map[string]*attempts{}}
}

func (l *loginLimiter) blocked(name string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[name]
	if a == nil {
		return 0
	}
	if d := a.until.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

func (l *loginLimiter) failed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) > 10000 {
		clear(l.m)
	}
	a := l.m[name]
	if a == nil || now.Sub(a.first) > failureWindow {
		a = &attempts{first: now}
		l.m[name] = a
	}
	a.n++
	if a.n >= maxFailures {
		a.until = now.Add(lockout)
		a.n, a.first = 0, now
	}
}

func (l *loginLimiter) reset(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, name)
}
