package reqctx_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ybfed/ybfed/node/reqctx"
)

func TestEveryLineOfARequestCarriesItsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := reqctx.Middleware(log, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqctx.Logger(r.Context(), log).Info("inside handler")
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, tc := range []struct{ name, sent, want string }{
		{"caller id kept", "abc-123", "abc-123"},
		{"bad caller id replaced", "no spaces allowed", ""},
		{"missing id generated", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			req := httptest.NewRequest("GET", "/x", nil)
			if tc.sent != "" {
				req.Header.Set(reqctx.Header, tc.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			id := rec.Header().Get(reqctx.Header)
			if tc.want != "" && id != tc.want || id == "" || id == tc.sent && tc.want == "" {
				t.Fatalf("id %q", id)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 log lines, got %d: %s", len(lines), buf.String())
			}
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				if m["request_id"] != id {
					t.Fatalf("line without request id %q: %s", id, l)
				}
			}
			if !strings.Contains(lines[1], `"status":418`) {
				t.Fatalf("status not logged: %s", lines[1])
			}
		})
	}
}
