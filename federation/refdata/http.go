package refdata

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/federation/refdata/catalog"
)

// Paths of the reference-data HTTP API.
const (
	PathPublish    = "/v1/refdata/publish"    // POST an encoded Batch (internode, admin)
	PathStatus     = "/v1/refdata/status"     // GET replication and namespace status
	PathVersions   = "/v1/refdata/versions"   // GET ?namespace=
	PathDiff       = "/v1/refdata/diff"       // GET ?namespace=&from=&to=
	PathRejections = "/v1/refdata/rejections" // GET ?after=&limit=
	PathItem       = "/v1/refdata/item"       // GET ?namespace=&code=[&date=YYYY-MM-DD]
	PathSearch     = "/v1/refdata/search"     // GET ?namespace=&q=&limit=
	PathDownload   = "/v1/refdata/download"   // GET ?namespace=&since=&page=&size=
)

// PublishResponse is the answer to a publish.
type PublishResponse struct {
	Index    uint64 `json:"index"`
	Rejected string `json:"rejected,omitempty"`
	Error    string `json:"error,omitempty"`
}

// StatusResponse is the answer to a status request.
type StatusResponse struct {
	Raft       Status            `json:"raft"`
	Members    map[string]string `json:"members,omitempty"`
	Namespaces []NamespaceStatus `json:"namespaces"`
	// StateHash is the hex SM3 digest of the replicated state (Store.
	// StateHash), present when asked for with ?hash=1.
	StateHash string `json:"state_hash,omitempty"`
}

// Routes registers the API: lookups and downloads on the hospital router,
// everything on the internode and admin routers (any may be nil).
func (r *Replicator) Routes(hospital, internode, admin *mux.Router) {
	read := map[string]http.HandlerFunc{
		PathItem: r.handleItem, PathSearch: r.handleSearch, PathDownload: r.handleDownload,
	}
	all := map[string]http.HandlerFunc{
		PathStatus: r.handleStatus, PathVersions: r.handleVersions, PathDiff: r.handleDiff, PathRejections: r.handleRejections,
	}
	for p, h := range read {
		all[p] = h
	}
	if hospital != nil {
		for p, h := range read {
			hospital.HandleFunc(p, h).Methods(http.MethodGet)
		}
	}
	for _, rt := range []*mux.Router{internode, admin} {
		if rt == nil {
			continue
		}
		for p, h := range all {
			rt.HandleFunc(p, h).Methods(http.MethodGet)
		}
		rt.HandleFunc(PathPublish, r.handlePublish).Methods(http.MethodPost)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func (r *Replicator) handlePublish(w http.ResponseWriter, req *http.Request) {
	data, err := io.ReadAll(io.LimitReader(req.Body, maxForward+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if len(data) > maxForward {
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("batch larger than %d bytes", maxForward))
		return
	}
	idx, err := r.PublishEncoded(req.Context(), data)
	var rej *RejectedError
	switch {
	case errors.As(err, &rej):
		writeJSON(w, http.StatusUnprocessableEntity, PublishResponse{Index: rej.Index, Rejected: rej.Reason})
	case errors.Is(err, ErrMalformed):
		writeJSON(w, http.StatusBadRequest, PublishResponse{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, PublishResponse{Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, PublishResponse{Index: idx})
	}
}

func (r *Replicator) handleStatus(w http.ResponseWriter, req *http.Request) {
	ns, err := r.store.Namespaces(req.Context())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	members, _ := r.Members()
	out := StatusResponse{Raft: r.Status(), Members: members, Namespaces: ns}
	if req.URL.Query().Get("hash") == "1" {
		h, err := r.store.StateHash(req.Context())
		if err != nil {
			httpError(w, http.StatusInternalServerError, err)
			return
		}
		out.StateHash = hex.EncodeToString(h[:])
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *Replicator) handleVersions(w http.ResponseWriter, req *http.Request) {
	vs, err := r.store.Versions(req.Context(), req.URL.Query().Get("namespace"))
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	if vs == nil {
		vs = []Version{}
	}
	writeJSON(w, http.StatusOK, vs)
}

func (r *Replicator) handleDiff(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("from and to must be versions: %w", err))
		return
	}
	cs, err := r.store.Diff(req.Context(), q.Get("namespace"), from, to)
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	out := make([]DownloadRow, len(cs))
	for i, c := range cs {
		out[i] = DownloadRow{Op: c.Op.String(), Item: c.Item}
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *Replicator) handleRejections(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	rs, err := r.store.Rejections(req.Context(), after, limit)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	if rs == nil {
		rs = []Rejection{}
	}
	writeJSON(w, http.StatusOK, rs)
}

func (r *Replicator) handleItem(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	ns, code := q.Get("namespace"), q.Get("code")
	var (
		it  catalog.Item
		v   uint64
		err error
	)
	if ds := q.Get("date"); ds != "" {
		d, perr := catalog.ParseDate(ds)
		if perr != nil || d == 0 {
			httpError(w, http.StatusBadRequest, fmt.Errorf("date: %q is not YYYY-MM-DD", ds))
			return
		}
		it, v, err = r.store.AsOf(req.Context(), ns, code, d)
	} else {
		it, v, err = r.store.Lookup(req.Context(), ns, code)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, err)
	case err != nil:
		httpError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusOK, DownloadRow{Version: v, Op: "current", Item: it})
	}
}

func (r *Replicator) handleSearch(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	its, err := r.store.Search(req.Context(), q.Get("namespace"), q.Get("q"), limit)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	if its == nil {
		its = []catalog.Item{}
	}
	writeJSON(w, http.StatusOK, its)
}

func (r *Replicator) handleDownload(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	since, _ := strconv.ParseUint(q.Get("since"), 10, 64)
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("size"))
	p, err := r.store.Download(req.Context(), q.Get("namespace"), since, page, size)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
