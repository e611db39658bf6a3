package publicservice

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

// Person pages (公共服务 web pages) on the console listener under /my:
//
//	GET  /my/login, POST /my/login    certificate number and name
//	GET  /my/code,  POST /my/code     the one-time code sent to the person
//	GET  /my                          status, filings, settlements and accumulators
//	GET  /my/filing, POST /my/filing  online cross-province filing (2501)
//	POST /my/filing/{id}/cancel       cancel a filing
//	GET  /my/qualification            qualification check
//	GET  /my/institutions             designated institution search
//	GET  /my/notices                  policy notices in force
//	POST /my/logout
//
// A person logs in with certificate number and name, then a one-time code
// that a real deployment sends by SMS to the phone in the register; here
// it goes to Options.SendCode (default: the node log). Sessions live in
// memory only (a restart logs everyone out) and hold the verified
// identity, so every page shows only that person's own data.

//go:embed templates/*.html
var pageFiles embed.FS

var personPages = template.Must(template.New("my").Funcs(template.FuncMap{
	"yuan": func(v interface{ String() string }) string { return v.String() },
}).ParseFS(pageFiles, "templates/*.html"))

const (
	personCookie    = "ybps_session"
	challengeCookie = "ybps_challenge"
	personTTL       = 30 * time.Minute
	codeTTL         = 5 * time.Minute
	codeTries       = 5
)

// personSession is a logged-in person, or (code == "") a login waiting
// for its one-time code.
type personSession struct {
	id      Identity
	csrf    string
	code    string
	tries   int
	expires time.Time
}

// personSessions keeps person logins in memory.
type personSessions struct {
	mu sync.Mutex
	m  map[string]*personSession // token -> session
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (ps *personSessions) put(s *personSession) string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*personSession{}
	}
	now := time.Now()
	for k, v := range ps.m {
		if now.After(v.expires) {
			delete(ps.m, k)
		}
	}
	t := randomToken()
	ps.m[t] = s
	return t
}

func (ps *personSessions) get(token string, now time.Time) (*personSession, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s, ok := ps.m[token]
	if !ok || now.After(s.expires) {
		delete(ps.m, token)
		return nil, false
	}
	return s, true
}

func (ps *personSessions) end(token string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	delete(ps.m, token)
}

type myView struct {
	Title, Nav, CSRF, Error, Info string
	Name, Certno                  string
	Status                        *Status
	Year                          string
	Settlements                   []Settlement
	Acc                           Accumulators
	SetlError                     string
	Qual                          *Qualification
	Institutions                  []Institution
	Notices                       []Notice
	Form                          map[string]string
	Kinds                         []string
}

func (s *Service) pageRoutes(r *mux.Router) {
	r.HandleFunc("/my/login", s.myLoginPage).Methods(http.MethodGet)
	r.HandleFunc("/my/login", s.myLogin).Methods(http.MethodPost)
	r.HandleFunc("/my/code", s.myCodePage).Methods(http.MethodGet)
	r.HandleFunc("/my/code", s.myCode).Methods(http.MethodPost)
	r.HandleFunc("/my", s.person(s.myHome)).Methods(http.MethodGet)
	r.HandleFunc("/my/filing", s.person(s.myFilingPage)).Methods(http.MethodGet)
	r.HandleFunc("/my/filing", s.person(s.myFile)).Methods(http.MethodPost)
	r.HandleFunc("/my/filing/{id}/cancel", s.person(s.myCancel)).Methods(http.MethodPost)
	r.HandleFunc("/my/qualification", s.person(s.myQualification)).Methods(http.MethodGet)
	r.HandleFunc("/my/institutions", s.person(s.myInstitutions)).Methods(http.MethodGet)
	r.HandleFunc("/my/notices", s.person(s.myNotices)).Methods(http.MethodGet)
	r.HandleFunc("/my/logout", s.person(s.myLogout)).Methods(http.MethodPost)
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (s *Service) renderMy(w http.ResponseWriter, code int, name string, v *myView) {
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := personPages.ExecuteTemplate(w, name, v); err != nil {
		s.log.Error("render person page", "page", name, "err", err)
	}
}

func setPersonCookie(w http.ResponseWriter, r *http.Request, name, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/my", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ttl.Seconds())})
}

func sameSite(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://") == r.Host
}

func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// loginToken is the double-submit token of the login forms, kept in a
// cookie so a form posted from elsewhere is refused.
func loginToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie("ybps_login"); err == nil && len(ck.Value) == 64 {
		return ck.Value
	}
	t := randomToken()
	setPersonCookie(w, r, "ybps_login", t, time.Hour)
	return t
}

func loginFormOK(r *http.Request) bool {
	ck, err := r.Cookie("ybps_login")
	return err == nil && sameSite(r) && tokensEqual(ck.Value, r.PostFormValue("csrf"))
}

func (s *Service) myLoginPage(w http.ResponseWriter, r *http.Request) {
	s.renderMy(w, http.StatusOK, "login", &myView{Title: "Log in", CSRF: loginToken(w, r)})
}

func (s *Service) myLogin(w http.ResponseWriter, r *http.Request) {
	if !loginFormOK(r) {
		http.Error(w, "forbidden: reload the login page", http.StatusForbidden)
		return
	}
	id := Identity{Certno: strings.ToUpper(strings.TrimSpace(r.PostFormValue("certno"))), Name: strings.TrimSpace(r.PostFormValue("psn_name"))}
	fail := func(code int, msg string) {
		s.renderMy(w, code, "login", &myView{Title: "Log in", CSRF: loginToken(w, r), Error: msg})
	}
	if _, err := s.verify(r.Context(), id); err != nil {
		if errors.Is(err, ErrIdentity) || errors.Is(err, ErrBadInput) {
			s.log.Info("person login refused", "certno", MaskCertno(id.Certno))
			fail(http.StatusUnauthorized, "Certificate number and name do not match an insured person of this province.")
			return
		}
		s.log.Error("person login", "err", err)
		fail(http.StatusServiceUnavailable, "The service cannot check identities right now.")
		return
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1000000))
	code := fmt.Sprintf("%06d", n.Int64())
	tok := s.people.put(&personSession{id: id, code: code, expires: s.opt.Now().Add(codeTTL)})
	s.sendCode(id.Certno, code)
	setPersonCookie(w, r, challengeCookie, tok, codeTTL)
	http.Redirect(w, r, "/my/code", http.StatusSeeOther)
}

// sendCode hands the one-time code to Options.SendCode, or logs it.
func (s *Service) sendCode(certno, code string) {
	if s.opt.SendCode != nil {
		s.opt.SendCode(certno, code)
		return
	}
	s.log.Info("public service one-time code (a deployment sends it by SMS)", "certno", MaskCertno(certno), "code", code)
}

func (s *Service) myCodePage(w http.ResponseWriter, r *http.Request) {
	s.renderMy(w, http.StatusOK, "code", &myView{Title: "One-time code", CSRF: loginToken(w, r)})
}

func (s *Service) myCode(w http.ResponseWriter, r *http.Request) {
	if !loginFormOK(r) {
		http.Error(w, "forbidden: reload the page", http.StatusForbidden)
		return
	}
	ck, err := r.Cookie(challengeCookie)
	var ch *personSession
	ok := err == nil
	if ok {
		ch, ok = s.people.get(ck.Value, s.opt.Now())
	}
	if !ok || ch.code == "" {
		http.Redirect(w, r, "/my/login", http.StatusSeeOther)
		return
	}
	if !tokensEqual(strings.TrimSpace(r.PostFormValue("code")), ch.code) {
		s.people.mu.Lock()
		ch.tries++
		tries := ch.tries
		s.people.mu.Unlock()
		if tries >= codeTries {
			s.people.end(ck.Value)
			http.Redirect(w, r, "/my/login", http.StatusSeeOther)
			return
		}
		s.renderMy(w, http.StatusUnauthorized, "code", &myView{Title: "One-time code", CSRF: loginToken(w, r), Error: "Wrong code."})
		return
	}
	s.people.end(ck.Value)
	tok := s.people.put(&personSession{id: ch.id, csrf: randomToken(), expires: s.opt.Now().Add(personTTL)})
	setPersonCookie(w, r, challengeCookie, "", -time.Second)
	setPersonCookie(w, r, personCookie, tok, personTTL)
	s.log.Info("person logged in", "certno", MaskCertno(ch.id.Certno))
	http.Redirect(w, r, "/my", http.StatusSeeOther)
}

type personHandler func(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView)

// person wraps a page that needs a logged-in person; a POST must carry
// the session's CSRF token from the same site.
func (s *Service) person(h personHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(personCookie)
		var ps *personSession
		ok := err == nil
		if ok {
			ps, ok = s.people.get(ck.Value, s.opt.Now())
		}
		if !ok || ps.csrf == "" {
			http.Redirect(w, r, "/my/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && (!sameSite(r) || !tokensEqual(r.PostFormValue("csrf"), ps.csrf)) {
			http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		h(w, r, ps, &myView{CSRF: ps.csrf, Name: MaskName(ps.id.Name), Certno: MaskCertno(ps.id.Certno)})
	}
}

func (s *Service) myHome(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	v.Title, v.Nav = "My insurance", "home"
	st, err := s.MyStatus(r.Context(), ps.id)
	if err != nil {
		v.Error = err.Error()
	}
	v.Status = st
	v.Year = r.URL.Query().Get("year")
	if v.Year == "" {
		v.Year = s.opt.Now().Format("2006")
	}
	v.Settlements, v.Acc, err = s.MySettlements(r.Context(), ps.id, v.Year)
	if err != nil {
		v.SetlError = "Settlements are not available: " + err.Error()
	}
	v.Info = r.URL.Query().Get("info")
	s.renderMy(w, http.StatusOK, "home", v)
}

var filingKinds = []string{FilingTemporary, FilingLongTerm, FilingReferral, FilingEmergency}

func (s *Service) myFilingPage(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	v.Title, v.Nav, v.Kinds = "Cross-province filing (2501)", "filing", filingKinds
	v.Form = map[string]string{"begndate": s.opt.Now().Format(day)}
	s.renderMy(w, http.StatusOK, "filing", v)
}

func (s *Service) myFile(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	req := FilingRequest{Identity: ps.id, Kind: r.PostFormValue("kind"), Admdvs: strings.TrimSpace(r.PostFormValue("admdvs")),
		Begndate: r.PostFormValue("begndate"), Enddate: r.PostFormValue("enddate"), Reason: r.PostFormValue("reason")}
	f, err := s.File(r.Context(), req)
	if err != nil {
		v.Title, v.Nav, v.Kinds, v.Error = "Cross-province filing (2501)", "filing", filingKinds, err.Error()
		v.Form = map[string]string{"kind": req.Kind, "admdvs": req.Admdvs, "begndate": req.Begndate, "enddate": req.Enddate, "reason": req.Reason}
		code := http.StatusBadRequest
		if !errors.Is(err, ErrBadInput) && !errors.Is(err, ErrTransition) {
			code = http.StatusInternalServerError
			s.log.Error("person filing", "err", err)
		}
		s.renderMy(w, code, "filing", v)
		return
	}
	http.Redirect(w, r, "/my?info="+f.ID, http.StatusSeeOther)
}

func (s *Service) myCancel(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	if _, err := s.CancelFiling(r.Context(), ps.id, mux.Vars(r)["id"]); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	http.Redirect(w, r, "/my", http.StatusSeeOther)
}

func (s *Service) myQualification(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	v.Title, v.Nav = "Qualification check", "qual"
	q := r.URL.Query()
	v.Form = map[string]string{"admdvs": q.Get("admdvs"), "date": q.Get("date")}
	if v.Form["date"] == "" {
		v.Form["date"] = s.opt.Now().Format(day)
	}
	if q.Get("admdvs") != "" {
		res, err := s.CheckQualification(r.Context(), ps.id, q.Get("admdvs"), v.Form["date"], q.Get("emergency") == "1")
		if err != nil {
			v.Error = err.Error()
		}
		v.Qual = res
	}
	s.renderMy(w, http.StatusOK, "qualification", v)
}

func (s *Service) myInstitutions(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	v.Title, v.Nav = "Designated institutions", "inst"
	q := r.URL.Query()
	v.Form = map[string]string{"admdvs": q.Get("admdvs"), "q": q.Get("q")}
	if v.Form["admdvs"] == "" && len(s.admdvs) >= 2 {
		v.Form["admdvs"] = s.admdvs[:2]
	}
	res, err := s.SearchInstitutions(r.Context(), v.Form["admdvs"], v.Form["q"], 50)
	if err != nil {
		v.Error = err.Error()
	}
	v.Institutions = res
	s.renderMy(w, http.StatusOK, "institutions", v)
}

func (s *Service) myNotices(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	v.Title, v.Nav = "Policy notices", "notices"
	ns, err := s.Notices(r.Context(), s.admdvs, s.opt.Now().Format(day))
	if err != nil {
		v.Error = err.Error()
	}
	v.Notices = ns
	s.renderMy(w, http.StatusOK, "notices", v)
}

func (s *Service) myLogout(w http.ResponseWriter, r *http.Request, ps *personSession, v *myView) {
	if ck, err := r.Cookie(personCookie); err == nil {
		s.people.end(ck.Value)
	}
	setPersonCookie(w, r, personCookie, "", -time.Second)
	http.Redirect(w, r, "/my/login", http.StatusSeeOther)
}
