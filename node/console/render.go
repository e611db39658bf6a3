package console

import (
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// renderer holds the parsed templates.
type renderer struct {
	t *template.Template
}

func newRenderer() (*renderer, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	return &renderer{t: t}, nil
}

// view is what the layout template renders.
type view struct {
	Title      string
	Nav        string
	User       User
	CSRF       string
	Self       Self
	AlertCount int
	Banners    []banner
	Facts      []fact
	Charts     []chart
	Tables     []*table
	UserForm   *userForm
	Roles      []Role
	Now        time.Time
	RefreshMS  int
}

type banner struct {
	Class string // ok, warn, bad, info
	Text  string
}

type fact struct {
	Label, Value, Class string
	// Count, when set, is a health whose rows the page script counts
	// after each partial refresh (up, degraded, down, unknown).
	Count string
}

type chart struct {
	Title string
	SVG   template.HTML
}

// table is one table of a page, rendered as HTML and exportable as CSV.
type table struct {
	ID    string
	Title string
	Note  string
	Head  []string
	Rows  []row
	// Empty is shown instead of rows when there are none.
	Empty string
	// Refresh, when set, reloads the table body every RefreshMS through
	// the page's fragment URL.
	Refresh bool
	// Path is the page path, for the CSV and fragment links.
	Path string
	// CSRF is the session's token, for buttons that post.
	CSRF string
}

type row struct {
	Class string
	Cells []cell
}

type cell struct {
	Text  string
	Class string
	Href  string
	Title string
	// Post, when set, renders a button posting to this URL with the CSRF
	// token (the cell's Text is the button label).
	Post string
}

type userForm struct {
	Admdvs   []string
	Fixed    string // province admins add users of their own center only
	National bool
}

// pageError is an error with an HTTP status.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return e.msg }

func forbidden(msg string) error { return &pageError{http.StatusForbidden, "forbidden: " + msg} }
func notFound(msg string) error  { return &pageError{http.StatusNotFound, "not found: " + msg} }
func badRequest(msg string) error {
	return &pageError{http.StatusBadRequest, "bad request: " + msg}
}

// page turns a view builder into a handler answering the full page, one
// table as an HTML fragment (?fragment=ID) or one table as CSV (?csv=ID).
func (c *Console) page(nav, title string, build func(r *http.Request, v *view) error) http.HandlerFunc {
	return c.authed(func(w http.ResponseWriter, r *http.Request) { c.serve(w, r, nav, title, build) })
}

// serve builds and writes one page for an authenticated request.
func (c *Console) serve(w http.ResponseWriter, r *http.Request, nav, title string, build func(r *http.Request, v *view) error) {
	st := stateOf(r)
	v := &view{Title: title, Nav: nav, User: st.User, CSRF: st.CSRF, Self: c.host.Self, Now: c.now(), RefreshMS: c.opts.RefreshMillis, Roles: Roles}
	for _, a := range c.alerts.get() {
		if st.User.Sees(a.Admdvs) {
			v.AlertCount++
		}
	}
	if err := build(r, v); err != nil {
		var pe *pageError
		if errors.As(err, &pe) {
			http.Error(w, pe.msg, pe.status)
			return
		}
		c.log.Error("console page failed", "path", r.URL.Path, "err", err)
		http.Error(w, "the console could not build this page; see the node log", http.StatusInternalServerError)
		return
	}
	for _, t := range v.Tables {
		t.Path, t.CSRF = r.URL.Path, st.CSRF
	}
	q := r.URL.Query()
	if id := q.Get("csv"); id != "" {
		t := v.table(id)
		if t == nil {
			http.Error(w, "no table "+id+" on this page", http.StatusNotFound)
			return
		}
		writeCSV(w, c.host.Self.Admdvs+"-"+id+"-"+v.Now.UTC().Format("20060102T150405Z")+".csv", t)
		return
	}
	if id := q.Get("fragment"); id != "" {
		t := v.table(id)
		if t == nil {
			http.Error(w, "no table "+id+" on this page", http.StatusNotFound)
			return
		}
		c.pages.exec(w, http.StatusOK, "tablebody", t)
		return
	}
	c.pages.exec(w, http.StatusOK, "layout", v)
}

func (v *view) table(id string) *table {
	for _, t := range v.Tables {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// exec renders a template to a buffer first, so a failure never sends half
// a page.
func (p *renderer) exec(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := p.t.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "template "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (p *renderer) login(w http.ResponseWriter, status int, v loginView) {
	p.exec(w, status, "login", v)
}

// writeCSV writes t's header and cell texts. Cells that a spreadsheet
// would take for a formula are prefixed with a quote.
func writeCSV(w http.ResponseWriter, name string, t *table) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(t.Head)
	for _, r := range t.Rows {
		rec := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			rec[i] = csvSafe(c.Text)
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := fmt.Sscanf(s, "%g", new(float64)); err == nil && s[0] == '-' {
			return s // a negative number
		}
		return "'" + s
	}
	return s
}

// static serves the embedded stylesheet and script.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}
