package subsystem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/subsystems/subsystem"
)

type body struct {
	N      int     `json:"n"`
	Amount fen.Fen `json:"amount"`
}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, money string
		field, reason   string
	}{
		{"ok", `{"n":1,"amount":"1.50"}`, "amount", "", ""},
		{"type mismatch", `{"n":"x"}`, "", "n", "want int"},
		{"unknown field", `{"m":1}`, "", "m", "unknown field"},
		{"bad money named", `{"amount":"1.234"}`, "amount", "amount", ""},
		{"bad money unnamed", `{"amount":"1.234"}`, "", "body", ""},
		{"not json", `{`, "", "body", "unexpected EOF"},
		{"too large", `{"n":` + strings.Repeat("1", 100) + `}`, "", "body", "http: request body too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.in))
			var v body
			e := subsystem.DecodeJSON(httptest.NewRecorder(), r, 64, tc.money, &v)
			if tc.field == "" {
				if e != nil || v.N != 1 || v.Amount != 150 {
					t.Fatalf("%v %+v", e, v)
				}
				return
			}
			if e == nil || e.Field != tc.field || tc.reason != "" && e.Reason != tc.reason {
				t.Fatalf("got %#v, want field %q reason %q", e, tc.field, tc.reason)
			}
		})
	}
}

func TestBadField(t *testing.T) {
	errBad := errors.New("demo: bad input")
	err := subsystem.BadField("demo", errBad, "person.brdy", "want %s", "yyyy-MM-dd")
	var fe *subsystem.FieldError
	if !errors.Is(err, errBad) || !errors.As(err, &fe) || fe.Field != "person.brdy" || err.Error() != "demo: person.brdy: want yyyy-MM-dd" {
		t.Fatalf("%v %+v", err, fe)
	}
}

func TestFail(t *testing.T) {
	errGone := errors.New("gone")
	errBusy := errors.New("busy")
	statuses := []subsystem.Status{{Err: errGone, Code: http.StatusGone}, {Err: errBusy, Code: http.StatusServiceUnavailable}}
	for _, tc := range []struct {
		name string
		err  error
		code int
		want subsystem.ErrorBody
	}{
		{"field error", fmt.Errorf("wrapped: %w", subsystem.BadField("demo", errBusy, "x.y", "want %d", 3)), 400, subsystem.ErrorBody{Error: "wrapped: demo: x.y: want 3", Field: "x.y"}},
		{"mapped", fmt.Errorf("a: %w", errBusy), 503, subsystem.ErrorBody{Error: "a: busy"}},
		{"first match wins", errors.Join(errGone, errBusy), 410, subsystem.ErrorBody{Error: "gone\nbusy"}},
		{"unmapped", errors.New("boom"), 500, subsystem.ErrorBody{Error: "boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			subsystem.Fail(w, slog.New(slog.DiscardHandler), "test", tc.err, statuses...)
			var got subsystem.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.code || got != tc.want || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("%d %+v %q", w.Code, got, w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestStartHelpers(t *testing.T) {
	if (subsystem.Env{}).Logger() == nil {
		t.Fatal("no logger without Env.Log")
	}
	if err := subsystem.NotStarted("demo", false); err == nil || err.Error() != "demo: not started" {
		t.Fatalf("not started: %v", err)
	}
	if err := subsystem.NotStarted("demo", true); err != nil {
		t.Fatal(err)
	}
	m := subsystem.Migrations(fstest.MapFS{"migrations/00001_init.sql": {Data: []byte("-- +goose Up\n")}})
	if b, err := fs.ReadFile(m, "00001_init.sql"); err != nil || len(b) == 0 {
		t.Fatalf("migrations: %v", err)
	}
}
