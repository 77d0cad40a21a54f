package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/analytics"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/review"
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
}

func newMatchScenario(t *testing.T, e *ombudtest.Env, n int) *matchScenario {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	e.Authorize(t, e.Court(t), ombud.Authorization{ID: "order-17", Kind: "court_order", Case: "3 Gs 117/26", Purposes: []string{"criminal_investigation"},
		Classes: []string{"biometric"}, Subjects: []string{"person:17"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), MaxUses: 10,
		Jurisdiction: ombudtest.Jurisdiction})
	sys, _, err := e.Gateway.Analytics.Register(ctx, analytics.System{Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification",
		Classes: []string{"biometric"}, ImpactAssessment: "fria-2026-07", Contract: "ocds-abc123-2026-17",
		Version: analytics.Version{Version: "5.0.0", Model: "facematch", Accuracy: ombud.Accuracy{FPIR: 0.002, FNIR: 0.015, Threshold: 0.8, Source: "nist-frte-1n-2026-11"}}}, e.AdminID)
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
	s.analyst = e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
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
// another origin; screenshots are saved.
func TestReviewInBrowser(t *testing.T) {
	e := ombudtest.New(t)
	s := newMatchScenario(t, e, 2)
	flagA, flagB := s.flags[0], s.flags[1]
	r1 := e.AddPrincipal(t, "Rey Reviewer", ombud.RoleReviewer)
	r2 := e.Principal(t, e.AddPrincipal(t, "Rob Reviewer", ombud.RoleReviewer))
	r3 := e.AddPrincipal(t, "Ria Reviewer", ombud.RoleReviewer)
	shots := os.Getenv("OMBUD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, reqs := browser(t)
	// page checks the page's h1, its text and accessibility, and saves a
	// screenshot; it returns the page's text.
	page := func(t *testing.T, h1, file string, want ...string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(got) != h1 {
			t.Fatalf("h1 %q, want %q; the page: %s", got, h1, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not show %q", file, w)
			}
		}
		problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yCheck))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("accessibility of %s: %s", file, p)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, file+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		return body
	}
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	// submit runs actions that end in a form's submission and waits for
	// the page it leads to.
	submit := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
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
	page(t, "Review queue", "review-queue", "Signed in as Rey Reviewer", flagA, flagB, "vendor-x-frs 5.0.0", "score 0.91 against threshold 0.8",
		"watchlist, 120000 entries; 1 candidate", "Input 1", "Reference image 1", "0 confirmed, 0 rejected")

	t.Run("evidence is a logged access", func(t *testing.T) {
		before := e.Size(t)
		submit(chromedp.Click(chromedp.CSS(`a[href="/review/flags/` + flagA + `/evidence/` + s.input + `"]`)))
		do(chromedp.WaitVisible(chromedp.CSS("img")))
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(shots, "review-evidence.png"), shot, 0o644)
		if e.Size(t) != before+1 {
			t.Fatalf("viewing the evidence wrote %d entries, want 1", e.Size(t)-before)
		}
		a, ok := e.EntryAt(t, before).(*entry.Access)
		if !ok || a.Decision != entry.Permit || a.Purpose != ombud.PurposeReview || a.Flag == "" || a.Object == "" || a.Class != "biometric" {
			t.Fatalf("the viewing's entry: %+v", a)
		}
	})

	t.Run("confirm and reject", func(t *testing.T) {
		before := e.Size(t)
		do(chromedp.Navigate(e.URL+"/review"), chromedp.WaitVisible(chromedp.ID("rationale-"+flagA)),
			chromedp.SetValue(chromedp.ID("rationale-"+flagA), "The face in the still and the reference photo agree: same scar above the left eye."))
		submit(chromedp.Click(chromedp.CSS(`form[action="/review/flags/` + flagA + `/reviews"] button[value=confirm]`)))
		page(t, "Review queue", "review-confirmed", "Your confirmation was recorded.", flagB)
		do(chromedp.SetValue(chromedp.ID("rationale-"+flagB), "The still is too dark to compare."))
		submit(chromedp.Click(chromedp.CSS(`form[action="/review/flags/` + flagB + `/reviews"] button[value=reject]`)))
		body := page(t, "Review queue", "review-rejected", "Your rejection was recorded.", "No flag awaits your review.")
		if strings.Contains(body, flagA) {
			t.Error("a reviewed flag is still in the queue")
		}
		var verdicts []string
		for i := before; i < e.Size(t); i++ {
			if rv, ok := e.EntryAt(t, i).(*entry.Review); ok {
				verdicts = append(verdicts, rv.Outcome)
			}
		}
		if strings.Join(verdicts, ",") != "confirm,reject" {
			t.Fatalf("the reviews logged: %v", verdicts)
		}
	})

	// A second reviewer confirms; the analyst acts and gets the notice.
	bg := context.Background()
	if _, _, err := e.Gateway.Review.Review(bg, r2, flagA, entry.Confirm, "agree with the first reviewer after comparing both images"); err != nil {
		t.Fatal(err)
	}
	_, notice, _, err := e.Gateway.Review.Act(bg, s.analyst, flagA, "questioning")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("contest", func(t *testing.T) {
		do(chromedp.Navigate(e.URL+"/contest"), chromedp.WaitVisible(chromedp.ID("code2")))
		page(t, "Contest a decision", "contest", "Notice code", "Check the status")
		do(chromedp.SetValue(chromedp.ID("code2"), "0000-0000-0000-0000"))
		submit(chromedp.Click(chromedp.CSS(`form input[value=status] ~ button`)))
		page(t, "Contest a decision", "contest-wrong-code", "No decision has this notice code.")
		before := e.Size(t)
		do(chromedp.SetValue(chromedp.ID("code"), strings.ToLower(notice)),
			chromedp.SetValue(chromedp.ID("statement"), "I was at work in another city that evening; my employer can confirm it."))
		submit(chromedp.Click(chromedp.CSS(`form input[value=file] ~ button`)))
		page(t, "Contest a decision", "contest-filed", "Your contest was filed on", "awaits a reviewer", "vendor-x-frs (face_identification)",
			"facematch 5.0.0", "false positive identification rate 0.002", "2 reviewers confirmed the match", "questioning")
		if c, ok := e.EntryAt(t, before).(*entry.Contest); !ok || c.Op != entry.OpFiled {
			t.Fatalf("the filing's entry: %+v", c)
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
		page(t, "Contest a decision", "contest-status", "the decision was overturned", "2 reviewers confirmed the match",
			"The employer's records place the person elsewhere.")
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
