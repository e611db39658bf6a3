package subsystem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
)

// ErrorBody is the JSON of every error answer of a subsystem's API.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteJSON answers code with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadJSON reads a request body of at most max bytes into v, refusing
// unknown fields; it returns the decoder's error as is.
func ReadJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// BodyError is a request body that did not decode, with the field to
// blame ("body" when no field is).
type BodyError struct {
	Field  string
	Reason string
}

func (e *BodyError) Error() string { return e.Field + ": " + e.Reason }

// DecodeJSON reads a request body like ReadJSON and names what is wrong:
// moneyField for a bad fen amount (when moneyField is not empty), the
// field of a type mismatch, an unknown field, else "body".
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, moneyField string, v any) *BodyError {
	err := ReadJSON(w, r, max, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var pe *fen.ParseError
	if moneyField != "" && errors.As(err, &pe) {
		return &BodyError{Field: moneyField, Reason: pe.Error()}
	}
	if errors.As(err, &te) {
		return &BodyError{Field: te.Field, Reason: "want " + te.Type.String()}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &BodyError{Field: strings.Trim(f, `"`), Reason: "unknown field"}
	}
	return &BodyError{Field: "body", Reason: err.Error()}
}

// FieldError is a bad-input error of a subsystem naming the offending
// field: "<subsystem>: <field>: <reason>". It matches Kind (the
// subsystem's ErrBadInput) with errors.Is.
type FieldError struct {
	Subsystem string
	Field     string
	Reason    string
	Kind      error
}

func (e *FieldError) Error() string { return e.Subsystem + ": " + e.Field + ": " + e.Reason }

// Unwrap returns Kind.
func (e *FieldError) Unwrap() error { return e.Kind }

// BadField returns a FieldError of subsystem name matching kind, its
// reason formatted from format and args.
func BadField(name string, kind error, field, format string, args ...any) error {
	return &FieldError{Subsystem: name, Field: field, Reason: fmt.Sprintf(format, args...), Kind: kind}
}

// Status maps errors matching Err (errors.Is) to the HTTP status Code.
type Status struct {
	Err  error
	Code int
}

// Fail answers err as an ErrorBody: 400 with the field for a FieldError,
// else the code of the first status err matches, else 500, logged on log
// as "<what> request failed".
func Fail(w http.ResponseWriter, log *slog.Logger, what string, err error, statuses ...Status) {
	body := ErrorBody{Error: err.Error()}
	var fe *FieldError
	if errors.As(err, &fe) {
		body.Field = fe.Field
		WriteJSON(w, http.StatusBadRequest, body)
		return
	}
	for _, s := range statuses {
		if errors.Is(err, s.Err) {
			WriteJSON(w, s.Code, body)
			return
		}
	}
	log.Error(what+" request failed", "err", err)
	WriteJSON(w, http.StatusInternalServerError, body)
}
