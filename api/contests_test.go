package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
)

// reviewedFlag raises a flag on a location object the run read, naming
// another it read, of the candidate, as the candidate's reference image,
// and returns its id.
func (e *runEnv) reviewedFlag(t *testing.T) string {
	t.Helper()
	run := e.readRun(t, e.machine, "auth-e", 0, e.location[:2]...)
	b, _ := json.Marshal(apiv1.CreateFlag{Run: run.ID, Inputs: e.location[:1], Candidates: []string{"plate:B-XY-123"}, References: e.location[1:2], Rank: 1, Score: 0.93,
		Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 120000})
	resp := e.Do(t, "POST", "/v1/flags", e.machine, "application/json", string(b))
	f := decode[apiv1.FlagCreated](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("a flag: %d", resp.StatusCode)
	}
	return f.ID
}

// confirm views every input of flag as token (each viewing logged), as a
// confirmation needs, then confirms the flag.
func (e *runEnv) confirm(t *testing.T, token, flag, rationale string) *http.Response {
	t.Helper()
	e.viewInputs(t, token, flag)
	return e.Do(t, "POST", "/v1/flags/"+flag+"/reviews", token, "application/json", `{"verdict":"confirm","rationale":"`+rationale+`"}`)
}

// viewInputs views every input of flag as token.
func (e *runEnv) viewInputs(t *testing.T, token, flag string) {
	t.Helper()
	f, err := e.Gateway.Store.Flag(t.Context(), flag)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range f.Inputs {
		resp := e.evidence(t, token, flag, in)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("viewing input %s of flag %s: %d", in, flag, resp.StatusCode)
		}
	}
}

// evidence views object as evidence of flag through GET /v1/objects/{id},
// with any further headers given as name, value pairs.
func (e *runEnv) evidence(t *testing.T, token, flag, object string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.URL+"/v1/objects/"+object, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Ombud-Purpose", "review")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if flag != "" {
		req.Header.Set("Ombud-Flag", flag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestEvidence: a reviewer views a flag's input and reference image
// through the access path, each viewing logged with the purpose review
// and the flag and no authorization; an object that is not the flag's,
// the run's starter, an analyst and a viewing without the flag are
// refused, the first three as logged denials.
func TestEvidence(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10))
	f := e.reviewedFlag(t)
	r1 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer)
	for _, obj := range e.location[:2] {
		resp := e.evidence(t, r1, f, obj)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("viewing %s: %d", obj, resp.StatusCode)
		}
		a, ok := entryAt(t, e.Env, receiptOf(t, resp)).(*entry.Access)
		if !ok || a.Decision != entry.Permit || a.Purpose != "review" || a.Flag == "" || a.Authorization != "" || a.Reasons[0] != "review_evidence" {
			t.Fatalf("the viewing's entry: %+v", a)
		}
	}
	for _, tc := range []struct {
		name, token, flag, object string
		status                    int
		logged                    bool
		hdr                       []string
	}{
		{"an object not the flag's", r1, f, e.location[2], 403, true, nil},
		{"an analyst", e.analyst, f, e.location[0], 403, true, nil},
		{"no flag named", r1, "", e.location[0], 400, false, nil},
		{"an authorization cited", r1, f, e.location[0], 400, false, []string{"Ombud-Authorization", "auth-e"}},
		{"an emergency claimed", r1, f, e.location[0], 400, false, []string{"Ombud-Emergency", "public_safety"}},
		{"an unknown flag", r1, "nosuchflag000000", e.location[0], 403, true, nil},
	} {
		before := e.Size(t)
		resp := e.evidence(t, tc.token, tc.flag, tc.object, tc.hdr...)
		body := decode[apiv1.ErrorBody](t, resp)
		logged := e.Size(t) == before+1
		if resp.StatusCode != tc.status || logged != tc.logged {
			t.Errorf("%s: %d %+v, logged %v; want %d, logged %v", tc.name, resp.StatusCode, body.Error, logged, tc.status, tc.logged)
		}
		if tc.logged {
			if a, ok := entryAt(t, e.Env, before).(*entry.Access); !ok || a.Decision != entry.Deny || a.Purpose != "review" {
				t.Errorf("%s: the denial: %+v", tc.name, a)
			}
		}
	}
	// A reference image that is not a candidate's, or that the run did
	// not read (so no authorization covered it), is refused.
	run := e.readRun(t, e.machine, "auth-e", 0, e.location[:2]...)
	for _, tc := range []struct {
		name, candidate, reference, reason string
	}{
		{"a reference of no candidate", "person:99", e.location[1], reason.ReferenceInvalid},
		{"a reference the run did not read", "plate:B-XY-123", e.bio, reason.InputNotRead},
	} {
		b, _ := json.Marshal(apiv1.CreateFlag{Run: run.ID, Inputs: e.location[:1], Candidates: []string{tc.candidate}, References: []string{tc.reference}, Rank: 1, Score: 0.9,
			Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 10})
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/flags", e.machine, "application/json", string(b))
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Reason != tc.reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v", tc.name, resp.StatusCode, body.Error)
		}
	}
	// The same match again is refused; so is a reference whose candidate
	// the run's authorization does not name, though the object is also
	// of a subject it names (else a refusal would tell who else an object
	// is about).
	shared, _, err := e.Custody.Ingest(t.Context(), custody.IngestRequest{Class: "location", Source: "cam-1", Subjects: []string{"plate:B-XY-123", "person:mallory"},
		By: e.AdminID, Body: strings.NewReader("a shared record")})
	if err != nil {
		t.Fatal(err)
	}
	run3 := e.readRun(t, e.machine, "auth-e", 0, e.location[0], shared.ID)
	fl, err := e.Store.Flag(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, run  string
		candidates []string
		reference  string
		reason     string
	}{
		{"the same match again", fl.Run, []string{"plate:B-XY-123"}, e.location[1], reason.FlagDuplicate},
		{"a reference of a candidate the authorization does not name", run3.ID, []string{"person:mallory"}, shared.ID, reason.ReferenceInvalid},
	} {
		b, _ := json.Marshal(apiv1.CreateFlag{Run: tc.run, Inputs: e.location[:1], Candidates: tc.candidates, References: []string{tc.reference}, Rank: 1, Score: 0.9,
			Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 10})
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/flags", e.machine, "application/json", string(b))
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Reason != tc.reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v", tc.name, resp.StatusCode, body.Error)
		}
	}
	// After its run's authorization's window, no one views the evidence
	// for review.
	e.reviewed.Store(int64(25 * time.Hour))
	resp := e.evidence(t, r1, f, e.location[0])
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 403 || body.Error.Reason != reason.ReviewWindowClosed {
		t.Fatalf("after the authorization's window: %d %+v", resp.StatusCode, body.Error)
	}
	e.reviewed.Store(0)
	// After their review, a reviewer has no more access to the evidence;
	// one who has not reviewed still has.
	if resp := e.confirm(t, r1, f, "the plates agree"); resp.StatusCode != 201 {
		t.Fatalf("review: %d", resp.StatusCode)
	}
	r2 := e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	for _, tc := range []struct {
		token  string
		status int
		reason string
	}{{r1, 403, reason.ReviewDone}, {r2, 200, ""}} {
		before := e.Size(t)
		resp := e.evidence(t, tc.token, f, e.location[0])
		var reason string
		if resp.StatusCode == 200 {
			resp.Body.Close()
		} else {
			reason = decode[apiv1.ErrorBody](t, resp).Error.Reason
		}
		if resp.StatusCode != tc.status || reason != tc.reason || e.Size(t) != before+1 {
			t.Errorf("after a review: %d %s", resp.StatusCode, reason)
		}
	}
}

// TestContests: the person holding an action's notice code files one
// contest, logged without their statement; a wrong code and a second
// filing (even at once) log nothing; a reviewer who took part may not
// resolve it; two resolutions at once give one; the case shows the
// outcome.
func TestContests(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10))
	ctx := t.Context()
	svc := e.Gateway.Review
	f := e.reviewedFlag(t)
	r1 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer)
	r2 := e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	r3 := e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	r4 := e.AddPrincipal(t, "Raj", ombud.RoleReviewer)
	const js = "application/json"
	// The queue: r1 sees the flag until they review it.
	resp := e.Do(t, "GET", "/v1/flags/awaiting", r1, "", "")
	if q := decode[[]apiv1.Flag](t, resp); resp.StatusCode != 200 || len(q) != 1 || q[0].ID != f || len(q[0].References) != 1 {
		t.Fatalf("the queue: %d %+v", resp.StatusCode, q)
	}
	// Past the review window the flag leaves the queue.
	e.reviewed.Store(int64(ombud.ReviewWindow + time.Hour))
	if q := decode[[]apiv1.Flag](t, e.Do(t, "GET", "/v1/flags/awaiting", r1, "", "")); len(q) != 0 {
		t.Fatalf("a flag past the review window is queued: %+v", q)
	}
	e.reviewed.Store(0)
	for _, tok := range []string{r1, r2} {
		resp := e.confirm(t, tok, f, "the face and the reference agree")
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("review: %d", resp.StatusCode)
		}
	}
	if q := decode[[]apiv1.Flag](t, e.Do(t, "GET", "/v1/flags/awaiting", r1, "", "")); len(q) != 0 {
		t.Fatalf("a reviewed flag still queued: %+v", q)
	}
	resp = e.Do(t, "POST", "/v1/actions", e.analyst, js, `{"flag":"`+f+`","kind":"questioning"}`)
	taken := decode[apiv1.ActionTaken](t, resp)
	if resp.StatusCode != 201 || taken.Notice == "" {
		t.Fatalf("the action: %d %+v", resp.StatusCode, taken)
	}
	// A wrong code, and a malformed one: the same answer, nothing logged.
	before := e.Size(t)
	for _, code := range []string{"0000-0000-0000-0000", "not a code", strings.Repeat("A", 5000)} {
		_, _, err := svc.File(ctx, code, "it was not me")
		if oe := (*ombud.Error)(nil); !errors.As(err, &oe) || oe.Reason != reason.NoticeUnknown {
			t.Fatalf("code %.20q: %v", code, err)
		}
	}
	if e.Size(t) != before {
		t.Fatal("a wrong code logged something")
	}
	// Two filings at once: one contest. The code is read as typed.
	typed := strings.ToLower(strings.ReplaceAll(taken.Notice, "-", " "))
	const statement = "I was at work in another city that evening: Lindenstrasse 5"
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, errs[i] = svc.File(ctx, typed, statement) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || e.Size(t) != before+1 {
		t.Fatalf("two filings at once: %v, %d entries", errs, e.Size(t)-before)
	}
	c, ok := entryAt(t, e.Env, before).(*entry.Contest)
	e.AwaitSize(t, before+1)
	leaves, _ := e.Log.Leaves(ctx, before, before+1)
	if !ok || c.Op != entry.OpFiled || c.Action == "" || strings.Contains(string(leaves[0]), "Lindenstrasse") {
		t.Fatalf("the filing's entry: %+v %s", c, leaves[0])
	}
	// Reviewers list it; who took part may not resolve it.
	resp = e.Do(t, "GET", "/v1/contests", r1, "", "")
	open := decode[[]apiv1.Contest](t, resp)
	if resp.StatusCode != 200 || len(open) != 1 || !open[0].Involved || open[0].ActionKind != "questioning" || open[0].Statement != "" {
		t.Fatalf("open contests for a reviewer of the flag: %d %+v", resp.StatusCode, open)
	}
	if o := decode[[]apiv1.Contest](t, e.Do(t, "GET", "/v1/contests", r3, "", "")); len(o) != 1 || o[0].Involved || o[0].Statement != statement {
		t.Fatalf("open contests for an independent reviewer: %+v", o)
	}
	path := "/v1/contests/" + open[0].ID + "/resolution"
	for _, tc := range []struct {
		name, token, body string
		status            int
		reason            string
	}{
		{"a reviewer of the flag", r1, `{"outcome":"overturned","rationale":"x"}`, 403, reason.NotIndependent},
		{"an analyst", e.analyst, `{"outcome":"overturned","rationale":"x"}`, 403, ""},
		{"no rationale", r3, `{"outcome":"overturned","rationale":""}`, 400, ""},
		{"an outcome not in the list", r3, `{"outcome":"maybe","rationale":"x"}`, 400, ""},
		{"an unknown contest", r3, `{"outcome":"upheld","rationale":"x"}`, 404, reason.ContestUnknown},
	} {
		p := path
		if tc.reason == reason.ContestUnknown {
			p = "/v1/contests/nosuchcontest000/resolution"
		}
		before := e.Size(t)
		resp := e.Do(t, "POST", p, tc.token, js, tc.body)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Reason != tc.reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.reason)
		}
	}
	// An independent reviewer may view the evidence while the contest is
	// open; a reviewer of the flag may not.
	for _, tc := range []struct {
		token  string
		status int
	}{{r3, 200}, {r1, 403}} {
		resp := e.evidence(t, tc.token, f, e.location[0])
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("evidence during the contest: %d, want %d", resp.StatusCode, tc.status)
		}
	}
	// Two independent reviewers resolve at once: one resolution.
	before = e.Size(t)
	codes := atOnce(2, func(i int) *http.Response {
		return e.Do(t, "POST", path, []string{r3, r4}[i], js, `{"outcome":"overturned","rationale":"the person's employer confirms they were at work"}`)
	})
	if codes[0]+codes[1] != 201+409 || e.Size(t) != before+1 {
		t.Fatalf("two resolutions at once: %v, %d entries", codes, e.Size(t)-before)
	}
	if c, ok := entryAt(t, e.Env, before).(*entry.Contest); !ok || c.Op != entry.OpResolved || c.Outcome != ombud.ContestOverturned || c.By == "" {
		t.Fatalf("the resolution's entry: %+v", c)
	}
	cs, err := svc.Lookup(ctx, taken.Notice)
	if err != nil || cs.Contest == nil || cs.Contest.Outcome != ombud.ContestOverturned || len(cs.Confirmations) != 2 || cs.Version == nil {
		t.Fatalf("the case after resolution: %+v %v", cs, err)
	}
	if open := decode[[]apiv1.Contest](t, e.Do(t, "GET", "/v1/contests", r3, "", "")); len(open) != 0 {
		t.Fatalf("a resolved contest is still open: %+v", open)
	}
	if resp := e.evidence(t, r3, f, e.location[0]); resp.StatusCode != 403 {
		t.Fatalf("evidence after the contest's resolution: %d", resp.StatusCode)
	}
}

func receiptOf(t *testing.T, resp *http.Response) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	if err != nil {
		t.Fatalf("no receipt: %v", err)
	}
	return n
}

// TestEvidenceAgainstItsEnd: viewings of a flag's evidence at the same
// time as the action that ends them are each logged before the action, or
// refused; likewise against the revocation of the run's authorization.
func TestEvidenceAgainstItsEnd(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 20))
	const js = "application/json"
	viewers := []string{e.AddPrincipal(t, "Ria", ombud.RoleReviewer), e.AddPrincipal(t, "Raj", ombud.RoleReviewer), e.AddPrincipal(t, "Rex", ombud.RoleReviewer)}
	check := func(name string, from uint64, end func(entry.Body) bool) {
		t.Helper()
		ended := false
		for _, b := range entriesFrom(t, e.Env, from) {
			if end(b) {
				ended = true
			}
			if a, ok := b.(*entry.Access); ok && ended && a.Flag != "" && a.Decision == entry.Permit {
				t.Fatalf("%s: a viewing logged after its end", name)
			}
		}
		if !ended {
			t.Fatalf("%s: the ending change was not logged", name)
		}
	}
	race := func(f string, end func() *http.Response) uint64 {
		from := e.Size(t)
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := e.evidence(t, viewers[i%3], f, e.location[i%2])
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := end()
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Errorf("the ending change: %d", resp.StatusCode)
			}
		}()
		wg.Wait()
		return from
	}
	for range 3 {
		f := e.reviewedFlag(t)
		for _, tok := range []string{e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer)} {
			e.confirm(t, tok, f, "agree").Body.Close()
		}
		from := race(f, func() *http.Response {
			return e.Do(t, "POST", "/v1/actions", e.analyst, js, `{"flag":"`+f+`","kind":"no_action"}`)
		})
		check("against the action", from, func(b entry.Body) bool { _, ok := b.(*entry.Action); return ok })
	}
	f := e.reviewedFlag(t)
	from := race(f, func() *http.Response {
		return e.Do(t, "POST", "/v1/authorizations/auth-e/revoke", e.AdminToken, js, `{"reason":"order_quashed"}`)
	})
	check("against the revocation", from, func(b entry.Body) bool {
		a, ok := b.(*entry.Authorization)
		return ok && a.Op == entry.OpRevoke
	})
}
