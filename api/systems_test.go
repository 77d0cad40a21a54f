package api_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
)

const frs = `{"name":"vendor-x-frs","vendor":"vendor-x","task":"face_identification","classes":["biometric"],"model":"facematch","version":"4.2.1",
	"accuracy":{"fpir":0.003,"fnir":0.021,"threshold":0.85,"source":"nist-frte-1n-2026-10"},"impact_assessment":"fria-2026-07","contract":"ocds-abc123-2026-17"}`

// TestSystemsRegistry: a system is registered with its first version and
// listed publicly; versions are added and retired, each change logged as
// an analytic entry; the wrong role, bad input, a second registration of a
// name and a second retirement are refused and log nothing.
func TestSystemsRegistry(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	e.RegisterContract(t, "ocds-abc123-2026-17")
	const js = "application/json"
	before := e.Size(t)
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              ombud.Code
	}{
		{"analyst", analyst, frs, 403, ombud.CodeForbidden},
		{"no token", "", frs, 401, ombud.CodeUnauthenticated},
		{"free-text name", e.AdminToken, replace(frs, `"vendor-x-frs"`, `"Ada's face finder"`), 400, ombud.CodeInvalid},
		{"an e-mail address as contract", e.AdminToken, replace(frs, `"ocds-abc123-2026-17"`, `"ada@vendor.example"`), 400, ombud.CodeInvalid},
		{"a contract not registered", e.AdminToken, replace(frs, `"ocds-abc123-2026-17"`, `"ocds-abc123-2026-99"`), 400, ombud.CodeInvalid},
		{"unknown task", e.AdminToken, replace(frs, `"face_identification"`, `"mind_reading"`), 400, ombud.CodeInvalid},
		{"unknown class", e.AdminToken, replace(frs, `["biometric"]`, `["dreams"]`), 400, ombud.CodeInvalid},
		{"no impact assessment", e.AdminToken, replace(frs, `,"impact_assessment":"fria-2026-07"`, ``), 400, ombud.CodeInvalid},
		{"no accuracy", e.AdminToken, replace(frs, `"fpir":0.003,"fnir":0.021,`, ``), 400, ombud.CodeInvalid},
		{"rate above one", e.AdminToken, replace(frs, `"fnir":0.021`, `"fnir":2`), 400, ombud.CodeInvalid},
		{"unknown field", e.AdminToken, replace(frs, `"vendor":`, `"owner":"x","vendor":`), 400, ombud.CodeUnknownField},
		// The outside attack's values: published for ever, so refused.
		{"a name with a birth year", e.AdminToken, replace(frs, `"vendor-x-frs"`, `"maria-gonzalez-1980"`), 400, ombud.CodeInvalid},
		{"an identity number as version", e.AdminToken, replace(frs, `"4.2.1"`, `"ssn-123-45-6789"`), 400, ombud.CodeInvalid},
		{"a street address as vendor", e.AdminToken, replace(frs, `"vendor-x"`, `"12-main-street"`), 400, ombud.CodeInvalid},
	} {
		resp := e.Do(t, "POST", "/v1/systems", tc.token, js, tc.body)
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != tc.status || body.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.code)
		}
	}
	if e.Size(t) != before {
		t.Fatal("a refused registration logged something")
	}
	// Two registrations of one name at once: one is logged, one refused.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	var done apiv1.SystemVersionDone
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := e.Do(t, "POST", "/v1/systems", e.AdminToken, js, frs)
			codes[i] = resp.StatusCode
			if resp.StatusCode == 201 {
				done = decode[apiv1.SystemVersionDone](t, resp)
			}
		}()
	}
	wg.Wait()
	if codes[0]+codes[1] != 201+409 || done.ID == "" || done.Version != "4.2.1" || done.Receipt == 0 {
		t.Fatalf("two registrations of one name: %v, %+v", codes, done)
	}
	// In QuorumMode the second request is proposed too, unless the first
	// was registered before it was tried (then it is refused directly).
	if got := e.Size(t); got != before+1+ombudtest.ApprovalEntries(2) && got != before+1+ombudtest.ApprovalEntries(1) {
		t.Fatalf("%d entries for one registration", got-before)
	}
	// A version, and a retirement, each asked twice at once: one takes
	// effect and is logged, the other is refused and logs nothing.
	// (In QuorumMode each privileged request is a proposal and an
	// approval too: approvals more entries, or half as many when the
	// second proposal is refused while the first is open.)
	twice := func(path, body string, ok int, approvals uint64) {
		t.Helper()
		before := e.Size(t)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := e.Do(t, "POST", path, e.AdminToken, js, body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		if n := e.Size(t) - before - 1; codes[0]+codes[1] != ok+409 || n != approvals && n != approvals/2 {
			t.Fatalf("%s twice at once: %v, %d entries", path, codes, e.Size(t)-before)
		}
	}
	twice("/v1/systems/"+done.ID+"/versions", `{"model":"facematch","version":"5.0.0","accuracy":{"fpir":0.002,"fnir":0.015,"threshold":0.8,"source":"nist-frte-1n-2026-11"}}`, 201, ombudtest.ApprovalEntries(2))
	for _, path := range []string{"/v1/systems/nosuchsystem0000/versions"} {
		resp := e.Do(t, "POST", path, e.AdminToken, js, `{"model":"m","version":"1","accuracy":{"threshold":0.5}}`)
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 404 || body.Error.Code != ombud.CodeNotFound {
			t.Fatalf("a version of no system: %d %+v", resp.StatusCode, body.Error)
		}
	}
	twice("/v1/systems/"+done.ID+"/versions/4.2.1/retire", "", 200, 0)
	resp := e.Do(t, "POST", "/v1/systems/"+done.ID+"/versions/4.2.1/retire", e.AdminToken, "", "")
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Code != ombud.CodeConflict {
		t.Fatalf("retiring twice: %d %+v", resp.StatusCode, body.Error)
	}
	// The registry is public.
	var list apiv1.Systems
	if err := json.Unmarshal(ombudtest.Get(t, e.URL+"/v1/systems"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Systems) != 1 || len(list.Systems[0].Versions) != 2 || list.Systems[0].Versions[0].Retired == nil || list.Systems[0].Versions[1].Retired != nil ||
		list.Systems[0].Versions[0].Accuracy.FNIR != 0.021 {
		t.Fatalf("the registry: %+v", list)
	}
	// Three analytic entries: register, version, retire.
	size := e.Size(t)
	e.AwaitSize(t, size)
	leaves, _ := e.Log.Leaves(t.Context(), before, size)
	var ops []string
	for _, l := range leaves {
		en, err := entry.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := en.Body(); b != nil {
			if a, ok := b.(*entry.Analytic); ok {
				ops = append(ops, a.Op)
			}
		}
	}
	if len(ops) != 3 || ops[0] != entry.OpRegister || ops[1] != entry.OpVersion || ops[2] != entry.OpRetire {
		t.Fatalf("analytic entries %v", ops)
	}
	// A machine: a principal of the system role alone, bound to the system.
	for _, tc := range []struct {
		body   string
		status int
		code   ombud.Code
	}{
		{`{"name":"frs runner","roles":["system","analyst"],"system":"` + done.ID + `"}`, 400, ombud.CodeInvalid},
		{`{"name":"frs runner","roles":["system"]}`, 400, ombud.CodeInvalid},
		{`{"name":"frs runner","roles":["analyst"],"system":"` + done.ID + `"}`, 400, ombud.CodeInvalid},
		{`{"name":"frs runner","roles":["system"],"system":"nosuchsystem0000"}`, 404, ombud.CodeNotFound},
	} {
		resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, js, tc.body)
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != tc.status || body.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.body, resp.StatusCode, body.Error, tc.status, tc.code)
		}
	}
	resp = e.Do(t, "POST", "/v1/principals", e.AdminToken, js, `{"name":"frs runner","roles":["system"],"system":"`+done.ID+`"}`)
	machine := decode[apiv1.Principal](t, resp)
	if resp.StatusCode != 201 || machine.System != done.ID || machine.Token == "" {
		t.Fatalf("a system principal: %d %+v", resp.StatusCode, machine)
	}
	// It may not read outside a run: a logged denial with its own reason.
	o, _, err := e.Custody.Ingest(t.Context(), custody.IngestRequest{Class: "general", Source: "cam-1", By: e.AdminID, Body: strings.NewReader("a record")})
	if err != nil {
		t.Fatal(err)
	}
	resp = doObj(t, e, "GET", "/v1/objects/"+o.ID, machine.Token, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	if resp.StatusCode != 403 || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("a system reading outside a run: %d", resp.StatusCode)
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	e.AwaitSize(t, idx+1)
	leaves, _ = e.Log.Leaves(t.Context(), idx, idx+1)
	en, _ := entry.Parse(leaves[0])
	if b, _ := en.Body(); b == nil || b.(*entry.Access).Decision != entry.Deny || b.(*entry.Access).Reasons[0] != reason.SystemOutsideRun {
		t.Fatalf("the denial's entry: %+v", b)
	}
}

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }
