package ombudtest

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// ContractRelease is a minimal valid release of contract ocid: software
// for the agency, bought directly from vendor-x, flagged AI, holding
// every safeguard clause.
func ContractRelease(ocid string) string {
	return fmt.Sprintf(`{"ocid":%q,"id":"%s-1","date":"2026-01-05T00:00:00Z","tag":["contract"],"initiationType":"tender",
	"buyer":{"id":"agency","name":"The agency"},
	"parties":[{"id":"agency","name":"The agency","roles":["buyer"]},{"id":"vendor-x","name":"Vendor X","roles":["vendor","supplier"]}],
	"contracts":[{"id":"c1","awardID":"a1","title":"Analytic software","productFlags":["ai"],
		"safeguards":{"auditRights":true,"downstreamUseLimits":true,"dataResidency":true,"customerKeyCustody":true,"humanReviewOfAIOutputs":true,"breachNotification":true},
		"supplyChain":[{"from":"vendor-x","to":"agency"}]}]}`, ocid, ocid)
}

// RegisterContract registers ContractRelease(ocid) through the API, for
// the tests that register a system bought under it.
func (e *Env) RegisterContract(t testing.TB, ocid string) {
	t.Helper()
	resp := e.Do(t, "POST", "/v1/contracts", e.AdminToken, "application/json", ContractRelease(ocid))
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("RegisterContract %s: %d %s", ocid, resp.StatusCode, b)
	}
}
