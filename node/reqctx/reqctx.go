// Package reqctx gives every HTTP request an id and a logger that carries it,
// so each log line of one request can be found together.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// Header is the request-id header read from callers and echoed back.
const Header = "X-Request-Id"

type ctxKey struct{}

type info struct {
	id  string
	log *slog.Logger
}

// NewID returns a fresh random request id.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validID accepts a caller's id only if it is short and plain.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// With returns ctx carrying id and a logger that adds it to every line.
func With(ctx context.Context, log *slog.Logger, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, info{id: id, log: log.With("request_id", id)})
}

// ID returns the request id in ctx, or "".
func ID(ctx context.Context) string {
	if i, ok := ctx.Value(ctxKey{}).(info); ok {
		return i.id
	}
	return ""
}

// Logger returns the request's logger, or fallback when ctx has none.
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if i, ok := ctx.Value(ctxKey{}).(info); ok {
		return i.log
	}
	return fallback
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observer is told about every finished request.
type Observer func(r *http.Request, status int, took time.Duration)

// Middleware assigns the request id, logs one line per request and calls
// observe (which may be nil) when the request is done.
func Middleware(log *slog.Logger, observe Observer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(Header)
			if !validID(id) {
				id = NewID()
			}
			w.Header().Set(Header, id)
			ctx := With(r.Context(), log, id)
			sw := &statusWriter{ResponseWriter: w}
			start := time.Now()
			next.ServeHTTP(sw, r.WithContext(ctx))
			took := time.Since(start)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			if observe != nil {
				observe(r, sw.status, took)
			}
			lvl := slog.LevelDebug
			if sw.status >= 500 {
				lvl = slog.LevelWarn
			}
			Logger(ctx, log).Log(ctx, lvl, "request", "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "bytes", sw.bytes, "took_ms", float64(took.Microseconds())/1000)
		})
	}
}
