package gateway_test

import (
	"bytes"
	"context"
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
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/vocab"
)

// TestEndToEnd walks one automated match from the run that raised it to
// the public record of how it was judged, over the API and the public
// pages: a face identification system is registered; its machine runs
// over a CCTV still under a court order and flags a match; two reviewers
// view the evidence and confirm; an analyst takes an action and gets the
// notice code; the person contests at /contest; an independent reviewer
// overturns the action; the person sees the outcome; the month's report
// counts it all for the model version, /systems shows it, and a full
// audit with the auditor's token finds nothing.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := t.Context()
	as := func(token string) *client.Client {
		c, err := client.New(e.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin := as(e.AdminToken)
	e.RegisterContract(t, "ocds-abc123-2026-17")
	sys, err := admin.RegisterSystem(ctx, apiv1.RegisterSystem{Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification", Classes: []string{"biometric"},
		Model: "facematch", Version: "5.0.0", Accuracy: apiv1.Accuracy{FPIR: 0.002, FNIR: 0.015, Threshold: 0.8, Source: "nist-frte-1n-2026-11"},
		ImpactAssessment: "fria-2026-07", Contract: "ocds-abc123-2026-17"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := admin.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "frs runner", Roles: []ombud.Role{ombud.RoleSystem}, System: sys.ID})
	if err != nil {
		t.Fatal(err)
	}
	machine := as(m.Token)
	analyst := as(e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	rev := []*client.Client{as(e.AddPrincipal(t, "Rey", ombud.RoleReviewer)), as(e.AddPrincipal(t, "Rob", ombud.RoleReviewer)), as(e.AddPrincipal(t, "Ria", ombud.RoleReviewer))}
	auditorTok := e.AddPrincipal(t, "Aud", ombud.RoleAuditor)
	now := time.Now().UTC().Truncate(time.Second)
	e.Authorize(t, e.Court(t), ombud.Authorization{ID: "order-17", Kind: "court_order", Case: "3 Gs 117/26", Purposes: []string{"criminal_investigation"},
		Classes: []string{"biometric"}, Subjects: []string{"person:17"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), MaxUses: 5,
		Jurisdiction: ombudtest.Jurisdiction})
	ingest := func(body string) string {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "biometric", Source: "cam-7", Subjects: []string{"person:17"}, By: e.AdminID, Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	still, photo := ingest("a CCTV still"), ingest("a reference photo")

	// The run, and the match it raises.
	run, err := machine.StartRun(ctx, apiv1.StartRun{System: sys.ID, Version: "5.0.0", Purpose: "criminal_investigation", Authorization: "order-17", Objects: []string{still, photo}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := machine.ReadRun(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p, err := st.Next(); err == nil; p, err = st.Next() {
		io.Copy(io.Discard, p.Body)
	}
	st.Close()
	flag, err := machine.RaiseFlag(ctx, apiv1.CreateFlag{Run: run.ID, Inputs: []string{still}, Candidates: []string{"person:17"}, References: []string{photo},
		Rank: 1, Score: 0.91, Threshold: 0.8, ReferenceDB: "watchlist", GallerySize: 120000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := machine.CloseRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}

	// Two reviewers view the evidence and confirm.
	for _, r := range rev[:2] {
		q, err := r.AwaitingFlags(ctx)
		if err != nil || len(q) != 1 || q[0].ID != flag.ID {
			t.Fatalf("the queue: %+v %v", q, err)
		}
		for _, obj := range append(q[0].Inputs, q[0].References...) {
			o, err := r.GetObject(ctx, obj, client.Read{Purpose: vocab.PurposeReview, Flag: flag.ID})
			if err != nil {
				t.Fatalf("viewing the evidence: %v", err)
			}
			io.Copy(io.Discard, o)
			o.Close()
		}
		if _, err := r.ReviewFlag(ctx, flag.ID, apiv1.ReviewFlag{Verdict: "confirm", Rationale: "the still and the reference photo show the same face"}); err != nil {
			t.Fatal(err)
		}
	}
	taken, err := analyst.TakeAction(ctx, apiv1.TakeAction{Flag: flag.ID, Kind: "referral"})
	if err != nil || taken.Notice == "" {
		t.Fatalf("the action: %+v %v", taken, err)
	}

	// The person contests, an independent reviewer overturns, the person
	// sees it.
	contestPage := func(v url.Values) string {
		t.Helper()
		resp, err := http.PostForm(e.URL+"/contest", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("/contest: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	if page := contestPage(url.Values{"do": {"file"}, "code": {taken.Notice}, "statement": {"I was at work in another city that evening."}}); !strings.Contains(page, "Your contest was filed") {
		t.Fatalf("filing: %s", page)
	}
	open, err := rev[2].OpenContests(ctx)
	if err != nil || len(open) != 1 || open[0].Involved {
		t.Fatalf("open contests: %+v %v", open, err)
	}
	if _, err := rev[2].ResolveContest(ctx, open[0].ID, apiv1.ResolveContest{Outcome: "overturned", Rationale: "the employer's records place the person elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if page := contestPage(url.Values{"do": {"status"}, "code": {taken.Notice}}); !strings.Contains(page, "the decision was overturned") ||
		!strings.Contains(page, "2 reviewers confirmed the match") || !strings.Contains(page, "facematch 5.0.0") {
		t.Fatalf("the status: %s", page)
	}

	// The month's report counts it for the model version (once a
	// checkpoint covers everything above).
	e.AwaitSize(t, e.Size(t))
	pub, err := admin.PublishReport(ctx, apiv1.PublishReport{Period: now.Format("2006-01")})
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, pub.Receipt+1)
	// The published counts are banded; the same computation, unbanded,
	// gives the exact figures (the audit below recomputes the published
	// one).
	period, _ := report.ParsePeriod(pub.Period)
	exact, err := publish.Compute(ctx, e.Log, period, -1)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(exact.Models, func(m report.ModelRow) bool { return m.ModelVersion == "5.0.0" })
	if i < 0 {
		t.Fatalf("no row for the model version: %+v", exact.Models)
	}
	row := exact.Models[i]
	if row.Flags.N != 1 || row.Reviews.N != 2 || row.Confirmed.N != 2 || row.Rejected.N != 0 || len(row.Actions) != 1 || row.Actions[0].Key != "referral" ||
		len(row.Contests) != 2 || row.Contests[1].Outcome != ombud.ContestOverturned {
		t.Fatalf("the model version's row: %+v", row)
	}
	page := string(ombudtest.Get(t, e.URL+"/systems"))
	if !strings.Contains(page, "Automated matches (flags) of this system") || !strings.Contains(page, "referral 1-9") || !strings.Contains(page, "overturned 1-9") {
		t.Fatalf("/systems does not show the reviews: %s", page)
	}

	// A full audit, with the auditor's token, finds nothing.
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := audit.Run(context.Background(), audit.Config{Log: *f, Verifier: e.Dir.Verifier,
		Details: &audit.HTTPDetails{Server: e.URL, Token: auditorTok}, Reports: &audit.HTTPReports{Server: e.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || !res.Integrity || res.Reports != 1 || res.Details == 0 {
		var b bytes.Buffer
		for _, f := range res.Findings {
			b.WriteString(f.Rule + ": " + f.Message + "\n")
		}
		t.Fatalf("the audit: integrity %v, %d reports, %d details, findings:\n%s", res.Integrity, res.Reports, res.Details, b.String())
	}
}
