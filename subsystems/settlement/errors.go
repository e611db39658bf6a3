package settlement

import (
	"errors"
	"fmt"
)

// Error codes. They are mapped once to an NHSA infcode by Infcode.
const (
	EINVALID      = "invalid"      // malformed or inconsistent input
	ENOTFOUND     = "not_found"    // unknown person, code, visit or message
	ECONFLICT     = "conflict"     // state forbids the operation (already settled, reversed, ...)
	EFORBIDDEN    = "forbidden"    // the policy refuses (no cross-province filing, ...)
	EUNAUTHORIZED = "unauthorized" // the caller could not be authenticated
	EINTERNAL     = "internal"     // a bug or an unavailable dependency
)

// Error is a settlement error with a code and a message fit for err_msg.
type Error struct {
	Code    string // one of the E* constants
	Message string // human-readable, names the field when there is one
	Err     error  // optional cause
}

// Error returns the message.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldErr reports a problem with one named field ("input.data.psn_no: required").
func fieldErr(path, msg string) *Error {
	return &Error{Code: EINVALID, Message: path + ": " + msg}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the text for err_msg: the message of the first
// *Error in err's chain, or a generic text for internal errors (whose
// details belong in the log, not on the wire). It is at most 200 bytes.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := "internal error"
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		msg = e.Error()
	}
	return truncate(msg, 200)
}

// Infcode maps an error to the NHSA infcode: 0 for success, −1 for every
// failure (the interface defines no finer codes).
func Infcode(err error) int {
	if err == nil {
		return InfcodeOK
	}
	return InfcodeFail
}

// NHSA infcode values.
const (
	InfcodeOK   = 0
	InfcodeFail = -1
)

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
