// Package apiv1 holds the request and response bodies of ombud's HTTP API,
// version 1 (docs/API.md): the server (package api), the Go client
// (package client), the CLI and the auditor all use these types, so that
// what one side writes the other reads.
package apiv1

// MaxDetailRange bounds one GET /v1/audit/details request, in entries.
const MaxDetailRange = 65536

// DetailRecord is one line of GET /v1/audit/details: the entry index, the
// commitment the server holds, and the salt and body (absent when the
// record was erased, or missing). Salt and body are base64 in JSON, so the
// committed bytes arrive exactly.
type DetailRecord struct {
	Index      uint64 `json:"index"`
	Commitment string `json:"commitment"`
	Salt       []byte `json:"salt,omitempty"`
	Body       []byte `json:"body,omitempty"`
	Erased     bool   `json:"erased,omitempty"`
	Missing    bool   `json:"missing,omitempty"`
}
