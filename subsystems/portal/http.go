package portal

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.New("portal").Funcs(template.FuncMap{
	"usec": func(us int64) string { return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05") },
}).ParseFS(templateFiles, "templates/*.html"))

// PathInbox is the internode route that receives messages.
const PathInbox = "/portal/v1/inbox"

// routes registers, on the console router, the single sign-on guard over
// /portal and every subsystem's /<name>/v1/ API, and the portal's pages
// and API:
//
//	GET  /portal                          workbench page
//	GET  /portal/messages                 message boxes and the compose form
//	POST /portal/messages                 send (multipart form: to, subject, body, file, csrf)
//	GET  /portal/messages/{box}/{id}      one message
//	GET  /portal/messages/{box}/{id}/file its file
//	GET  /portal/v1/whoami                the principal
//	GET  /portal/v1/tasks                 pending tasks
//	GET  /portal/v1/messages?box=in|out   messages, without files
//	POST /portal/v1/messages              send {to, subject, body, file_name, file (base64)}
func (s *Service) routes(r *mux.Router) {
	prefixes := []string{"/portal/"}
	for _, d := range s.opts.Subsystems {
		if d.Name != Name {
			prefixes = append(prefixes, "/"+d.Name+"/v1/")
		}
	}
	r.Use(s.Guard(prefixes...))
	r.HandleFunc("/portal", s.pageWorkbench).Methods(http.MethodGet)
	r.HandleFunc("/portal/messages", s.pageMessages).Methods(http.MethodGet)
	r.HandleFunc("/portal/messages", s.formSend).Methods(http.MethodPost)
	r.HandleFunc("/portal/messages/{box:in|out}/{id}", s.pageMessage).Methods(http.MethodGet)
	r.HandleFunc("/portal/messages/{box:in|out}/{id}/file", s.fileDownload).Methods(http.MethodGet)
	r.HandleFunc("/portal/v1/whoami", s.handleWhoami).Methods(http.MethodGet)
	r.HandleFunc("/portal/v1/tasks", s.handleTasks).Methods(http.MethodGet)
	r.HandleFunc("/portal/v1/messages", s.handleMessages).Methods(http.MethodGet)
	r.HandleFunc("/portal/v1/messages", s.handleSend).Methods(http.MethodPost)
}

// RegisterInternode registers the message inbox on the internode router.
func (s *Service) RegisterInternode(r *mux.Router) {
	r.HandleFunc(PathInbox, s.handleInbox).Methods(http.MethodPost)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	subsystem.Fail(w, s.log, "portal", err,
		subsystem.Status{Err: ErrForbidden, Code: http.StatusForbidden},
		subsystem.Status{Err: ErrNotFound, Code: http.StatusNotFound},
		subsystem.Status{Err: ErrNotConnected, Code: http.StatusServiceUnavailable},
	)
}

// principal is the guard's principal; routes are only reachable through
// the guard, so a missing one is refused.
func (s *Service) principal(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	p, ok := PrincipalOf(r.Context())
	if !ok {
		deny(w, http.StatusUnauthorized, "not logged in")
	}
	return p, ok
}

type pageView struct {
	Title, Nav, Self string
	P                Principal
	Unread           int
	Errors           []string
	Tasks            []Task
	Subsystems       []subLink
	Peers            []centers.Center
	Boxes            []boxView
	Msg              *Message
}

type subLink struct{ Name, Title, Link string }

type boxView struct {
	Box, Title string
	List       []Message
}

// subsystemLinks names, for the workbench, a read-only API page of each
// subsystem that has one reachable through single sign-on.
var subsystemLinks = map[string]string{
	"internalcontrol": "/internalcontrol/v1/approvals?status=pending",
	"monitoring":      "/monitoring/v1/kpis",
	"analytics":       "/analytics/v1/trends",
	"publicservice":   "/publicservice/v1/notices",
	"basicinfo":       "/basicinfo/v1/institutions",
	"fund":            "/fund/v1/accounts",
	"reports":         "/reports/v1/institutions",
	"pricing":         "/pricing/v1/prices",
}

func (s *Service) view(r *http.Request, p Principal, title, nav string) *pageView {
	v := &pageView{Title: title, Nav: nav, Self: s.admdvs, P: p}
	if c, ok := centers.Lookup(s.admdvs); ok {
		v.Self = s.admdvs + " " + c.Name
	}
	if n, err := s.Unread(r.Context()); err == nil {
		v.Unread = n
	}
	return v
}

func (s *Service) render(w http.ResponseWriter, name string, v *pageView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.log.Error("render portal page", "page", name, "err", err)
	}
}

func (s *Service) pageWorkbench(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	v := s.view(r, p, "Workbench", "work")
	tasks, errs := s.Workbench(r.Context(), p)
	v.Tasks = tasks
	for _, err := range errs {
		v.Errors = append(v.Errors, "A task source failed: "+err.Error())
	}
	for _, d := range s.opts.Subsystems {
		v.Subsystems = append(v.Subsystems, subLink{Name: d.Name, Title: d.Title, Link: subsystemLinks[d.Name]})
	}
	s.render(w, "workbench", v)
}

func (s *Service) pageMessages(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	v := s.view(r, p, "Messages and files", "msg")
	for _, c := range centers.All() {
		if peerAllowed(s.admdvs, c.Admdvs) {
			v.Peers = append(v.Peers, c)
		}
	}
	for _, b := range []boxView{{Box: BoxIn, Title: "Received"}, {Box: BoxOut, Title: "Sent"}} {
		list, err := s.Messages(r.Context(), p, b.Box, 100)
		if err != nil {
			v.Errors = append(v.Errors, err.Error())
		}
		b.List = list
		v.Boxes = append(v.Boxes, b)
	}
	if e := r.URL.Query().Get("error"); e != "" {
		v.Errors = append(v.Errors, e)
	}
	s.render(w, "messages", v)
}

func (s *Service) formSend(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFile+1<<20)
	if err := r.ParseMultipartForm(MaxFile + 1<<20); err != nil {
		http.Redirect(w, r, "/portal/messages?error="+url.QueryEscape("the form did not arrive whole: "+err.Error()), http.StatusSeeOther)
		return
	}
	d := Draft{To: r.FormValue("to"), Subject: r.FormValue("subject"), Body: r.FormValue("body")}
	if f, h, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
		f.Close()
		if err != nil {
			http.Redirect(w, r, "/portal/messages?error="+url.QueryEscape("the file did not arrive whole"), http.StatusSeeOther)
			return
		}
		d.File, d.FileName = b, h.Filename
	}
	if _, err := s.Send(r.Context(), p, d); err != nil {
		http.Redirect(w, r, "/portal/messages?error="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/portal/messages", http.StatusSeeOther)
}

func (s *Service) pageMessage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	vars := mux.Vars(r)
	m, err := s.Message(r.Context(), p, vars["id"], vars["box"])
	if err != nil {
		s.fail(w, err)
		return
	}
	v := s.view(r, p, m.Subject, "msg")
	v.Msg = m
	s.render(w, "message", v)
}

func (s *Service) fileDownload(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	vars := mux.Vars(r)
	m, err := s.Message(r.Context(), p, vars["id"], vars["box"])
	if err != nil {
		s.fail(w, err)
		return
	}
	if m.FileName == "" {
		s.fail(w, ErrNotFound)
		return
	}
	s.account(r.Context(), p.Name, "portal.file.download", m.ID, "file_sm3="+m.FileSM3)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.FileName}))
	w.Header().Set("X-Content-SM3", m.FileSM3)
	_, _ = w.Write(m.File)
}

func (s *Service) handleWhoami(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]string{"name": p.Name, "role": p.Role, "admdvs": p.Admdvs, "node": s.admdvs})
}

func (s *Service) handleTasks(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	tasks, errs := s.Workbench(r.Context(), p)
	out := struct {
		Tasks  []Task   `json:"tasks"`
		Errors []string `json:"errors,omitempty"`
	}{Tasks: tasks}
	for _, e := range errs {
		out.Errors = append(out.Errors, e.Error())
	}
	if out.Tasks == nil {
		out.Tasks = []Task{}
	}
	subsystem.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleMessages(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	box := r.URL.Query().Get("box")
	if box == "" {
		box = BoxIn
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := s.Messages(r.Context(), p, box, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	if list == nil {
		list = []Message{}
	}
	subsystem.WriteJSON(w, http.StatusOK, list)
}

func (s *Service) handleSend(w http.ResponseWriter, r *http.Request) {
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	var in struct {
		To       string `json:"to"`
		Subject  string `json:"subject"`
		Body     string `json:"body"`
		FileName string `json:"file_name"`
		File     string `json:"file"`
	}
	if e := subsystem.DecodeJSON(w, r, 2*MaxFile, "", &in); e != nil {
		s.fail(w, bad(e.Field, "%s", e.Reason))
		return
	}
	file, err := base64.StdEncoding.DecodeString(in.File)
	if err != nil {
		s.fail(w, bad("file", "not base64: %v", err))
		return
	}
	m, err := s.Send(r.Context(), p, Draft{To: in.To, Subject: in.Subject, Body: in.Body, FileName: in.FileName, File: file})
	if err != nil {
		s.fail(w, err)
		return
	}
	m.File = nil
	subsystem.WriteJSON(w, http.StatusCreated, m)
}

func (s *Service) handleInbox(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*MaxFile+1<<20))
	if err != nil {
		s.fail(w, bad("body", "%v", err))
		return
	}
	m, err := s.Receive(r.Context(), raw)
	if err != nil {
		s.log.Warn("refused an internode message", "err", err)
		s.fail(w, err)
		return
	}
	subsystem.WriteJSON(w, http.StatusOK, map[string]string{"id": m.ID, "status": m.Status})
}
