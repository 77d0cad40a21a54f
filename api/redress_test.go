package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/report"
)

const js = "application/json"

// refusedWith sends a request and checks its refusal: status, reason, and
// that the log is unchanged.
func (e *runEnv) refusedWith(t *testing.T, name string, status int, reason string, send func() *http.Response) {
	t.Helper()
	before := e.Size(t)
	resp := send()
	body := decode[apiv1.ErrorBody](t, resp)
	if resp.StatusCode != status || body.Error.Reason != reason || e.Size(t) != before {
		t.Errorf("%s: %d %+v (%d entries), want %d %s and nothing logged", name, resp.StatusCode, body.Error, e.Size(t)-before, status, reason)
	}
}

func (e *runEnv) review(t *testing.T, token, flag, verdict string) *http.Response {
	t.Helper()
	return e.Do(t, "POST", "/v1/flags/"+flag+"/reviews", token, js, `{"verdict":"`+verdict+`","rationale":"checked against the source image"}`)
}

func (e *runEnv) act(t *testing.T, flag, kind string) *http.Response {
	t.Helper()
	return e.Do(t, "POST", "/v1/actions", e.analyst, js, `{"flag":"`+flag+`","kind":"`+kind+`"}`)
}

// mustCreate checks a 201.
func mustCreate(t *testing.T, name string, resp *http.Response) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("%s: %d %s", name, resp.StatusCode, b)
	}
}

// queued reports whether flag is in token's review queue.
func (e *runEnv) queued(t *testing.T, token, flag string) bool {
	t.Helper()
	q := decode[[]apiv1.Flag](t, e.Do(t, "GET", "/v1/flags/awaiting", token, "", ""))
	return slices.ContainsFunc(q, func(f apiv1.Flag) bool { return f.ID == flag })
}

// TestRedressRejectionCloses: one rejection closes a flag. Another
// reviewer's confirmation or rejection and an action (even after two
// confirmations) are refused flag_rejected, logging nothing; the flag
// leaves every queue; a viewing of its evidence is a logged denial with
// the reason flag_rejected.
func TestRedressRejectionCloses(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10))
	f := e.reviewedFlag(t)
	r1, r2, r3, r4, r5 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer),
		e.AddPrincipal(t, "Ria", ombud.RoleReviewer), e.AddPrincipal(t, "Raj", ombud.RoleReviewer), e.AddPrincipal(t, "Rex", ombud.RoleReviewer)
	mustCreate(t, "a confirmation", e.confirm(t, r1, f, "agree"))
	mustCreate(t, "a second confirmation", e.confirm(t, r2, f, "agree"))
	// r4 views every input before the rejection, so only the rejection
	// can refuse their confirmation.
	e.viewInputs(t, r4, f)
	if !e.queued(t, r4, f) || !e.queued(t, r5, f) {
		t.Fatal("the flag is not queued before its rejection")
	}
	mustCreate(t, "a rejection", e.review(t, r3, f, "reject"))
	e.refusedWith(t, "an action after two confirmations and a rejection", 409, reason.FlagRejected, func() *http.Response { return e.act(t, f, "referral") })
	e.refusedWith(t, "a confirmation after a rejection", 409, reason.FlagRejected, func() *http.Response { return e.review(t, r4, f, "confirm") })
	e.refusedWith(t, "a rejection after a rejection", 409, reason.FlagRejected, func() *http.Response { return e.review(t, r5, f, "reject") })
	for _, tok := range []string{r4, r5} {
		if e.queued(t, tok, f) {
			t.Error("a rejected flag is still queued")
		}
	}
	before := e.Size(t)
	resp := e.evidence(t, r5, f, e.location[0])
	body := decode[apiv1.ErrorBody](t, resp)
	if resp.StatusCode != 403 || body.Error.Reason != reason.FlagRejected || e.Size(t) != before+1 {
		t.Fatalf("a viewing of a rejected flag's evidence: %d %+v, %d entries", resp.StatusCode, body.Error, e.Size(t)-before)
	}
	if a, ok := entryAt(t, e.Env, before).(*entry.Access); !ok || a.Decision != entry.Deny || a.Flag == "" || !slices.Contains(a.Reasons, reason.FlagRejected) {
		t.Fatalf("the denial: %+v", a)
	}
}

// TestRedressBlindReviews: the queue tells a reviewer nothing of the
// reviews before theirs: no counts, no keys for them.
func TestRedressBlindReviews(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10))
	f := e.reviewedFlag(t)
	r1, r2 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	mustCreate(t, "a confirmation", e.confirm(t, r1, f, "agree"))
	resp := e.Do(t, "GET", "/v1/flags/awaiting", r2, "", "")
	q := decode[[]map[string]json.RawMessage](t, resp)
	if len(q) != 1 || string(q[0]["id"]) != `"`+f+`"` {
		t.Fatalf("the queue: %v", q)
	}
	for k := range q[0] {
		if strings.Contains(k, "confirm") || strings.Contains(k, "reject") || strings.Contains(k, "review") {
			t.Errorf("the queue tells of other reviews: %q: %s", k, q[0][k])
		}
	}
	// A reviewer who is an analyst too learns nothing by trying to act on
	// a flag they may still review: refused before the reviews are
	// counted, whatever they are.
	dual := e.AddPrincipal(t, "Dee", ombud.RoleReviewer, ombud.RoleAnalyst)
	for _, tc := range []struct{ name, flag string }{{"one confirmation", f}, {"none", e.reviewedFlag(t)}} {
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/actions", dual, js, `{"flag":"`+tc.flag+`","kind":"referral"}`)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != 403 || body.Error.Reason != reason.NotIndependent || strings.ContainsAny(body.Error.Message, "0123456789") || e.Size(t) != before {
			t.Errorf("an action by a reviewer who may still review (%s): %d %+v", tc.name, resp.StatusCode, body.Error)
		}
	}
}

// TestRedressConfirmationNeedsViewing: a confirmation needs the reviewer's
// own logged viewing of every input of the flag; a reference image, part
// of the inputs or another reviewer's viewing does not do. A rejection
// needs none.
func TestRedressConfirmationNeedsViewing(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10))
	run := e.readRun(t, e.machine, "auth-e", 0, e.location[:3]...)
	b, _ := json.Marshal(apiv1.CreateFlag{Run: run.ID, Inputs: []string{e.location[0], e.location[2]}, Candidates: []string{"plate:B-XY-123"}, References: e.location[1:2],
		Rank: 1, Score: 0.93, Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 120000})
	resp := e.Do(t, "POST", "/v1/flags", e.machine, js, string(b))
	f := decode[apiv1.FlagCreated](t, resp).ID
	r1, r2, r3 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer), e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	view := func(token, object string) {
		t.Helper()
		resp := e.evidence(t, token, f, object)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("viewing %s: %d", object, resp.StatusCode)
		}
	}
	notViewed := func(name string) {
		t.Helper()
		e.refusedWith(t, name, 409, reason.EvidenceNotViewed, func() *http.Response { return e.review(t, r1, f, "confirm") })
	}
	notViewed("a confirmation without a viewing")
	e.viewInputs(t, r2, f)
	notViewed("a confirmation after another reviewer's viewings")
	view(r1, e.location[1])
	notViewed("a confirmation after a viewing of the reference only")
	view(r1, e.location[0])
	notViewed("a confirmation after a viewing of one input of two")
	view(r1, e.location[2])
	mustCreate(t, "a confirmation after a viewing of every input", e.review(t, r1, f, "confirm"))
	mustCreate(t, "a rejection without a viewing", e.review(t, r3, f, "reject"))
}

// TestRedressRevocationEnds: a revoked authorization ends its run's
// flags, reviews and actions (authorization_revoked, nothing logged), and
// its flags leave the review queue; an expired one ends them too
// (authorization_expired).
func TestRedressRevocationEnds(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 20), ombudtest.Authorization("auth-x", 20))
	r1, r2, r3 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer), e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	pending := e.reviewedFlag(t) // to be reviewed after the revocation
	e.viewInputs(t, r1, pending)
	confirmed := e.reviewedFlag(t) // to be acted on after it
	mustCreate(t, "a confirmation", e.confirm(t, r1, confirmed, "agree"))
	mustCreate(t, "a confirmation", e.confirm(t, r2, confirmed, "agree"))
	run := e.readRun(t, e.machine, "auth-e", 0, e.location[:3]...) // to be flagged after it
	resp := e.Do(t, "POST", "/v1/authorizations/auth-e/revoke", e.AdminToken, js, `{"reason":"order_quashed"}`)
	if resp.Body.Close(); resp.StatusCode >= 300 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	e.refusedWith(t, "a flag", 409, reason.AuthRevoked, func() *http.Response {
		b, _ := json.Marshal(apiv1.CreateFlag{Run: run.ID, Inputs: e.location[2:3], Candidates: []string{"plate:B-XY-123"}, Rank: 1, Score: 0.93, Threshold: 0.85,
			ReferenceDB: "watchlist", GallerySize: 120000})
		return e.Do(t, "POST", "/v1/flags", e.machine, js, string(b))
	})
	e.refusedWith(t, "a confirmation", 409, reason.AuthRevoked, func() *http.Response { return e.review(t, r1, pending, "confirm") })
	e.refusedWith(t, "a rejection", 409, reason.AuthRevoked, func() *http.Response { return e.review(t, r3, pending, "reject") })
	e.refusedWith(t, "an action", 409, reason.AuthRevoked, func() *http.Response { return e.act(t, confirmed, "referral") })
	// A flag whose run's authorization was revoked leaves the queue: no
	// one may review it.
	if e.queued(t, r3, pending) {
		t.Error("a flag of a revoked authorization's run is still queued")
	}

	// Expiry: past the authorization's not_after (24 hours on), its
	// runs' flags, reviews and actions end.
	flagX := func(run string) string {
		b, _ := json.Marshal(apiv1.CreateFlag{Run: run, Inputs: e.location[:1], Candidates: []string{"plate:B-XY-123"}, References: e.location[1:2], Rank: 1, Score: 0.93,
			Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 120000})
		return string(b)
	}
	runs := make([]string, 3)
	for i := range runs {
		runs[i] = e.readRun(t, e.machine, "auth-x", 0, e.location[:2]...).ID
	}
	expiring := decode[apiv1.FlagCreated](t, e.Do(t, "POST", "/v1/flags", e.machine, js, flagX(runs[0]))).ID
	e.viewInputs(t, r1, expiring)
	confirmedX := decode[apiv1.FlagCreated](t, e.Do(t, "POST", "/v1/flags", e.machine, js, flagX(runs[1]))).ID
	mustCreate(t, "a confirmation", e.confirm(t, r1, confirmedX, "agree"))
	mustCreate(t, "a confirmation", e.confirm(t, r2, confirmedX, "agree"))
	if !e.queued(t, r2, expiring) {
		t.Fatal("a flag is not queued within its authorization's window")
	}
	e.reviewed.Store(int64(25 * time.Hour))
	if e.queued(t, r2, expiring) {
		t.Error("a flag of an expired authorization's run is still queued")
	}
	e.refusedWith(t, "a flag past the authorization's end", 409, reason.AuthExpired, func() *http.Response {
		return e.Do(t, "POST", "/v1/flags", e.machine, js, flagX(runs[2]))
	})
	e.refusedWith(t, "a confirmation past the authorization's end", 409, reason.AuthExpired, func() *http.Response { return e.review(t, r1, expiring, "confirm") })
	e.refusedWith(t, "a rejection past the authorization's end", 409, reason.AuthExpired, func() *http.Response { return e.review(t, r2, expiring, "reject") })
	e.refusedWith(t, "an action past the authorization's end", 409, reason.AuthExpired, func() *http.Response { return e.act(t, confirmedX, "referral") })
}

// TestRedressRevocationAgainstPipeline: a review, and an action, sent at
// the same time as the revocation of its run's authorization, is either
// logged before the revocation or refused; never logged after it.
func TestRedressRevocationAgainstPipeline(t *testing.T) {
	t.Parallel()
	const rounds = 3
	var auths []ombud.Authorization
	for i := range 2 * rounds {
		auths = append(auths, ombudtest.Authorization("auth-"+string(rune('a'+i)), 10))
	}
	e := newRunEnv(t, auths...)
	r1, r2 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer)
	flagUnder := func(auth string) string {
		run := e.readRun(t, e.machine, auth, 0, e.location[:2]...)
		b, _ := json.Marshal(apiv1.CreateFlag{Run: run.ID, Inputs: e.location[:1], Candidates: []string{"plate:B-XY-123"}, References: e.location[1:2], Rank: 1, Score: 0.93,
			Threshold: 0.85, ReferenceDB: "watchlist", GallerySize: 120000})
		return decode[apiv1.FlagCreated](t, e.Do(t, "POST", "/v1/flags", e.machine, js, string(b))).ID
	}
	// race sends change and the revocation of auth at once, then checks
	// the log from before them: the revocation is logged, and the change
	// is logged before it or refused with a why.
	race := func(name, auth string, change func() *http.Response, isChange func(entry.Body) bool) {
		t.Helper()
		from := e.Size(t)
		var status, revoked int
		var why string
		atOnce(2, func(i int) *http.Response {
			if i == 1 {
				// A revocation waits for a change in flight; retried a
				// bounded number of times should it still find one.
				var resp *http.Response
				for try := 0; try < 5; try++ {
					resp = e.Do(t, "POST", "/v1/authorizations/"+auth+"/revoke", e.AdminToken, js, `{"reason":"order_quashed"}`)
					if revoked = resp.StatusCode; revoked < 300 {
						break
					}
					resp.Body.Close()
				}
				return resp
			}
			resp := change()
			status = resp.StatusCode
			if status >= 300 {
				b, _ := io.ReadAll(resp.Body)
				var eb apiv1.ErrorBody
				json.Unmarshal(b, &eb)
				why = eb.Error.Reason
			}
			return resp
		})
		if revoked >= 300 {
			t.Fatalf("%s: the revocation: %d", name, revoked)
		}
		t.Logf("%s: %d %s", name, status, why)
		revokedAt, changedAt := -1, -1
		for i, b := range entriesFrom(t, e.Env, from) {
			if a, ok := b.(*entry.Authorization); ok && a.Op == entry.OpRevoke {
				revokedAt = i
			}
			if isChange(b) {
				changedAt = i
			}
		}
		switch {
		case revokedAt < 0:
			t.Fatalf("%s: the revocation is not logged", name)
		case status == 201 && (changedAt < 0 || changedAt > revokedAt):
			t.Fatalf("%s: accepted, logged at %d, the revocation at %d", name, changedAt, revokedAt)
		case status != 201 && changedAt >= 0:
			t.Fatalf("%s: refused (%d %s) and logged", name, status, why)
		case status != 201 && (status != 409 || why != reason.AuthRevoked):
			t.Errorf("%s: refused %d %q, want 409 %s", name, status, why, reason.AuthRevoked)
		}
	}
	for i := range rounds {
		auth := auths[2*i].ID
		f := flagUnder(auth)
		e.viewInputs(t, r1, f)
		race("a review against the revocation", auth, func() *http.Response { return e.review(t, r1, f, "confirm") },
			func(b entry.Body) bool { _, ok := b.(*entry.Review); return ok })

		auth = auths[2*i+1].ID
		g := flagUnder(auth)
		mustCreate(t, "a confirmation", e.confirm(t, r1, g, "agree"))
		mustCreate(t, "a confirmation", e.confirm(t, r2, g, "agree"))
		race("an action against the revocation", auth, func() *http.Response { return e.act(t, g, "referral") },
			func(b entry.Body) bool { _, ok := b.(*entry.Action); return ok })
	}
}

// TestRedressBelowThreshold: a flag scored below its own threshold is
// refused (below_threshold, nothing logged) from a plate reader and from
// a face identification system; a face investigation system, which lists
// candidates for a person to examine, may raise one.
func TestRedressBelowThreshold(t *testing.T) {
	t.Parallel()
	bio := ombudtest.Authorization("auth-b", 10)
	bio.Classes, bio.Subjects = []string{"biometric"}, []string{"person:17"}
	e := newRunEnv(t, ombudtest.Authorization("auth-e", 10), bio)
	below := func(run string, inputs []string, candidate string) string {
		b, _ := json.Marshal(apiv1.CreateFlag{Run: run, Inputs: inputs, Candidates: []string{candidate}, Rank: 1, Score: 0.41, Threshold: 0.85,
			ReferenceDB: "watchlist", GallerySize: 120000})
		return string(b)
	}
	run := e.readRun(t, e.machine, "auth-e", 0, e.location[:1]...)
	e.refusedWith(t, "a plate reader below its threshold", 400, reason.BelowThreshold, func() *http.Response {
		return e.Do(t, "POST", "/v1/flags", e.machine, js, below(run.ID, e.location[:1], "plate:B-XY-123"))
	})
	// A machine does not lower the bar by stating a lower threshold: the
	// version's registered operating threshold (0.9) counts too.
	for _, low := range []string{`"score":0.05,"threshold":0.01`, `"score":0,"threshold":0`, `"score":-1,"threshold":-2`, `"score":0.88,"threshold":0.85`} {
		body := strings.Replace(below(run.ID, e.location[:1], "plate:B-XY-123"), `"score":0.41,"threshold":0.85`, low, 1)
		if !strings.Contains(body, low) {
			t.Fatalf("the body: %s", body)
		}
		e.refusedWith(t, "a plate reader stating a threshold below its registered one ("+low+")", 400, reason.BelowThreshold, func() *http.Response {
			return e.Do(t, "POST", "/v1/flags", e.machine, js, body)
		})
	}
	e.RegisterContract(t, "ocds-abc123-2026-17")
	face := func(name, task string) (token, runID string) {
		sys := replace(replace(frs, `"task":"face_identification"`, `"task":"`+task+`"`), `"name":"vendor-x-frs"`, `"name":"`+name+`"`)
		resp := e.Do(t, "POST", "/v1/systems", e.AdminToken, js, sys)
		id := decode[apiv1.SystemVersionDone](t, resp).ID
		resp = e.Do(t, "POST", "/v1/principals", e.AdminToken, js, `{"name":"`+name+` runner","roles":["system"],"system":"`+id+`"}`)
		token = decode[apiv1.Principal](t, resp).Token
		c := e.client(t, token)
		r, err := c.StartRun(t.Context(), apiv1.StartRun{System: id, Version: "4.2.1", Purpose: "criminal_investigation", Authorization: "auth-b", Objects: []string{e.bio}})
		if err != nil {
			t.Fatalf("%s: a run: %v", name, err)
		}
		drain(t, c, r.ID, 0)
		return token, r.ID
	}
	tok, id := face("frs-identify", "face_identification")
	e.refusedWith(t, "a face identification system below its threshold", 400, reason.BelowThreshold, func() *http.Response {
		return e.Do(t, "POST", "/v1/flags", tok, js, below(id, []string{e.bio}, "person:17"))
	})
	tok, id = face("frs-investigate", "face_investigation")
	resp := e.Do(t, "POST", "/v1/flags", tok, js, below(id, []string{e.bio}, "person:17"))
	if f := decode[apiv1.FlagCreated](t, resp); resp.StatusCode != 201 || f.ID == "" {
		t.Fatalf("a face investigation candidate below the threshold: %d %+v", resp.StatusCode, f)
	}
}

// actedFlag raises a flag, has it confirmed by two reviewers and takes
// the action kind on it as the env's analyst.
func (e *runEnv) actedFlag(t *testing.T, kind string, reviewers ...string) apiv1.ActionTaken {
	t.Helper()
	run := e.readRun(t, e.analyst, "", 0, e.general)
	f := decode[apiv1.FlagCreated](t, e.Do(t, "POST", "/v1/flags", e.machine, js, flagBody(run.ID, e.general))).ID
	for _, r := range reviewers {
		mustCreate(t, "a confirmation", e.confirm(t, r, f, "agree"))
	}
	resp := e.act(t, f, kind)
	taken := decode[apiv1.ActionTaken](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("an action: %d", resp.StatusCode)
	}
	return taken
}

// contest files a contest of the action with notice code and returns its
// id and the filing's receipt.
func (e *runEnv) contest(t *testing.T, code string) (string, uint64) {
	t.Helper()
	cs, w, err := e.Gateway.Review.File(t.Context(), code, "it was not me")
	if err != nil || cs.Contest == nil {
		t.Fatalf("filing a contest: %v", err)
	}
	return cs.Contest.ID, w.Index
}

func (e *runEnv) resolve(t *testing.T, token, contest, outcome string) apiv1.ContestResolved {
	t.Helper()
	if outcome == ombud.ContestUpheld {
		// Upholding needs the resolver's viewing of every input.
		e.viewInputs(t, token, e.contestFlag(t, contest))
	}
	resp := e.Do(t, "POST", "/v1/contests/"+contest+"/resolution", token, js, `{"outcome":"`+outcome+`","rationale":"the employer confirms the alibi"}`)
	res := decode[apiv1.ContestResolved](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("a resolution: %d", resp.StatusCode)
	}
	return res
}

// contestFlag returns the flag of a contest's action.
func (e *runEnv) contestFlag(t *testing.T, contest string) string {
	t.Helper()
	ct, err := e.Gateway.Store.Contest(t.Context(), contest)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Gateway.Store.Action(t.Context(), ct.Action)
	if err != nil {
		t.Fatal(err)
	}
	return a.Flag
}

func (e *runEnv) action(t *testing.T, token, id string) apiv1.Action {
	t.Helper()
	resp := e.Do(t, "GET", "/v1/actions/"+id, token, "", "")
	a := decode[apiv1.Action](t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET the action: %d", resp.StatusCode)
	}
	return a
}

// TestRedressWithdrawal: an action answers with its notice, in plain text
// and as a page; it stands until a contest of it is overturned, which
// withdraws it, as GET /v1/actions/{id} and the analyst's list show. Only
// the analyst who took it, an auditor and an admin see it; an upheld
// contest leaves it standing.
func TestRedressWithdrawal(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	r1, r2, r3 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer), e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	taken := e.actedFlag(t, "questioning", r1, r2)
	if taken.Notice == "" || !strings.Contains(taken.NoticeText, taken.Notice) || !strings.Contains(taken.NoticeText, "contest") || taken.NoticePage == "" {
		t.Fatalf("the action's notice: %+v", taken)
	}
	if a := e.action(t, e.analyst, taken.ID); a.Status != apiv1.ActionStanding || a.WithdrawnAt != nil || a.Contest != nil {
		t.Fatalf("a fresh action: %+v", a)
	}
	ct, filed := e.contest(t, taken.Notice)
	res := e.resolve(t, r3, ct, ombud.ContestOverturned)
	// The resolution's public entry names the action it withdraws.
	f, ok1 := entryAt(t, e.Env, filed).(*entry.Contest)
	r, ok2 := entryAt(t, e.Env, res.Receipt).(*entry.Contest)
	if !ok1 || !ok2 || r.Op != entry.OpResolved || r.Outcome != ombud.ContestOverturned || r.Action == "" || r.Action != f.Action {
		t.Fatalf("the resolution's entry: %+v, the filing's: %+v", r, f)
	}
	a := e.action(t, e.analyst, taken.ID)
	if a.Status != apiv1.ActionWithdrawn || a.WithdrawnAt == nil || a.WithdrawnReceipt != res.Receipt || a.Contest == nil || a.Contest.ID != ct ||
		a.Contest.Outcome != ombud.ContestOverturned {
		t.Fatalf("an action whose contest was overturned: %+v %+v, resolution %+v", a, a.Contest, res)
	}
	resp := e.Do(t, "GET", "/v1/actions", e.analyst, "", "")
	if list := decode[[]apiv1.Action](t, resp); len(list) != 1 || list[0].ID != taken.ID || list[0].Status != apiv1.ActionWithdrawn {
		t.Fatalf("the analyst's actions: %+v", list)
	}
	other := e.AddPrincipal(t, "Abe", ombud.RoleAnalyst)
	if resp := e.Do(t, "GET", "/v1/actions/"+taken.ID, other, "", ""); resp.Body.Close() != nil || resp.StatusCode != 404 {
		t.Errorf("another analyst: %d", resp.StatusCode)
	}
	if list := decode[[]apiv1.Action](t, e.Do(t, "GET", "/v1/actions", other, "", "")); len(list) != 0 {
		t.Errorf("another analyst's list: %+v", list)
	}
	for _, tok := range []string{e.AddPrincipal(t, "Aud", ombud.RoleAuditor), e.AdminToken} {
		if a := e.action(t, tok, taken.ID); a.Status != apiv1.ActionWithdrawn {
			t.Errorf("oversight's view: %+v", a)
		}
	}
	upheld := e.actedFlag(t, "questioning", r1, r2)
	ct, _ = e.contest(t, upheld.Notice)
	// An action stands only on evidence its resolver viewed.
	e.refusedWith(t, "upholding without a viewing", 409, reason.EvidenceNotViewed, func() *http.Response {
		return e.Do(t, "POST", "/v1/contests/"+ct+"/resolution", r3, js, `{"outcome":"upheld","rationale":"it stands"}`)
	})
	e.resolve(t, r3, ct, ombud.ContestUpheld)
	if a := e.action(t, e.analyst, upheld.ID); a.Status != apiv1.ActionStanding || a.WithdrawnAt != nil || a.Contest == nil || a.Contest.Outcome != ombud.ContestUpheld {
		t.Fatalf("an action whose contest was upheld: %+v", a)
	}
}

// TestRedressContestDeadline: a filing logs its deadline (30 days by
// default); a contest is due that long after its filing, and overdue once
// past it unresolved, in the API and in the report computed from the
// public entries; one resolved in time is not.
func TestRedressContestDeadline(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	r1, r2, r3 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer), e.AddPrincipal(t, "Rob", ombud.RoleReviewer), e.AddPrincipal(t, "Ria", ombud.RoleReviewer)
	late := e.actedFlag(t, "questioning", r1, r2)
	ct, at := e.contest(t, late.Notice)
	if c, ok := entryAt(t, e.Env, at).(*entry.Contest); !ok || c.Op != entry.OpFiled || c.DeadlineDays != 30 {
		t.Fatalf("the filing's entry: %+v", c)
	}
	leaves, err := e.Log.Leaves(t.Context(), at, at+1)
	if err != nil {
		t.Fatal(err)
	}
	en, err := entry.Parse(leaves[0])
	if err != nil || !strings.Contains(string(leaves[0]), `"deadline_days":30`) {
		t.Fatalf("the filing's leaf: %v %s", err, leaves[0])
	}
	due := en.Time.Add(30 * 24 * time.Hour)
	a := e.action(t, e.analyst, late.ID)
	if c := a.Contest; c == nil || c.ID != ct || c.Due == nil || !c.Due.Equal(due) || c.Due.Sub(c.Filed.Add(30*24*time.Hour)).Abs() > time.Second || c.Overdue {
		t.Fatalf("an open contest within its deadline: %+v, due %v", c, due)
	}
	inTime := e.actedFlag(t, "questioning", r1, r2)
	ct2, _ := e.contest(t, inTime.Notice)
	e.resolve(t, r3, ct2, ombud.ContestUpheld)

	// 31 days on.
	e.reviewed.Store(int64(31 * 24 * time.Hour))
	if c := e.action(t, e.analyst, late.ID).Contest; c == nil || !c.Overdue {
		t.Fatalf("an open contest past its deadline: %+v", c)
	}
	if c := e.action(t, e.analyst, inTime.ID).Contest; c == nil || c.Overdue {
		t.Fatalf("a contest resolved in time: %+v", c)
	}
	// The report, from the public entries: a later entry shows the open
	// contest past its due time.
	period := report.Period{Name: "due", Start: due.Add(-24 * time.Hour).Truncate(24 * time.Hour), End: due.Add(48 * time.Hour).Truncate(24 * time.Hour)}
	compute := func() *report.Report {
		t.Helper()
		size := e.Size(t)
		e.AwaitSize(t, size)
		leaves, err := e.Log.Leaves(t.Context(), 0, size)
		if err != nil {
			t.Fatal(err)
		}
		return report.Compute(report.Options{Origin: "test", Period: period}, slices.Values(leaves))
	}
	if r := compute(); r.ContestsOverdue != nil {
		t.Fatalf("overdue before any entry past the due time: %+v", r.ContestsOverdue)
	}
	e.logged.Store(int64(31 * 24 * time.Hour))
	e.AddPrincipal(t, "Late", ombud.RoleAnalyst)
	if r := compute(); r.ContestsOverdue == nil || r.ContestsOverdue.N != 1 {
		t.Fatalf("the report's overdue contests: %+v", r.ContestsOverdue)
	}
	// The auditor, from the public log alone (no token), by its own clock
	// 31 days on: the open contest is overdue, the one resolved in time is
	// not.
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := audit.Run(t.Context(), audit.Config{Log: *f, Verifier: e.Dir.Verifier, Now: func() time.Time { return due.Add(24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	var overdue []string
	for _, f := range res.Findings {
		if f.Rule == audit.RuleContestOverdue {
			overdue = append(overdue, f.Message)
		}
	}
	if len(overdue) != 1 {
		t.Fatalf("the auditor's overdue contests: %v (all findings: %+v)", overdue, res.Findings)
	}
}
