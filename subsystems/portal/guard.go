package portal

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ybfed/ybfed/subsystems/subsystem"
)

type principalKey struct{}

// PrincipalOf returns the principal Guard let through, if any.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// scopeParams are the query parameters that name an administrative
// division; a request naming one outside the principal's scope is refused.
var scopeParams = []string{"admdvs", "insuplc_admdvs", "province", "to"}

// Guard is the single sign-on middleware of the console listener: a
// request whose path starts with one of prefixes needs the console's
// session; auditors may only read; every change needs the session's CSRF
// token (header X-CSRF-Token or form field csrf) from the same origin; an
// admdvs named in the query must be in the principal's scope. Refusals
// and changes are accounted in the audit chain; other paths pass
// untouched.
func (s *Service) Guard(prefixes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !guarded(r.URL.Path, prefixes) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			what := r.Method + " " + r.URL.Path
			var p Principal
			err := ErrNoSession
			if s.opts.Sessions != nil {
				p, err = s.opts.Sessions.Principal(r)
			}
			if err != nil {
				if !errors.Is(err, ErrNoSession) {
					s.log.Error("session lookup", "err", err)
				}
				s.account(r.Context(), "anonymous", "portal.denied", r.URL.Path, what+": not logged in from "+remote(r))
				if r.Method == http.MethodGet && !strings.Contains(r.URL.Path, "/v1/") {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				deny(w, http.StatusUnauthorized, "not logged in: log in on the console first")
				return
			}
			q := r.URL.Query()
			for _, k := range scopeParams {
				if v := q.Get(k); v != "" && !p.Sees(v) {
					s.account(r.Context(), p.Name, "portal.denied", r.URL.Path, what+": "+k+"="+v+" outside scope "+p.Admdvs)
					deny(w, http.StatusForbidden, k+" "+v+" is outside your scope ("+p.Admdvs+")")
					return
				}
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				if !p.CanWrite() {
					s.account(r.Context(), p.Name, "portal.denied", r.URL.Path, what+": role "+p.Role+" is read-only")
					deny(w, http.StatusForbidden, "your role is read-only")
					return
				}
				tok := r.Header.Get("X-CSRF-Token")
				if tok == "" && formBody(r) {
					tok = r.FormValue("csrf")
				}
				if !sameOrigin(r) || !tokenEqual(tok, p.CSRF) {
					s.account(r.Context(), p.Name, "portal.denied", r.URL.Path, what+": missing or wrong CSRF token")
					deny(w, http.StatusForbidden, "missing or wrong CSRF token")
					return
				}
				s.account(r.Context(), p.Name, "portal.change", r.URL.Path, what)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

func guarded(path string, prefixes []string) bool {
	for _, pre := range prefixes {
		if path == strings.TrimSuffix(pre, "/") || strings.HasPrefix(path, pre) {
			return true
		}
	}
	return false
}

func formBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func deny(w http.ResponseWriter, code int, msg string) {
	subsystem.WriteJSON(w, code, subsystem.ErrorBody{Error: msg})
}

func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a change whose Origin header names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func remote(r *http.Request) string {
	h := r.RemoteAddr
	if i := strings.LastIndexByte(h, ':'); i > 0 {
		h = h[:i]
	}
	return h
}
