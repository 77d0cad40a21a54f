package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../contracts/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestContractsImport: the fixture package registers at once, a register
// entry for each contract and then one import entry; each entry holds
// the SHA-256 of its release as registered. Each kind of bad input is
// refused with its own code and every problem at its field, an import
// with one bad release registers none of it, and nothing refused is
// logged.
func TestContractsImport(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	const js = "application/json"
	pkg := readFixture(t, "registry-package.json")
	single := readFixture(t, "cloud-via-reseller.json")
	before := e.Size(t)

	type refusal struct {
		name, token, ctype, body string
		status                   int
		code                     ombud.Code
		reason, path             string
	}
	refusals := []refusal{
		{"an analyst", analyst, js, single, 403, ombud.CodeForbidden, "", ""},
		{"no token", "", js, single, 401, ombud.CodeUnauthenticated, "", ""},
		{"not JSON's type", e.AdminToken, "text/plain", single, 415, ombud.CodeUnsupportedMedia, "", ""},
		{"an invalid release", e.AdminToken, js, strings.Replace(single, `"initiationType": "tender",`, `"initiationType": "auction",`, 1), 400, ombud.CodeInvalid, "invalid_release", "/initiationType"},
		{"a release with no date", e.AdminToken, js, strings.Replace(single, `"date": "2026-03-02T00:00:00Z",`, ``, 1), 400, ombud.CodeInvalid, "invalid_release", "/"},
		{"an unknown role", e.AdminToken, js, strings.Replace(single, `"roles": ["vendor"]`, `"roles": ["overlord"]`, 1), 400, ombud.CodeInvalid, "unknown_role", "/parties/2/roles/0"},
		{"a circular chain", e.AdminToken, js, strings.Replace(single, `{"from": "reseller-1", "to": "agency-police"}`, `{"from": "reseller-1", "to": "cloudco"}`, 1), 400, ombud.CodeInvalid, "circular_chain", "/contracts/0/supplyChain"},
		{"a contract its own upstream", e.AdminToken, js, strings.Replace(single, `"contract": "ocds-ombud01-2025-0001"`, `"contract": "ocds-ombud01-2026-0007"`, 1), 400, ombud.CodeInvalid, "circular_chain", "/contracts/0/supplyChain/0/contract"},
		{"a key given twice", e.AdminToken, js, strings.Replace(single, `"language": "en",`, `"language": "en", "language": "fr",`, 1), 400, ombud.CodeInvalid, "invalid_release", "/language"},
		{"a party id with a space", e.AdminToken, js, strings.ReplaceAll(single, `"cloudco"`, `"cloud co"`), 400, ombud.CodeInvalid, "invalid_release", "/parties/2/id"},
		{"a package registering an ocid twice", e.AdminToken, js, strings.Replace(pkg, `"ocid": "ocds-ombud01-2026-0011"`, `"ocid": "ocds-ombud01-2026-0007"`, 1), 400, ombud.CodeInvalid, "duplicate_ocid", "/releases/2/ocid"},
		// One bad release of six: none of them is registered.
		{"a package with one bad release", e.AdminToken, js, strings.Replace(pkg, `"roles": [
            "vendor",
            "supplier",
            "manufacturer"
          ]`, `"roles": ["vendor", "dealer"]`, 1), 400, ombud.CodeInvalid, "unknown_role", "/releases/2/parties/1/roles/1"},
		{"a package without its publisher", e.AdminToken, js, strings.Replace(pkg, `"publisher": {`, `"publisher_": {`, 1), 400, ombud.CodeInvalid, "invalid_release", "/"},
		{"not JSON", e.AdminToken, js, `{"ocid":`, 400, ombud.CodeInvalid, "invalid_release", "/"},
		// The outside review's: what the log or the pages would read
		// otherwise than the schema did, or keep for ever.
		{"a key in another case", e.AdminToken, js, strings.Replace(single, `"productFlags": ["cloud", "ai"],`, `"productFlags": ["cloud", "ai"], "ProductFlags": ["jane.doe"],`, 1), 400, ombud.CodeInvalid, "invalid_release", "/contracts/0/ProductFlags"},
		{"a key only in another case", e.AdminToken, js, strings.Replace(single, `"safeguards": {`, `"Safeguards": {`, 1), 400, ombud.CodeInvalid, "invalid_release", "/contracts/0/Safeguards"},
		{"an ocid not of OCDS's form", e.AdminToken, js, strings.Replace(single, `"ocid": "ocds-ombud01-2026-0007"`, `"ocid": "export.json"`, 1), 400, ombud.CodeInvalid, "invalid_release", "/ocid"},
		{"a party id shaped as an identity number", e.AdminToken, js, strings.ReplaceAll(single, `"cloudco"`, `"123-45-6789"`), 400, ombud.CodeInvalid, "invalid_release", "/parties/2/id"},
		{"invalid UTF-8", e.AdminToken, js, strings.Replace(single, `CloudCo Inc.`, "CloudCo \xff Inc.", 1), 400, ombud.CodeInvalid, "invalid_release", "/"},
		{"a date in lower case", e.AdminToken, js, strings.Replace(single, `"date": "2026-03-02T00:00:00Z"`, `"date": "2026-03-02t00:00:00z"`, 1), 400, ombud.CodeInvalid, "invalid_release", "/date"},
		{"nesting too deep", e.AdminToken, js, strings.Replace(single, `"language": "en",`, `"x": `+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`, "language": "en",`, 1), 400, ombud.CodeInvalid, "invalid_release", ""},
		{"a bidirectional override in a title", e.AdminToken, js, strings.Replace(single, `"title": "Cloud storage`, "\"title\": \"\u202eCloud storage", 1), 400, ombud.CodeInvalid, "invalid_release", "/contracts/0/title"},
		{"an exception repeated", e.AdminToken, js, strings.Replace(single, `"safeguardExceptions": [`, `"safeguardExceptions": [`+strings.Repeat(`{"clause": "customerKeyCustody", "rationale": "r", "approvedBy": "b"},`, 2000), 1), 400, ombud.CodeInvalid, "invalid_release", "/contracts/0/safeguardExceptions"},
	}
	check := func(tc refusal) {
		t.Helper()
		resp := e.Do(t, "POST", "/v1/contracts", tc.token, tc.ctype, tc.body)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Reason != tc.reason {
			t.Errorf("%s: %d %+v, want %d %s %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.code, tc.reason)
			return
		}
		if tc.path != "" && !slices.ContainsFunc(body.Error.Problems, func(p ombud.Problem) bool { return p.Path == tc.path }) {
			t.Errorf("%s: no problem at %s: %+v", tc.name, tc.path, body.Error.Problems)
		}
	}
	for _, tc := range refusals {
		check(tc)
	}
	// A release with 300 bad parties: the refusal lists the first 100.
	var bad strings.Builder
	for i := range 300 {
		fmt.Fprintf(&bad, `{"id": "bad id %d", "name": "x", "roles": ["supplier"]},`, i)
	}
	resp := e.Do(t, "POST", "/v1/contracts", e.AdminToken, js, strings.Replace(single, `"parties": [`, `"parties": [`+bad.String(), 1))
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 400 || len(body.Error.Problems) != contracts.MaxProblems || !strings.Contains(body.Error.Message, "the first 100 are listed") {
		t.Errorf("300 bad parties: %d, %d problems, %q", resp.StatusCode, len(body.Error.Problems), body.Error.Message)
	}
	if e.Size(t) != before {
		t.Fatal("a refused import logged something")
	}
	var list apiv1.Contracts
	if err := json.Unmarshal(ombudtest.Get(t, e.URL+"/v1/contracts"), &list); err != nil || len(list.Contracts) != 0 {
		t.Fatalf("after the refusals: %+v, %v", list, err)
	}

	resp = e.Do(t, "POST", "/v1/contracts", e.AdminToken, js, pkg)
	if resp.StatusCode != 201 {
		t.Fatalf("import: %d %s", resp.StatusCode, decode[apiv1.ErrorBody](t, resp).Error.Message)
	}
	done := decode[apiv1.ContractsImported](t, resp)
	if len(done.Contracts) != 6 || done.Receipt != before+6 {
		t.Fatalf("import: %+v (log at %d before)", done, before)
	}
	closing, ok := e.EntryAt(t, done.Receipt).(*entry.Contract)
	if !ok || closing.Op != entry.OpImport || closing.Count != 6 || closing.Import == "" {
		t.Fatalf("the import's closing entry: %+v", e.EntryAt(t, done.Receipt))
	}
	var releases struct {
		Releases []json.RawMessage `json:"releases"`
	}
	if err := json.Unmarshal([]byte(pkg), &releases); err != nil {
		t.Fatal(err)
	}
	for i, c := range done.Contracts {
		reg, ok := e.EntryAt(t, c.Receipt).(*entry.Contract)
		if !ok || reg.Op != entry.OpRegister || reg.Import != closing.Import || reg.OCID != c.OCID || reg.Release != c.SHA256 || c.Receipt >= done.Receipt {
			t.Fatalf("contract %d's entry %d: %+v, answer %+v", i, c.Receipt, reg, c)
		}
		compact := compactJSON(t, releases.Releases[i])
		if want := fmt.Sprintf("sha256:%x", sha256.Sum256(compact)); c.SHA256 != want {
			t.Errorf("contract %s: sha256 %s, want that of its release as sent, compacted (%s)", c.OCID, c.SHA256, want)
		}
	}
	if err := json.Unmarshal(ombudtest.Get(t, e.URL+"/v1/contracts"), &list); err != nil || len(list.Contracts) != 6 {
		t.Fatalf("after the import: %d, %v", len(list.Contracts), err)
	}
	var article apiv1.Contract
	for _, c := range list.Contracts {
		if c.OCID == "ocds-ombud01-2026-0007" {
			article = c
		}
	}
	if article.Vendor != "cloudco" || !slices.Equal(article.Intermediaries, []string{"reseller-1"}) || article.Buyer != "agency-police" ||
		!slices.Equal(article.ProductFlags, []string{"cloud", "ai"}) || !slices.Equal(article.Unexplained, []string{"downstreamUseLimits", "humanReviewOfAIOutputs"}) ||
		!slices.Equal(article.Upstream, []string{"ocds-ombud01-2025-0001"}) || article.Releases != 1 {
		t.Fatalf("the article's pathway: %+v", article)
	}

	// Registered already: each ocid once.
	before = e.Size(t)
	check(refusal{"a registered ocid", e.AdminToken, js, single, 409, ombud.CodeConflict, "duplicate_ocid", "/ocid"})
	check(refusal{"a package with a registered ocid", e.AdminToken, js, pkg, 409, ombud.CodeConflict, "duplicate_ocid", "/releases/5/ocid"})
	// A loop across contracts: 0099 names 0098 as its upstream
	// contract (not registered: that is allowed), and then 0098 names
	// 0099.
	resp = e.Do(t, "POST", "/v1/contracts", e.AdminToken, js,
		strings.Replace(strings.Replace(single, `"ocid": "ocds-ombud01-2026-0007"`, `"ocid": "ocds-ombud01-2026-0099"`, 1), `"contract": "ocds-ombud01-2025-0001"`, `"contract": "ocds-ombud01-2026-0098"`, 1))
	if resp.StatusCode != 201 {
		t.Fatalf("a contract linked to an unregistered one: %d %+v", resp.StatusCode, decode[apiv1.ErrorBody](t, resp).Error)
	}
	if e.Size(t) != before+2 {
		t.Fatalf("log grew by %d, want the one import of two entries", e.Size(t)-before)
	}
	before = e.Size(t)
	// 0098 now names 0099 upstream, which names 0098.
	cyc := strings.Replace(strings.Replace(single, `"ocid": "ocds-ombud01-2026-0007"`, `"ocid": "ocds-ombud01-2026-0098"`, 1), `"contract": "ocds-ombud01-2025-0001"`, `"contract": "ocds-ombud01-2026-0099"`, 1)
	check(refusal{"a chain that loops through another contract", e.AdminToken, js, cyc, 400, ombud.CodeInvalid, "circular_chain", "/contracts/0/supplyChain"})
	if e.Size(t) != before {
		t.Fatal("a refused import logged something")
	}

	// Two imports of one ocid at once: one is registered.
	fresh := strings.Replace(single, `"ocid": "ocds-ombud01-2026-0007"`, `"ocid": "ocds-ombud01-2026-0100"`, 1)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = e.Do(t, "POST", "/v1/contracts", e.AdminToken, js, fresh).StatusCode })
	}
	wg.Wait()
	if codes[0]+codes[1] != 201+409 || e.Size(t) != before+2 {
		t.Fatalf("two imports of one ocid at once: %v, log grew by %d", codes, e.Size(t)-before)
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withException is the article's contract amended: a later release that
// records an exception, with its rationale, for human review of AI
// outputs.
func withException(single string) string {
	s := strings.Replace(single, `"id": "ocds-ombud01-2026-0007-award-1"`, `"id": "ocds-ombud01-2026-0007-amendment-1"`, 1)
	s = strings.Replace(s, `"date": "2026-03-02T00:00:00Z"`, `"date": "2026-04-10T00:00:00Z"`, 1)
	s = strings.Replace(s, `"tag": ["contract"]`, `"tag": ["contractAmendment"]`, 1)
	return strings.Replace(s, `"safeguardExceptions": [`, `"safeguardExceptions": [
      {"clause": "humanReviewOfAIOutputs", "rationale": "The hosted AI services are used for translation only; no output is acted on without an officer's reading.", "approvedBy": "Agency ethics board"},`, 1)
}

// TestContractAmend: a contract lacking human review of AI outputs is
// shown with it unexplained; a later release records the exception, and
// the registry then shows it explained. An amendment by the wrong role,
// of no contract, reusing a release id, dated earlier, or of another
// ocid is refused and logs nothing.
func TestContractAmend(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	const js = "application/json"
	single := readFixture(t, "cloud-via-reseller.json")
	if resp := e.Do(t, "POST", "/v1/contracts", e.AdminToken, js, single); resp.StatusCode != 201 {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	amended := withException(single)
	const path = "/v1/contracts/ocds-ombud01-2026-0007/releases"
	unexplained := func() map[string]int64 {
		m := map[string]int64{}
		for _, k := range e.ReportNow(t).Unexplained {
			m[k.Key] = k.Count.N
		}
		return m
	}
	if u := unexplained(); u["humanReviewOfAIOutputs"] != 1 || u["downstreamUseLimits"] != 1 || len(u) != 2 {
		t.Fatalf("the report's unexplained exceptions before the amendment: %v", u)
	}
	before := e.Size(t)
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
		code                    ombud.Code
	}{
		{"an analyst", path, analyst, amended, 403, ombud.CodeForbidden},
		{"no contract", "/v1/contracts/ocds-ombud01-2026-0666/releases", e.AdminToken, strings.ReplaceAll(amended, "ocds-ombud01-2026-0007", "ocds-ombud01-2026-0666"), 404, ombud.CodeNotFound},
		{"the same release again", path, e.AdminToken, single, 400, ombud.CodeInvalid},
		{"an earlier date", path, e.AdminToken, strings.Replace(amended, `"date": "2026-04-10T00:00:00Z"`, `"date": "2026-01-10T00:00:00Z"`, 1), 400, ombud.CodeInvalid},
		{"another contract's release", "/v1/contracts/ocds-ombud01-2025-0001/releases", e.AdminToken, amended, 400, ombud.CodeInvalid},
		{"an unknown role", path, e.AdminToken, strings.Replace(amended, `"roles": ["vendor"]`, `"roles": ["overlord"]`, 1), 400, ombud.CodeInvalid},
	} {
		resp := e.Do(t, "POST", tc.path, tc.token, js, tc.body)
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != tc.status || body.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.code)
		}
	}
	if e.Size(t) != before {
		t.Fatal("a refused amendment logged something")
	}
	resp := e.Do(t, "POST", path, e.AdminToken, js, amended)
	if resp.StatusCode != 201 {
		t.Fatalf("amend: %d %+v", resp.StatusCode, decode[apiv1.ErrorBody](t, resp).Error)
	}
	done := decode[apiv1.ContractRegistered](t, resp)
	am, ok := e.EntryAt(t, done.Receipt).(*entry.Contract)
	if done.Release != 2 || !ok || am.Op != entry.OpAmend || am.Import != "" || !slices.Equal(am.Unexplained, []string{"downstreamUseLimits"}) ||
		!slices.Equal(am.MissingClauses, []string{"downstreamUseLimits", "customerKeyCustody", "humanReviewOfAIOutputs"}) {
		t.Fatalf("the amendment: %+v, entry %+v", done, e.EntryAt(t, done.Receipt))
	}
	if u := unexplained(); u["humanReviewOfAIOutputs"] != 0 || u["downstreamUseLimits"] != 1 || len(u) != 1 {
		t.Fatalf("the report's unexplained exceptions after the amendment: %v", u)
	}
	var list apiv1.Contracts
	if err := json.Unmarshal(ombudtest.Get(t, e.URL+"/v1/contracts"), &list); err != nil || len(list.Contracts) != 1 ||
		list.Contracts[0].Releases != 2 || !slices.Equal(list.Contracts[0].Unexplained, []string{"downstreamUseLimits"}) {
		t.Fatalf("after the amendment: %+v, %v", list, err)
	}
	// Two amendments at once: one is recorded, the other is refused
	// (its release is now not the next).
	third := strings.Replace(strings.Replace(amended, `amendment-1"`, `amendment-2"`, 1), `"date": "2026-04-10T00:00:00Z"`, `"date": "2026-05-10T00:00:00Z"`, 1)
	before = e.Size(t)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = e.Do(t, "POST", path, e.AdminToken, js, third).StatusCode })
	}
	wg.Wait()
	// In QuorumMode each is proposed and approved: the second's proposal
	// and vote may be logged before its run is refused.
	grew := e.Size(t) - before
	if slices.Sort(codes); codes[0] != 201 || codes[1] < 400 || grew < 1+ombudtest.ApprovalEntries(1) || grew > 1+ombudtest.ApprovalEntries(2) {
		t.Fatalf("two amendments at once: %v, log grew by %d", codes, grew)
	}
}

// TestContractImportRecovery: an import whose closing entry is logged but
// whose commit a crash interrupted is committed by recovery, which finds
// each contract's register entry in the log; an import whose closing
// entry never reached the log is undone, its register entries left void,
// and its ocid is free again.
func TestContractImportRecovery(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := t.Context()
	now := e.Journal.Clock().UTC().Truncate(time.Millisecond)
	importOf := func(id string, ocids ...string) (*journal.Change, []journal.Built, journal.Record) {
		p := journal.ContractImportPayload{ID: id}
		var rs []journal.Built
		for _, ocid := range ocids {
			c := &ombud.Contract{OCID: ocid, N: 1, ReleaseID: ocid + "-1", Release: []byte(`{"ocid":"` + ocid + `"}`), SHA256: "sha256:" + strings.Repeat("c", 64),
				Title: "t", Buyer: "agency", Vendor: "v", Registered: now}
			p.Contracts = append(p.Contracts, c)
			r := journal.Record{Body: entry.Contract{Op: entry.OpRegister, OCID: ocid, Release: c.SHA256, Buyer: "agency", Vendor: "v", Import: id, By: e.AdminID}, Time: now}
			en, leaf, d, err := e.Journal.Build(r)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(leaf)
			p.Leaves = append(p.Leaves, sum[:])
			rs = append(rs, journal.Built{Entry: en, Leaf: leaf, Detail: d})
		}
		ch, err := journal.ContractImport.Change(id, p)
		if err != nil {
			t.Fatal(err)
		}
		return ch, rs, journal.Record{Body: entry.Contract{Op: entry.OpImport, Count: int64(len(ocids)), Import: id, By: e.AdminID}}
	}
	// Logged, not committed: the commit fails, as a crash would leave it.
	ch, rs, closing := importOf("import-logged", "ocds-r-1", "ocds-r-2")
	leaves, w, err := e.Journal.ApplyAll(ctx, ch, rs, closing, func(context.Context, *journal.Change, []journal.Leaf, journal.Leaf) error {
		return errors.New("the process died")
	})
	if err == nil || len(leaves) != 0 || w.Index == 0 {
		t.Fatalf("ApplyAll with a failing commit: %v, %v, %d", err, leaves, w.Index)
	}
	if cs, _ := e.Store.Contracts(ctx); len(cs) != 0 {
		t.Fatalf("registered before recovery: %d", len(cs))
	}
	st, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour))
	if err != nil || st.Committed != 1 {
		t.Fatalf("recovery: %+v, %v", st, err)
	}
	cs, err := e.Store.Contracts(ctx)
	if err != nil || len(cs) != 2 {
		t.Fatalf("after recovery: %d, %v", len(cs), err)
	}
	for i, c := range cs {
		reg, ok := e.EntryAt(t, c.Index).(*entry.Contract)
		if !ok || reg.Op != entry.OpRegister || reg.OCID != c.OCID || c.Import != w.Index || c.OCID != fmt.Sprintf("ocds-r-%d", i+1) {
			t.Errorf("contract %s after recovery: index %d (%+v), import %d, want %d", c.OCID, c.Index, e.EntryAt(t, c.Index), c.Import, w.Index)
		}
	}

	// Not logged: the log refuses the closing entry (here: the change's
	// reservation is left as a crash before the closing entry would).
	ch, _, _ = importOf("import-lost", "ocds-r-3")
	ch.Leaf, ch.Created = bytes.Repeat([]byte{9}, 32), now
	if ch.From, err = e.Log.Size(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Reserve(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour)); err != nil || st.Undone != 1 {
		t.Fatalf("recovery of an import never closed: %+v, %v", st, err)
	}
	if _, err := e.Store.ContractReleases(ctx, "ocds-r-3"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("the undone import left its contract: %v", err)
	}
	if resp := e.Do(t, "POST", "/v1/contracts", e.AdminToken, "application/json", ombudtest.ContractRelease("ocds-r-3")); resp.StatusCode != 201 {
		t.Fatalf("the undone import's ocid is not free: %d", resp.StatusCode)
	}
}
