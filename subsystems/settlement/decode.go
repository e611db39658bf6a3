package settlement

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/ybfed/ybfed/internal/fen"
)

// inputs maps every handled infno to a constructor of its typed input.
var inputs = map[string]func() Input{
	Infno1101: func() Input { return new(Input1101) },
	Infno2201: func() Input { return new(Input2201) },
	Infno2203: func() Input { return new(Input2203) },
	Infno2204: func() Input { return new(InputFeeDetail) },
	Infno2205: func() Input { return new(Input2205) },
	Infno2206: func() Input { return new(InputSettle) },
	Infno2207: func() Input { return new(InputSettle) },
	Infno2208: func() Input { return new(InputSettleCancel) },
	Infno2301: func() Input { return new(InputFeeDetail) },
	Infno2303: func() Input { return &InputSettle{Inpatient: true} },
	Infno2304: func() Input { return &InputSettle{Inpatient: true} },
	Infno2305: func() Input { return new(InputSettleCancel) },
	Infno2401: func() Input { return new(Input2401) },
	Infno2402: func() Input { return new(Input2402) },
	Infno2501: func() Input { return new(Input2501) },
	Infno2502: func() Input { return new(InputFilingCancel) },
	Infno2503: func() Input { return new(Input2503) },
	Infno2504: func() Input { return new(InputFilingCancel) },
	Infno2601: func() Input { return new(Input2601) },
	Infno3201: func() Input { return new(Input3201) },
	Infno3202: func() Input { return new(Input3202) },
	Infno5206: func() Input { return new(Input5206) },
}

// KnownInfno reports whether infno is a transaction this package types.
func KnownInfno(infno string) bool {
	_, ok := inputs[infno]
	return ok
}

// Infnos returns the handled transaction numbers in order.
func Infnos() []string {
	out := make([]string, 0, len(inputs))
	for k := range inputs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DecodeInput decodes and validates the input of transaction infno. Every
// failure is an EINVALID *Error naming the field, e.g.
// "input.feedetail[3].det_item_fee_sumamt: has 3 decimals".
func DecodeInput(infno string, raw json.RawMessage) (Input, error) {
	mk, ok := inputs[infno]
	if !ok {
		return nil, Errorf(EINVALID, "infno: unknown transaction %q", truncate(infno, 8))
	}
	in := mk()
	if err := json.Unmarshal(raw, in); err != nil {
		return nil, decodeError(raw, err)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return in, nil
}

// decodeError turns a JSON decoding error into a message naming the field.
func decodeError(raw json.RawMessage, err error) error {
	var pe *fen.ParseError
	if errors.As(err, &pe) {
		if path, ok := findNumber(raw, pe); ok {
			return &Error{Code: EINVALID, Message: path + ": " + pe.Reason, Err: err}
		}
		return &Error{Code: EINVALID, Message: "input: " + pe.Error(), Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := "input"
		if te.Field != "" {
			path += "." + te.Field
		}
		return &Error{Code: EINVALID, Message: path + ": must be " + jsonKind(te.Type.Kind().String()) + ", not " + te.Value, Err: err}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Code: EINVALID, Message: "input: malformed JSON at byte " + strconv.FormatInt(se.Offset, 10), Err: err}
	}
	return &Error{Code: EINVALID, Message: "input: " + truncate(err.Error(), 150), Err: err}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64":
		return "an integer"
	}
	return k
}

// findNumber walks the raw input in document order and returns the path of
// the first number or string whose text the fen parser rejected.
func findNumber(raw json.RawMessage, pe *fen.ParseError) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "", false
	}
	return walk(v, "input", pe.Input)
}

func walk(v any, path, bad string) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := walk(x[k], path+"."+k, bad); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range x {
			if p, ok := walk(e, idx(path, i), bad); ok {
				return p, true
			}
		}
	case json.Number:
		if sameText(string(x), bad) {
			return path, true
		}
	case string:
		if sameText(x, bad) {
			return path, true
		}
	}
	return "", false
}

// sameText compares s with the (possibly truncated) text of a ParseError.
func sameText(s, bad string) bool {
	if prefix, ok := strings.CutSuffix(bad, "..."); ok && len(prefix) == 40 {
		return len(s) > 40 && s[:40] == prefix
	}
	return s == bad
}

func itoa(i int) string { return strconv.Itoa(i) }
