package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
)

func flagBody(run string, inputs ...string) string {
	b, _ := json.Marshal(apiv1.CreateFlag{Run: run, Inputs: inputs, Candidates: []string{"person:4711"}, Rank: 1, Score: 0.93, Threshold: 0.85,
		OperatingPoint: "fpir-1e-3", ReferenceDB: "watchlist", GallerySize: 120000})
	return string(b)
}

// TestFlags: a run's machine records a flag on an object it read, logged
// with the run and the match's figures and no identifier in the clear;
// an input the run did not read, a closed run and a retired version are
// refused with their own reasons and log nothing; someone else's run is
// not found; a flag and the run's close at once are ordered.
func TestFlags(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-1", 5))
	ctx := t.Context()
	mc := e.client(t, e.machine)
	run := e.readRun(t, e.machine, "auth-1", 3, e.location...) // reads positions 3 and 4 only
	const js = "application/json"
	resp := e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.location[3]))
	f := decode[apiv1.FlagCreated](t, resp)
	if resp.StatusCode != 201 || f.ID == "" {
		t.Fatalf("a flag: %d %+v", resp.StatusCode, f)
	}
	b, ok := entryAt(t, e.Env, f.Receipt).(*entry.Flag)
	if !ok || b.Run == "" || b.ModelVersion != "2.0" || b.System != "plate-reader" || b.ReferenceDB != "watchlist" || b.GallerySize != 120000 || b.OperatingPoint != "fpir-1e-3" ||
		len(b.Input) != 1 || len(b.Candidate) != 1 || b.Candidate[0] == "person:4711" {
		t.Fatalf("the flag's entry: %+v", b)
	}
	e.AwaitSize(t, f.Receipt+1)
	leaves, _ := e.Log.Leaves(ctx, f.Receipt, e.Size(t))
	if raw := string(leaves[0]); strings.Contains(raw, "4711") || strings.Contains(raw, e.location[3]) || strings.Contains(raw, run.ID) {
		t.Fatalf("an identifier in the public entry: %s", raw)
	}
	for _, tc := range []struct {
		name, token, body string
		status            int
		reason            string
	}{
		{"an input the run did not read", e.machine, flagBody(run.ID, e.location[0]), 409, reason.InputNotRead},
		{"someone else's run", e.analyst, flagBody(run.ID, e.location[3]), 404, ""},
		{"an admin", e.AdminToken, flagBody(run.ID, e.location[3]), 403, ""},
		{"no candidates", e.machine, strings.Replace(flagBody(run.ID, e.location[3]), `["person:4711"]`, `[]`, 1), 400, ""},
		{"free text as reference database", e.machine, strings.Replace(flagBody(run.ID, e.location[3]), `"watchlist"`, `"Bob's list"`, 1), 400, ""},
		{"free text as operating point", e.machine, strings.Replace(flagBody(run.ID, e.location[3]), `"fpir-1e-3"`, `"Bob Smith"`, 1), 400, ""},
		{"rank 0", e.machine, strings.Replace(flagBody(run.ID, e.location[3]), `"rank":1`, `"rank":0`, 1), 400, ""},
	} {
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/flags", tc.token, js, tc.body)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Reason != tc.reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v (%d entries), want %d %s", tc.name, resp.StatusCode, body.Error, e.Size(t)-before, tc.status, tc.reason)
		}
	}
	// A flag and the run's close at once.
	from := e.Size(t)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		resp := e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.location[4]))
		resp.Body.Close()
	}()
	go func() {
		defer wg.Done()
		if _, err := mc.CloseRun(ctx, run.ID); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	closed := false
	for _, b := range entriesFrom(t, e.Env, from) {
		switch b := b.(type) {
		case *entry.Run:
			closed = closed || b.Op == entry.OpClose
		case *entry.Flag:
			if closed {
				t.Fatal("a flag logged after its run's close")
			}
		}
	}
	// A closed run, then a retired version.
	resp = e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.location[4]))
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Reason != reason.RunClosed {
		t.Fatalf("a flag on a closed run: %d %+v", resp.StatusCode, body.Error)
	}
	run2 := e.readRun(t, e.analyst, "", 0, e.general)
	e.Do(t, "POST", "/v1/systems/"+e.system+"/versions/2.0/retire", e.AdminToken, "", "").Body.Close()
	resp = e.Do(t, "POST", "/v1/flags", e.analyst, js, flagBody(run2.ID, e.general))
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Reason != reason.VersionRetired {
		t.Fatalf("a flag on a retired version: %d %+v", resp.StatusCode, body.Error)
	}
}

// TestReviews: two independent reviewers confirm or reject a flag, each
// logged with the rationale kept private; the flag's creator, the run's
// starter, a second review by one reviewer (even at the same time), an
// unknown flag and the wrong role are refused, logging nothing.
func TestReviews(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	run := e.readRun(t, e.analyst, "", 0, e.general)
	const js = "application/json"
	resp := e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.general))
	f := decode[apiv1.FlagCreated](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("a flag: %d", resp.StatusCode)
	}
	r1 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer)
	r2 := e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	starterReviewer := e.AddPrincipal(t, "Sam", ombud.RoleReviewer, ombud.RoleAnalyst)
	path := "/v1/flags/" + f.ID + "/reviews"
	confirm := `{"verdict":"confirm","rationale":"the plate in the image is B-XY-123; the candidate's registration matches"}`
	// One reviewer, twice at once: one review, logged once.
	e.viewInputs(t, r1, f.ID)
	before := e.Size(t)
	codes := atOnce(2, func(int) *http.Response { return e.Do(t, "POST", path, r1, js, confirm) })
	if codes[0]+codes[1] != 201+409 || e.Size(t) != before+1 {
		t.Fatalf("one reviewer twice at once: %v, %d entries", codes, e.Size(t)-before)
	}
	resp = e.Do(t, "POST", path, r2, js, `{"verdict":"reject","rationale":"the image is too blurred to read"}`)
	rv := decode[apiv1.Reviewed](t, resp)
	if resp.StatusCode != 201 || rv.Verdict != "reject" {
		t.Fatalf("a second reviewer: %d %+v", resp.StatusCode, rv)
	}
	b, ok := entryAt(t, e.Env, rv.Receipt).(*entry.Review)
	e.AwaitSize(t, rv.Receipt+1)
	leaves, _ := e.Log.Leaves(ctx, rv.Receipt, e.Size(t))
	if !ok || b.Outcome != entry.Reject || b.Flag == "" || strings.Contains(string(leaves[0]), "blurred") {
		t.Fatalf("the review's entry: %+v %s", b, leaves[0])
	}
	for _, tc := range []struct {
		name, token, path, body string
		status                  int
		reason                  string
	}{
		{"the same reviewer again", r1, path, confirm, 409, reason.AlreadyReviewed},
		{"an analyst", e.analyst, path, confirm, 403, ""},
		{"an unknown flag", r2, "/v1/flags/nosuchflag000000/reviews", confirm, 404, reason.FlagUnknown},
		{"no rationale", starterReviewer, path, `{"verdict":"confirm","rationale":" "}`, 400, ""},
		{"a verdict not in the list", starterReviewer, path, `{"verdict":"maybe","rationale":"x"}`, 400, ""},
	} {
		before := e.Size(t)
		resp := e.Do(t, "POST", tc.path, tc.token, js, tc.body)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Reason != tc.reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.reason)
		}
	}
	// A reviewer who started the run.
	run2 := e.readRun(t, starterReviewer, "", 0, e.general)
	resp = e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run2.ID, e.general))
	f2 := decode[apiv1.FlagCreated](t, resp)
	resp = e.Do(t, "POST", "/v1/flags/"+f2.ID+"/reviews", starterReviewer, js, confirm)
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 403 || body.Error.Reason != reason.NotIndependent {
		t.Fatalf("the run's starter reviewing: %d %+v", resp.StatusCode, body.Error)
	}
}

// TestActions: an action needs two distinct confirmations and no
// rejection (the default policy); refused, it says why and logs nothing;
// taken, it is logged with its reviewers and gives a notice code once.
func TestActions(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	const js = "application/json"
	flag := func() string {
		run := e.readRun(t, e.analyst, "", 0, e.general)
		resp := e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.general))
		return decode[apiv1.FlagCreated](t, resp).ID
	}
	review := func(token, id, verdict string) {
		t.Helper()
		if verdict == "confirm" {
			e.viewInputs(t, token, id)
		}
		resp := e.Do(t, "POST", "/v1/flags/"+id+"/reviews", token, js, `{"verdict":"`+verdict+`","rationale":"checked against the source image"}`)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("review: %d", resp.StatusCode)
		}
	}
	r1 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer)
	r2 := e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	r3 := e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	act := func(id, kind string) *http.Response {
		return e.Do(t, "POST", "/v1/actions", e.analyst, js, `{"flag":"`+id+`","kind":"`+kind+`"}`)
	}
	refused := func(name string, do func() *http.Response, status int, reason string) {
		t.Helper()
		before := e.Size(t)
		resp := do()
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != status || body.Error.Reason != reason || e.Size(t) != before {
			t.Errorf("%s: %d %+v, want %d %s", name, resp.StatusCode, body.Error, status, reason)
		}
	}
	f := flag()
	refused("no review", func() *http.Response { return act(f, "referral") }, 409, reason.NotEnoughConfirmations)
	review(r1, f, "confirm")
	refused("one confirmation", func() *http.Response { return act(f, "referral") }, 409, reason.NotEnoughConfirmations)
	refused("an unknown flag", func() *http.Response { return act("nosuchflag000000", "referral") }, 404, reason.FlagUnknown)
	refused("an unknown kind", func() *http.Response { return act(f, "arrest_now") }, 400, "")
	refused("a machine", func() *http.Response {
		return e.Do(t, "POST", "/v1/actions", e.machine, js, `{"flag":"`+f+`","kind":"referral"}`)
	}, 403, "")
	review(r2, f, "confirm")
	resp := act(f, "referral")
	taken := decode[apiv1.ActionTaken](t, resp)
	if resp.StatusCode != 201 || len(taken.Notice) != 19 {
		t.Fatalf("an action after two confirmations: %d %+v", resp.StatusCode, taken)
	}
	b, ok := entryAt(t, e.Env, taken.Receipt).(*entry.Action)
	if !ok || b.Confirmations != 2 || len(b.Reviewer) != 2 || b.ActionKind != "referral" {
		t.Fatalf("the action's entry: %+v", b)
	}
	e.AwaitSize(t, taken.Receipt+1)
	leaves, _ := e.Log.Leaves(ctx, taken.Receipt, e.Size(t))
	if strings.Contains(string(leaves[0]), taken.Notice) || strings.Contains(string(leaves[0]), strings.ReplaceAll(taken.Notice, "-", "")) {
		t.Fatal("the notice code is in the public entry")
	}
	// One action per flag, even when two are taken at once; then the flag
	// is closed to reviews.
	refused("a second action", func() *http.Response { return act(f, "detention_request") }, 409, reason.FlagActed)
	refused("a review after the action", func() *http.Response {
		return e.Do(t, "POST", "/v1/flags/"+f+"/reviews", r3, js, `{"verdict":"reject","rationale":"late"}`)
	}, 409, reason.FlagActed)
	twin := flag()
	review(r1, twin, "confirm")
	review(r2, twin, "confirm")
	before := e.Size(t)
	codes := atOnce(2, func(int) *http.Response { return act(twin, "referral") })
	if codes[0]+codes[1] != 201+409 || e.Size(t) != before+1 {
		t.Fatalf("two actions at once: %v, %d entries", codes, e.Size(t)-before)
	}
	// Whoever reviewed the flag does not take the action.
	both := e.AddPrincipal(t, "Bea", ombud.RoleReviewer, ombud.RoleAnalyst)
	own := flag()
	review(r1, own, "confirm")
	review(both, own, "confirm")
	refused("a reviewer of the flag acting", func() *http.Response {
		return e.Do(t, "POST", "/v1/actions", both, js, `{"flag":"`+own+`","kind":"referral"}`)
	}, 403, reason.NotIndependent)
	// A rejection blocks, however many confirm.
	g := flag()
	review(r1, g, "confirm")
	review(r2, g, "confirm")
	review(r3, g, "reject")
	refused("a rejected flag", func() *http.Response { return act(g, "referral") }, 409, reason.FlagRejected)
	// no_action gives no notice.
	h := flag()
	review(r1, h, "confirm")
	review(r2, h, "confirm")
	resp = act(h, "no_action")
	if taken := decode[apiv1.ActionTaken](t, resp); resp.StatusCode != 201 || taken.Notice != "" {
		t.Fatalf("no_action: %d %+v", resp.StatusCode, taken)
	}
}

// drain reads a run's stream from position from to its end, discarding it.
func drain(t *testing.T, c *client.Client, run string, from int) {
	t.Helper()
	s, err := c.ReadRun(t.Context(), run, from)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, err := s.Next(); err == nil; p, err = s.Next() {
		io.Copy(io.Discard, p.Body)
	}
}

// atOnce sends n requests at once and returns their statuses, in order.
func atOnce(n int, send func(i int) *http.Response) []int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := send(i)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	return codes
}

// readRun starts a run of the plate reader as token over objects, citing
// auth ("" for none), and reads it from position from to its end.
func (e *runEnv) readRun(t *testing.T, token, auth string, from int, objects ...string) *apiv1.RunStarted {
	t.Helper()
	c := e.client(t, token)
	run, err := c.StartRun(t.Context(), apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: auth, Objects: objects})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, c, run.ID, from)
	return run
}
