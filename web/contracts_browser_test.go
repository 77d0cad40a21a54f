package web_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestContractsInBrowser: the fixture contracts (direct purchases and
// purchases through a reseller and an integrator, with and without each
// clause, and the article's pathway: a cloud provider's storage and
// compute bought through a reseller, flagged cloud and AI) register,
// render and export. The pathways page draws them with their totals and
// filters them by product and by a clause lacking. The article's contract
// lacks human review of AI outputs with no exception: its page, the
// export and /systems show it unexplained; once a later release records
// the exception, they show its rationale. The export validates against
// the published OCDS 1.1 release package schema, and each release hashes
// to its log entry's release field. With OMBUD_SCREENSHOTS=DIR its
// screenshots are saved.
func TestContractsInBrowser(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	const js = "application/json"
	fixture := func(name string) string {
		b, err := os.ReadFile("../contracts/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	resp := e.Do(t, "POST", "/v1/contracts", e.AdminToken, js, fixture("registry-package.json"))
	if resp.StatusCode != 201 {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	var imported apiv1.ContractsImported
	if err := json.NewDecoder(resp.Body).Decode(&imported); err != nil {
		t.Fatal(err)
	}
	sys := `{"name":"hosted-translation","vendor":"cloudco","task":"translation","classes":["general"],"model":"mt","version":"1",
		"accuracy":{"threshold":0.5,"source":"vendor-datasheet"},"contract":"ocds-ombud01-2026-0007"}`
	if resp := e.AsAdmin(t, "POST", "/v1/systems", sys); resp.StatusCode != 201 {
		t.Fatalf("register the system: %d", resp.StatusCode)
	}

	ctx, reqs := browser(t)
	b := &tab{ctx: ctx, shots: os.Getenv("OMBUD_SCREENSHOTS")}
	b.do(t, chromedp.Navigate(e.URL+"/contracts"))
	b.page(t, "Procurement contracts", "contracts", "6 of 6 contracts", "EUR 33,740,000", "USD 90,000",
		"CloudCo Inc. → Public Sector Cloud Resellers Ltd → Metropolitan police agency", "VideoAI Corp. → Secure Systems Integration GmbH → Metropolitan police agency",
		"Vendor X Biometrics SA → Metropolitan police agency", "human review of AI outputs: unexplained", "exception approved by Agency data protection officer",
		"Flagged: an AI or biometric product lacking safeguards")
	svg, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("figure svg")))
	if err != nil || !strings.Contains(svg, "CloudCo Inc.") || !strings.Contains(svg, "Agencies") {
		t.Fatalf("the diagram: %v\n%s", err, svg)
	}
	// The filters: biometric products, then those lacking human review.
	b.do(t, chromedp.SetValue(chromedp.ID("flag"), "biometric"))
	b.submit(t, chromedp.Click(chromedp.CSS(`form.filters button`)))
	body := b.page(t, "Procurement contracts", "contracts-biometric", "2 of 6 contracts", "VideoAI Corp.", "Vendor X Biometrics SA")
	if strings.Contains(body, "PlateCo") || strings.Contains(body, "CloudCo Inc. →") {
		t.Error("the biometric filter shows a contract that is not biometric")
	}
	b.do(t, chromedp.SetValue(chromedp.ID("flag"), ""), chromedp.SetValue(chromedp.ID("missing"), "humanReviewOfAIOutputs"))
	b.submit(t, chromedp.Click(chromedp.CSS(`form.filters button`)))
	body = b.page(t, "Procurement contracts", "contracts-lacking-review", "3 of 6 contracts", "Cloud storage and compute", "Automatic number plate reading", "Framework agreement")
	if strings.Contains(body, "Face identification software") || strings.Contains(body, "Subscription to commercial records search") {
		t.Error("the filter by a lacking clause shows a contract that holds it")
	}

	// The article's contract: human review of AI outputs unexplained.
	const article = "/contracts/ocds-ombud01-2026-0007"
	b.do(t, chromedp.Navigate(e.URL+article))
	b.page(t, "Cloud storage and compute, with hosted AI services", "contract-unexplained", "human review of AI outputs\tlacking\tunexplained: no exception is recorded",
		"key custody by the customer\tlacking\tThe reseller's framework agreement", "(approved by Agency data protection officer)",
		"hosted-translation (translation): the contract lacks clauses its task needs", "ocds-ombud01-2025-0001")
	b.do(t, chromedp.Navigate(e.URL+"/systems"))
	b.page(t, "Analytic systems", "systems-contract", "ocds-ombud01-2026-0007", "The contract lacks clauses this system's task needs:", "human review of AI outputs (unexplained)")
	b.do(t, chromedp.Navigate(e.URL+"/disclosure"))
	b.page(t, "How this deployment handles data", "disclosure-contract", "ocds-ombud01-2026-0007: lacks")

	export := func() (map[string]any, []json.RawMessage) {
		t.Helper()
		resp, err := http.Get(e.URL + "/contracts/export.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := contracts.ValidatePackage(raw, true); err != nil {
			t.Fatalf("the export is not a valid OCDS 1.1 release package: %v", err)
		}
		if err := contracts.ValidatePackage(raw, false); err != nil {
			t.Fatalf("the export is not valid with the extension: %v", err)
		}
		var pkg map[string]any
		var rels struct{ Releases []json.RawMessage }
		json.Unmarshal(raw, &pkg)
		json.Unmarshal(raw, &rels)
		return pkg, rels.Releases
	}
	pkg, rels := export()
	if len(rels) != 6 || pkg["extensions"].([]any)[0] != e.URL+"/contracts/extension/extension.json" {
		t.Fatalf("the export: %d releases, extensions %v", len(rels), pkg["extensions"])
	}
	// Each release hashes to its entry's release field.
	byOCID := map[string]string{}
	for _, c := range imported.Contracts {
		reg := e.EntryAt(t, c.Receipt).(*entry.Contract)
		byOCID[reg.OCID] = reg.Release
	}
	for _, r := range rels {
		var v struct{ OCID string }
		json.Unmarshal(r, &v)
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(r)); got != byOCID[v.OCID] {
			t.Errorf("the export's release of %s hashes to %s, its entry holds %s", v.OCID, got, byOCID[v.OCID])
		}
	}
	if ext := get(t, e.URL+"/contracts/extension/extension.json"); !strings.Contains(ext, `"release-schema.json"`) {
		t.Errorf("the extension: %s", ext)
	}

	// The exception, recorded in a later release.
	amended := strings.Replace(fixture("cloud-via-reseller.json"), `"id": "ocds-ombud01-2026-0007-award-1"`, `"id": "ocds-ombud01-2026-0007-amendment-1"`, 1)
	amended = strings.Replace(amended, `"date": "2026-03-02T00:00:00Z"`, `"date": "2026-04-10T00:00:00Z"`, 1)
	amended = strings.Replace(amended, `"safeguardExceptions": [`, `"safeguardExceptions": [
      {"clause": "humanReviewOfAIOutputs", "rationale": "The hosted AI services translate documents only; an officer reads every translation before it is used.", "approvedBy": "Agency ethics board"},`, 1)
	resp = e.Do(t, "POST", "/v1/contracts/ocds-ombud01-2026-0007/releases", e.AdminToken, js, amended)
	if resp.StatusCode != 201 {
		t.Fatalf("amend: %d", resp.StatusCode)
	}
	var am apiv1.ContractRegistered
	if err := json.NewDecoder(resp.Body).Decode(&am); err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.Navigate(e.URL+article))
	body = b.page(t, "Cloud storage and compute, with hosted AI services", "contract-explained",
		"human review of AI outputs\tlacking\tThe hosted AI services translate documents only; an officer reads every translation before it is used. (approved by Agency ethics board)",
		"limits on downstream use\tlacking\tunexplained", "2\tocds-ombud01-2026-0007-amendment-1")
	if strings.Contains(body, "human review of AI outputs\tlacking\tunexplained") {
		t.Error("the amended contract still shows human review unexplained")
	}
	b.do(t, chromedp.Navigate(e.URL+"/systems"))
	body = b.page(t, "Analytic systems", "systems-contract-explained", "human review of AI outputs (exception recorded)")
	_, rels = export()
	// By ocid, each contract's releases in order: the amendment is third.
	if len(rels) != 7 || !strings.Contains(string(rels[2]), "Agency ethics board") || fmt.Sprintf("sha256:%x", sha256.Sum256(rels[2])) != am.SHA256 {
		t.Errorf("the export after the amendment: %d releases; the third %s", len(rels), rels[2])
	}
	for _, u := range reqs.all() {
		if !strings.HasPrefix(u, e.URL) && !strings.HasPrefix(u, "about:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("a page asked another origin for %s", u)
		}
	}
}
