package apiv1

import (
	"net/http"

	"github.com/ombud/ombud"
)

// The HTTP status of each error code: part of the API, kept here rather
// than in the domain, which knows nothing of HTTP.
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

// HTTPStatus is the HTTP status that answers an error of code c.
func HTTPStatus(c ombud.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}
