package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ombud/ombud/internal/ombudtest"
)

// packageOf is a release package of n releases, ocids prefix-0 … prefix-(n-1).
func packageOf(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(`{"uri":"https://x.example/p","publishedDate":"2026-01-01T00:00:00Z","publisher":{"name":"p"},"version":"1.1","releases":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ombudtest.ContractRelease(fmt.Sprintf("%s-%d", prefix, i)))
	}
	b.WriteString("]}")
	return b.String()
}

// BenchmarkContractsImport registers a package of 1000 releases through
// the API: validation, the reservation of every contract, 1001 entries
// logged, and the commit. Its per-op time is one import's.
func BenchmarkContractsImport(b *testing.B) {
	e := ombudtest.New(b)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		body := packageOf(fmt.Sprintf("ocds-bench%d", i), 1000)
		b.StartTimer()
		resp := e.Do(b, "POST", "/v1/contracts", e.AdminToken, "application/json", body)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("import: %d", resp.StatusCode)
		}
	}
}

// BenchmarkContractsPage renders /contracts over 1000 registered
// contracts, each release read again for the page.
func BenchmarkContractsPage(b *testing.B) {
	e := ombudtest.New(b)
	if resp := e.Do(b, "POST", "/v1/contracts", e.AdminToken, "application/json", packageOf("ocds-page", 1000)); resp.StatusCode != 201 {
		b.Fatalf("import: %d", resp.StatusCode)
	}
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(e.URL + "/contracts")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("page: %d", resp.StatusCode)
		}
	}
}
