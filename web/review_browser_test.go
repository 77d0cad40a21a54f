package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/vocab"
)

// pngOf draws a small picture, so the evidence pages show a real image.
func pngOf(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			cc := c
			if (x/12+y/12)%2 == 0 {
				cc.R, cc.G = cc.G, cc.R
			}
			img.Set(x, y, cc)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// matchScenario registers a face identification system, a court order for
// person:17's biometric records, a CCTV still and a reference photo of
// them, and a run that read both; it raises n flags on the still naming
// the photo as the candidate's reference image.
type matchScenario struct {
	input, reference string
	flags            []string
	analyst          *ombud.Principal
	analystToken     string
}

func newMatchScenario(t *testing.T, e *ombudtest.Env, n int) *matchScenario {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	e.Authorize(t, e.Court(t), ombud.Authorization{ID: "order-17", Kind: "court_order", Case: "3 Gs 117/26", Purposes: []string{"criminal_investigation"},
		Classes: []string{"biometric"}, Subjects: []string{"person:17"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), MaxUses: 10,
		Jurisdiction: ombudtest.Jurisdiction})
	e.RegisterContract(t, "ocds-abc123-2026-17")
	sys, _, err := e.Gateway.Analytics.Register(e.Approved(t, ctx, ombud.OpSystemRegister, ""), registry.System{Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification",
		Classes: []string{"biometric"}, ImpactAssessment: "fria-2026-07", Contract: "ocds-abc123-2026-17",
		Version: registry.Version{Version: "5.0.0", Model: "facematch", Accuracy: ombud.Accuracy{FPIR: 0.002, FNIR: 0.015, Threshold: 0.8, Source: "nist-frte-1n-2026-11"}}}, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	s := &matchScenario{}
	ingest := func(body []byte) string {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "biometric", Source: "cam-7", Subjects: []string{"person:17"}, By: e.AdminID, Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	s.input = ingest(pngOf(color.RGBA{R: 40, G: 90, B: 160, A: 255}))
	s.reference = ingest(pngOf(color.RGBA{R: 150, G: 60, B: 30, A: 255}))
	s.analystToken = e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	s.analyst = e.Principal(t, s.analystToken)
	run, _, err := e.Custody.StartRun(ctx, custody.RunRequest{Principal: s.analyst, System: sys.ID, Version: "5.0.0", Purpose: "criminal_investigation",
		AuthorizationID: "order-17", Objects: []string{s.input, s.reference}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Custody.ReadRun(ctx, custody.RunRead{Principal: s.analyst, RunID: run.ID, Emit: func(custody.Part) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		// One flag per match: each names one more candidate.
		cands := []string{"person:17"}
		for j := range i {
			cands = append(cands, fmt.Sprintf("person:%d", 90+j))
		}
		f, _, err := e.Gateway.Review.Raise(ctx, review.FlagRequest{Principal: s.analyst, Run: run.ID, Inputs: []string{s.input}, Candidates: cands,
			References: []string{s.reference}, Rank: 1, Score: 0.91, Threshold: 0.8, ReferenceDB: "watchlist", GallerySize: 120000})
		if err != nil {
			t.Fatal(err)
		}
		s.flags = append(s.flags, f.ID)
	}
	return s
}

// TestReviewInBrowser: a reviewer signs in with a token, views a flag's
// evidence (logged as an access with the purpose review), confirms one
// flag and rejects another; the person given the action's notice files a
// contest, an independent reviewer overturns it, and the person sees the
// outcome. Every page passes the accessibility checks and asks nothing of
// another origin; with OMBUD_SCREENSHOTS=DIR its screenshots are saved.
func TestReviewInBrowser(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	s := newMatchScenario(t, e, 2)
	flagA, flagB := s.flags[0], s.flags[1]
	r1 := e.AddPrincipal(t, "Rey Reviewer", ombud.RoleReviewer)
	r2tok := e.AddPrincipal(t, "Rob Reviewer", ombud.RoleReviewer)
	r3 := e.AddPrincipal(t, "Ria Reviewer", ombud.RoleReviewer)
	ctx, reqs := browser(t)
	b := &tab{ctx: ctx, shots: os.Getenv("OMBUD_SCREENSHOTS")}
	page := b.page
	do := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); b.do(t, actions...) }
	submit := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); b.submit(t, actions...) }
	signIn := func(token string) {
		t.Helper()
		do(chromedp.Navigate(e.URL+"/review"), chromedp.WaitVisible(chromedp.ID("token")), chromedp.SetValue(chromedp.ID("token"), token))
		submit(chromedp.Click(chromedp.CSS(`form[action="/review/signin"] button`)))
	}

	do(chromedp.Navigate(e.URL + "/review"))
	page(t, "Reviewers: sign in", "review-signin", "Sign in with your reviewer token")
	signIn("ombud_not-a-token")
	page(t, "Reviewers: sign in", "review-signin-refused", "This token is invalid or disabled")
	signIn(r1)
	body := page(t, "Review queue", "review-queue", "Signed in as Rey Reviewer", flagA, flagB, "vendor-x-frs 5.0.0", "score 0.91 against threshold 0.8",
		"watchlist, 120000 entries; 1 candidate", "Review this flag")
	if strings.Contains(body, "confirmed") || strings.Contains(body, "rejected") {
		t.Error("the queue tells of reviews")
	}
	// desk opens a flag's evidence desk and checks that every image on it
	// loaded, each a logged viewing; it returns the page's text.
	desk := func(t *testing.T, flag, file string, want ...string) string {
		t.Helper()
		before := e.Size(t)
		do(chromedp.Navigate(e.URL + "/review/flags/" + flag))
		body := page(t, "Flag "+flag, file, want...)
		loaded := 0
		for deadline := time.Now().Add(5 * time.Second); loaded < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.images].filter(i => i.complete && i.naturalWidth > 0).length`))
			if err != nil {
				t.Fatal(err)
			}
			loaded = n
		}
		if loaded != 2 {
			t.Fatalf("%d of the input and the reference image loaded, want 2", loaded)
		}
		var viewed []string
		for i := before; i < e.Size(t); i++ {
			if a, ok := e.EntryAt(t, i).(*entry.Access); ok && a.Decision == entry.Permit && a.Purpose == vocab.PurposeReview && a.Flag != "" && a.Class == "biometric" {
				viewed = append(viewed, a.Object)
			}
		}
		if len(viewed) != 2 {
			t.Fatalf("the desk's two images logged %d permitted viewings, want 2", len(viewed))
		}
		return body
	}
	verdict := func(t *testing.T, v, rationale string) {
		t.Helper()
		do(chromedp.SetValue(chromedp.ID("rationale"), rationale))
		submit(chromedp.Click(chromedp.CSS(`form[action$="/reviews"] button[value=` + v + `]`)))
	}

	t.Run("the evidence desk: input beside reference, each image a logged viewing", func(t *testing.T) {
		desk(t, flagA, "review-desk", "Legal basis of the run", "court_order issued by", "Input", "Reference image", "Back to the review queue",
			"false positive identification rate 0.002")
		before := e.Size(t)
		verdict(t, "confirm", "The face in the still and the reference photo agree: same scar above the left eye.")
		page(t, "Review queue", "review-confirmed", "Your confirmation was recorded.", flagB)
		if rv, ok := e.EntryAt(t, before).(*entry.Review); !ok || rv.Outcome != entry.Confirm {
			t.Fatalf("the confirmation's entry: %+v", rv)
		}
		// Reviewed, the flag's desk shows no evidence and no form: no
		// viewing is logged for it.
		before = e.Size(t)
		do(chromedp.Navigate(e.URL + "/review/flags/" + flagA))
		page(t, "Flag "+flagA, "review-desk-closed", "You reviewed this flag already.")
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.images.length + document.querySelectorAll("form[action$='/reviews']").length`)); err != nil || n != 0 || e.Size(t) != before {
			t.Fatalf("a closed desk shows %d images and forms (%v), %d entries", n, err, e.Size(t)-before)
		}
		desk(t, flagB, "review-desk-b")
		verdict(t, "reject", "The still is too dark to compare.")
		body := page(t, "Review queue", "review-rejected", "Your rejection was recorded.", "No flag awaits your review.")
		if strings.Contains(body, flagA) {
			t.Error("a reviewed flag is still in the queue")
		}
	})

	t.Run("a blind second review; a rejection closes its flag", func(t *testing.T) {
		submit(chromedp.Click(chromedp.CSS(`form[action="/review/signout"] button`)))
		signIn(r2tok)
		body := page(t, "Review queue", "review-queue-second", flagA)
		if strings.Contains(body, flagB) {
			t.Error("a rejected flag is still queued for another reviewer")
		}
		body = desk(t, flagA, "review-desk-blind", "You do not see other reviewers' verdicts")
		for _, leak := range []string{"1 confirmed", "Rey", "scar above"} {
			if strings.Contains(body, leak) {
				t.Errorf("the second reviewer's desk shows %q", leak)
			}
		}
		verdict(t, "confirm", "Agree after comparing both images myself.")
		page(t, "Review queue", "review-confirmed-second", "Your confirmation was recorded.")
		var oe *ombud.Error
		if _, _, _, err := e.Gateway.Review.Act(context.Background(), s.analyst, flagB, "questioning"); !errors.As(err, &oe) || oe.Reason != reason.FlagRejected {
			t.Fatalf("an action on the rejected flag: %v", err)
		}
	})

	// The analyst acts and gets the notice.
	bg := context.Background()
	act, notice, _, err := e.Gateway.Review.Act(bg, s.analyst, flagA, "questioning")
	if err != nil {
		t.Fatal(err)
	}
	actionStatus := func(t *testing.T) string {
		t.Helper()
		resp := e.Do(t, "GET", "/v1/actions/"+act.ID, s.analystToken, "", "")
		defer resp.Body.Close()
		var a struct{ Status string }
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /v1/actions/%s: %d %v", act.ID, resp.StatusCode, err)
		}
		return a.Status
	}

	t.Run("the notice and the contest", func(t *testing.T) {
		do(chromedp.Navigate(e.URL+"/contest"), chromedp.WaitVisible(chromedp.ID("code2")))
		page(t, "Contest a decision", "contest", "Notice code", "Check the status")
		do(chromedp.SetValue(chromedp.ID("code2"), "0000-0000-0000-0000"))
		submit(chromedp.Click(chromedp.CSS(`form input[value=status] ~ button`)))
		page(t, "Contest a decision", "contest-wrong-code", "No decision has this notice code.")
		// The status before any contest, and the printable notice from it.
		do(chromedp.SetValue(chromedp.ID("code2"), notice))
		submit(chromedp.Click(chromedp.CSS(`form input[value=status] ~ button`)))
		page(t, "Contest a decision", "contest-uncontested", "This decision has not been contested.", "about 2 in 1,000 searches for a person who is not in the database return a wrong match",
			"You have the right to a copy of the data", "within 30 days", "data protection supervisory authority")
		submit(chromedp.Click(chromedp.CSS(`form input[value=notice] ~ button[value=html]`)))
		page(t, "Notice of a decision in which an automated system took part", "notice", notice, "decided to question you", "vendor-x-frs",
			"about 2 in 1,000 searches", "about 15 in 1,000 searches for a person who is in the database miss them", "2 people reviewed the match",
			"Who is responsible", "There is no deadline for contesting", "within 30 days", "Where to appeal next")

		do(chromedp.Navigate(e.URL+"/contest"), chromedp.WaitVisible(chromedp.ID("code")))
		before := e.Size(t)
		do(chromedp.SetValue(chromedp.ID("code"), strings.ToLower(notice)),
			chromedp.SetValue(chromedp.ID("statement"), "I was at work in another city that evening; my employer can confirm it."))
		submit(chromedp.Click(chromedp.CSS(`form input[value=file] ~ button`)))
		page(t, "Contest a decision", "contest-filed", "Your contest was filed on", "awaits a reviewer", "It must be decided by", "vendor-x-frs (face_identification)",
			"facematch 5.0.0", "2 reviewers confirmed the match", "questioning")
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#statement").length`)); err != nil || n != 0 {
			t.Errorf("the filing form is offered again after filing (%d, %v)", n, err)
		}
		if c, ok := e.EntryAt(t, before).(*entry.Contest); !ok || c.Op != entry.OpFiled || c.DeadlineDays != 30 {
			t.Fatalf("the filing's entry: %+v", c)
		}
		if st := actionStatus(t); st != "standing" {
			t.Fatalf("the action before the resolution: %s", st)
		}

		// A reviewer of the flag may not resolve it; an independent one does.
		do(chromedp.Navigate(e.URL + "/review"))
		page(t, "Review queue", "review-contest-involved", "You took part in this decision")
		submit(chromedp.Click(chromedp.CSS(`form[action="/review/signout"] button`)))
		page(t, "Reviewers: sign in", "review-signed-out")
		signIn(r3)
		page(t, "Review queue", "review-contest", "Contests awaiting resolution", "my employer can confirm it", "The match: vendor-x-frs version 5.0.0", "2 reviewers confirmed it", "Reference image 1")
		do(chromedp.WaitVisible(chromedp.CSS(`form[action^="/review/contests/"] textarea`)),
			chromedp.SetValue(chromedp.CSS(`form[action^="/review/contests/"] textarea`), "The employer's records place the person elsewhere."))
		submit(chromedp.Click(chromedp.CSS(`form[action^="/review/contests/"] button[value=overturned]`)))
		page(t, "Review queue", "review-contest-resolved", "The contest was resolved as overturned.", "No contest awaits resolution.")

		do(chromedp.Navigate(e.URL+"/contest"), chromedp.WaitVisible(chromedp.ID("code2")),
			chromedp.SetValue(chromedp.ID("code2"), notice))
		submit(chromedp.Click(chromedp.CSS(`form input[value=status] ~ button`)))
		page(t, "Contest a decision", "contest-status", "the decision was overturned", "is withdrawn", "withdrawn on", "2 reviewers confirmed the match",
			"The employer's records place the person elsewhere.")
		// The printable notice now tells the contest's outcome, not how to
		// contest again.
		submit(chromedp.Click(chromedp.CSS(`form input[value=notice] ~ button[value=html]`)))
		body := page(t, "Notice of a decision in which an automated system took part", "notice-overturned", "This decision was withdrawn on", "Your contest",
			"the decision was overturned")
		if strings.Contains(body, "How to contest") {
			t.Error("the notice of a decided contest still says how to contest")
		}
		// Withdrawn in the API, and in the report's row of the version.
		if st := actionStatus(t); st != "withdrawn" {
			t.Fatalf("the action after an overturned contest: %s", st)
		}
		period, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
		pub, err := e.Reports.Publish(bg, period, e.AdminID)
		if err != nil {
			t.Fatal(err)
		}
		if m := pub.Report.Models; len(m) != 1 || m[0].Withdrawn == nil || m[0].Withdrawn.N != 1 {
			t.Fatalf("the report's withdrawn actions: %+v", m)
		}
		do(chromedp.Navigate(e.URL + "/reports/" + report.Name(pub.Period, pub.Size)))
		page(t, "Transparency report for "+pub.Period, "report-withdrawn", "Actions withdrawn", "contests due in this period that were not decided by then")
		cell, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { for (const t of document.querySelectorAll("table")) {
			const i = [...t.querySelectorAll("thead th")].map(h => h.textContent).indexOf("Actions withdrawn");
			if (i >= 0) return t.querySelector("tbody tr").children[i].textContent; } return "no such column"; })()`))
		if err != nil || cell != "1-9" {
			t.Fatalf("the report page's withdrawn actions: %q %v", cell, err)
		}
	})

	t.Run("systems", func(t *testing.T) {
		do(chromedp.Navigate(e.URL + "/systems"))
		page(t, "Analytic systems", "systems-reviews", "Automated matches (flags) of this system", "questioning 1-9", "overturned 1-9")
	})

	for _, u := range reqs.all() {
		if !strings.HasPrefix(u, e.URL+"/") && u != e.URL {
			t.Errorf("a page requested %s, outside the site", u)
		}
	}
}
