package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/ombud/ombud"
)

var statusOf = map[ombud.Code]int{
	ombud.CodeInvalid:             http.StatusBadRequest,
	ombud.CodeMalformedJSON:       http.StatusBadRequest,
	ombud.CodeUnknownField:        http.StatusBadRequest,
	ombud.CodeBodyTooLarge:        http.StatusRequestEntityTooLarge,
	ombud.CodeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	ombud.CodeUnauthenticated:     http.StatusUnauthorized,
	ombud.CodeForbidden:           http.StatusForbidden,
	ombud.CodeNotFound:            http.StatusNotFound,
	ombud.CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	ombud.CodeConflict:            http.StatusConflict,
	ombud.CodeGone:                http.StatusGone,
	ombud.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	ombud.CodeRangeNotSatisfiable: http.StatusRequestedRangeNotSatisfiable,
	ombud.CodeNotIntegrated:       http.StatusServiceUnavailable,
	ombud.CodeLogUnavailable:      http.StatusServiceUnavailable,
	ombud.CodeUnavailable:         http.StatusServiceUnavailable,
	ombud.CodeInternal:            http.StatusInternalServerError,
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error struct {
		Code    ombud.Code `json:"code"`
		Message string     `json:"message"`
	} `json:"error"`
}

// writeError sends err's stable code and user message. Internal causes are
// logged, never sent.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := ombud.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 && !errors.Is(err, context.Canceled) {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ombud"`)
	}
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = ombud.ErrorMessage(err)
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

// decodeJSON reads exactly one JSON object of at most limit bytes into v,
// refusing other media types, unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return ombud.Errorf(ombud.CodeUnsupportedMedia, "send Content-Type: application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
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
	case errors.As(err, &typ):
		return ombud.Errorf(ombud.CodeInvalid, "field %q must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return ombud.Errorf(ombud.CodeUnknownField, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return ombud.Errorf(ombud.CodeMalformedJSON, "malformed JSON: %s", fmt.Sprint(err))
}

func asEntryErr(err error, target **ombud.EntryError) bool { return errors.As(err, target) }
