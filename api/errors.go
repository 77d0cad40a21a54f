package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
)

// writeError sends err's stable code and user message. Internal causes are
// logged, never sent.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := ombud.ErrorCode(err)
	status := apiv1.HTTPStatus(code)
	if status >= 500 && !errors.Is(err, context.Canceled) {
		path := r.URL.Path
		if strings.HasPrefix(path, "/v1/tips/receipt/") {
			// A source checks its own submission here: its commitment
			// beside the line's time would date the check.
			path = "/v1/tips/receipt/…"
		}
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", path, "code", code, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ombud"`)
	}
	var body apiv1.ErrorBody
	body.Error.Code = code
	body.Error.Message = ombud.ErrorMessage(err)
	body.Error.Reason = ombud.ErrorReason(err)
	body.Error.Problems = ombud.ErrorProblems(err)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decodeJSON reads exactly one JSON object of at most limit bytes into v.
// It requires Content-Type: application/json and refuses unknown fields,
// trailing data, a key given twice, and a key not spelt exactly as
// documented: Go's decoder matches keys case-insensitively and keeps the
// last of duplicates, so {"roles":["analyst"],"Roles":["admin"]} would
// otherwise make an admin.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := requireJSON(r, ""); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err, limit)
	}
	if !utf8.Valid(body) {
		// The decoder would turn invalid bytes into U+FFFD silently.
		return ombud.Errorf(ombud.CodeMalformedJSON, "request body is not valid UTF-8")
	}
	if err := checkKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err, limit)
		}
		return ombud.Errorf(ombud.CodeMalformedJSON, "request body holds more than one JSON value")
	}
	return nil
}

// requireJSON refuses a request whose body is not said to be JSON in
// UTF-8; what, when set, says what the JSON is to hold.
func requireJSON(r *http.Request, what string) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; err != nil || mt != "application/json" || ok && !strings.EqualFold(cs, "utf-8") {
		if what != "" {
			what = ": " + what
		}
		return ombud.Errorf(ombud.CodeUnsupportedMedia, "send Content-Type: application/json (UTF-8)%s", what)
	}
	return nil
}

// checkKeys walks a JSON value and refuses an object key given twice or
// not in the API's spelling (lowercase a-z, 0-9 and _). A proposal's
// params (the top-level "params") are the body of the operation's own
// route, which checks them when the proposal is tried and run: an OCDS
// release, whose keys are OCDS's, is one.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		key  bool // the next token of an object is a key
		seen map[string]bool
		raw  bool // within a proposal's params: not checked here
	}
	var stack []*frame
	rawNext := false // the next value is the top-level params
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // the decoder reports malformed JSON with its offset
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		} else if tok != json.Delim('{') {
			return ombud.Errorf(ombud.CodeMalformedJSON, "request body is not a JSON object")
		}
		raw := rawNext || top != nil && top.raw
		if tok == nil && !raw {
			return ombud.Errorf(ombud.CodeMalformedJSON, "null is not a value here; leave the field out")
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			if top.raw {
				top.key = false
				continue
			}
			rawNext = len(stack) == 1 && k == "params"
			if !apiKey(k) {
				return ombud.Errorf(ombud.CodeUnknownField, "unknown field %.40q (fields are lowercase, like \"name\")", k)
			}
			if top.seen[k] {
				return ombud.Errorf(ombud.CodeMalformedJSON, "field %q is given twice", k)
			}
			top.seen[k] = true
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true // this token is the value; a key comes next
		}
		rawNext = false
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, key: true, seen: map[string]bool{}, raw: raw})
		case json.Delim('['):
			stack = append(stack, &frame{raw: raw})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// jsonType names the JSON form of a Go type, for errors: clients speak
// JSON, not Go.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(jsonType(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "another type"
}

func apiKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func jsonError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return ombud.Errorf(ombud.CodeBodyTooLarge, "request body is larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return ombud.Errorf(ombud.CodeMalformedJSON, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ombud.Errorf(ombud.CodeMalformedJSON, "request body is truncated JSON")
	case errors.As(err, &syntax):
		return ombud.Errorf(ombud.CodeMalformedJSON, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return ombud.Errorf(ombud.CodeMalformedJSON, "request body is not a JSON object")
	case errors.As(err, &typ):
		return ombud.Errorf(ombud.CodeInvalid, "field %q must be %s", typ.Field, jsonType(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return ombud.Errorf(ombud.CodeUnknownField, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return ombud.Errorf(ombud.CodeMalformedJSON, "malformed JSON: %s", fmt.Sprint(err))
}
