package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/report"
)

// chromium finds Debian's chromium ($OMBUD_CHROMIUM, or on the PATH).
// Without it the browser tests are skipped, unless
// OMBUD_REQUIRE_CHROMIUM=1 (as in CI, which installs it).
func chromium(t *testing.T) string {
	p := os.Getenv("OMBUD_CHROMIUM")
	if p == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if lp, err := exec.LookPath(name); err == nil {
				p = lp
				break
			}
		}
	}
	if p == "" {
		if os.Getenv("OMBUD_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium not found: apt-get install chromium, or set OMBUD_CHROMIUM")
		}
		t.Skip("chromium not installed (apt-get install chromium; .ci/run does)")
	}
	return p
}

// browser starts a headless chromium for the test, with the flags this
// machine's closed network needs, and records every request it makes.
func browser(t *testing.T) (context.Context, *requests) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("window-size", "1200,900"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	reqs := &requests{}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			reqs.add(e.Request.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return ctx, reqs
}

type requests struct {
	mu   sync.Mutex
	urls []string
}

func (r *requests) add(u string) {
	r.mu.Lock()
	r.urls = append(r.urls, u)
	r.mu.Unlock()
}

func (r *requests) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

// a11yCheck runs in the page and returns what an accessibility review
// would object to: the document language and title, one h1 and no skipped
// heading levels, a label for every form field, alt text for every image,
// an accessible name for every chart, and WCAG AA contrast for every piece
// of text against the background it is drawn on.
const a11yCheck = `(() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("html has no lang");
  if (!document.title.trim()) problems.push("no title");
  const hs = [...document.querySelectorAll("h1,h2,h3,h4,h5,h6")];
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  let last = 0;
  for (const h of hs) {
    const l = +h.tagName[1];
    if (l > last + 1) problems.push("heading " + h.tagName + " '" + h.textContent.trim() + "' skips a level");
    last = l;
  }
  for (const f of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
    const labelled = (f.id && document.querySelector("label[for='" + f.id + "']")) || f.getAttribute("aria-label") || f.getAttribute("aria-labelledby");
    if (!labelled) problems.push("form field without a label: " + (f.name || f.id));
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push("img without alt: " + img.src);
  }
  for (const svg of document.querySelectorAll("svg")) {
    const ids = (svg.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    const name = ids.map(id => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
    if (svg.getAttribute("role") !== "img" || !name) problems.push("chart without role=img and an accessible name");
  }
  const parse = c => { const m = c.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/); return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null; };
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) return c; } return [255, 255, 255, 1]; };
  let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (el.closest("svg")) {
      // Chart text is drawn with fill on a white chart.
      const fill = parse(getComputedStyle(el).fill) || [0, 0, 0, 1];
      const ratio = (1.05) / (lum(fill) + 0.05);
      if (el.closest("title, desc")) continue;
      if (ratio < 4.5) problems.push("chart text '" + n.textContent.trim().slice(0, 30) + "' contrast " + ratio.toFixed(2));
      checked++;
      continue;
    }
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none" || el.getBoundingClientRect().width === 0) continue;
    const fg = parse(st.color), b = bg(el);
    const L1 = lum(fg), L2 = lum(b);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(st.fontSize), bold = +st.fontWeight >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) problems.push("text '" + n.textContent.trim().slice(0, 30) + "' contrast " + ratio.toFixed(2) + " < " + need);
    checked++;
  }
  if (checked === 0) problems.push("no text checked");
  return problems;
})()`

// TestSiteInBrowser loads every public page in Debian's chromium: it
// checks each page's content, runs the accessibility checks, follows the
// receipt-checker flow, and checks that no page asks for anything from
// another origin. With OMBUD_SCREENSHOTS=DIR it saves a screenshot of
// each page there.
func TestSiteInBrowser(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.Witnessed(), ombudtest.Built())
	build, err := buildinfo.Current()
	if err != nil {
		t.Fatal(err)
	}
	populate(t, e)
	e.AwaitSize(t, e.Size(t))
	period := time.Now().UTC().Format("2006-01")
	p, _ := report.ParsePeriod(period)
	pub, err := e.Reports.Publish(context.Background(), p, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, pub.Index+1)
	e.RegisterContract(t, "ocds-abc123-2026-17")
	sys, _, err := e.Gateway.Analytics.Register(e.Approved(t, context.Background(), ombud.OpSystemRegister, ""), registry.System{Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification",
		Classes: []string{"biometric"}, ImpactAssessment: "fria-2026-07", Contract: "ocds-abc123-2026-17",
		Version: registry.Version{Version: "4.2.1", Model: "facematch", Accuracy: ombud.Accuracy{FPIR: 0.003, FNIR: 0.021, Threshold: 0.85, Source: "nist-frte-1n-2026-10"}}}, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Gateway.Analytics.AddVersion(e.Approved(t, context.Background(), ombud.OpSystemVersion, sys.ID), sys.ID, registry.Version{Version: "5.0.0", Model: "facematch",
		Accuracy: ombud.Accuracy{FPIR: 0.002, FNIR: 0.015, Threshold: 0.8, Source: "nist-frte-1n-2026-11"}}, e.AdminID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Gateway.Analytics.Retire(context.Background(), sys.ID, "4.2.1", e.AdminID); err != nil {
		t.Fatal(err)
	}
	// A plate reader, with a run that read one record.
	plates, _, err := e.Gateway.Analytics.Register(e.Approved(t, context.Background(), ombud.OpSystemRegister, ""), registry.System{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading",
		Classes: []string{"general"}, Version: registry.Version{Version: "2.0", Model: "anpr", Accuracy: ombud.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}}}, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := e.Custody.Ingest(context.Background(), custody.IngestRequest{Class: "general", Source: "cam-1", By: e.AdminID, Body: strings.NewReader("a plate")})
	if err != nil {
		t.Fatal(err)
	}
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	run, _, err := e.Custody.StartRun(context.Background(), custody.RunRequest{Principal: analyst, System: plates.ID, Version: "2.0", Purpose: "criminal_investigation", Objects: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Custody.ReadRun(context.Background(), custody.RunRead{Principal: analyst, RunID: run.ID, Emit: func(custody.Part) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	// The period published again, as the log grew: the list marks the
	// first publication superseded by this one.
	e.AwaitSize(t, e.Size(t))
	pub2, err := e.Reports.Publish(context.Background(), p, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, pub2.Index+1)
	shots := os.Getenv("OMBUD_SCREENSHOTS")
	ctx, reqs := browser(t)

	pages := []struct {
		path, file string
		h1         string
		want       []string
	}{
		{"/", "home", "What this deployment does with sensitive data", []string{"The log now", "witness.test/w1\tYes\t" + time.Now().UTC().Format("2006-01-02"), "Report for " + period}},
		{"/reports", "reports", "Transparency reports", []string{period, "JSON", "CSV", "current", fmt.Sprintf("superseded by %s at %d entries", period, pub2.Size)}},
		{"/reports/" + period, "report", "Transparency report for " + period, []string{"Access decisions over time", "Denials by reason", "no_authorization", "court_order", "1-9",
			"Not offered: " + report.NoSharing, "Not offered: " + report.NoTips}},
		{fmt.Sprintf("/reports/%s@%d", period, pub.Size), "report-superseded", "Transparency report for " + period, []string{"Superseded: this publication was computed at"}},
		{"/disclosure", "disclosure", "How this deployment handles data", []string{"biometric", "30 days", "Local disk", "Who may read what", "needs the confirmations of 2 distinct reviewers",
			report.NoSharing, "court.example/district-3", "Analytic systems", "plate-reader\tvendor-y\tplate_reading", "The software deciding", build.BinarySHA256}},
		{"/systems", "systems", "Analytic systems", []string{"vendor-x-frs", "face_identification", "FPIR 0.003, FNIR 0.021", "retired", "in use", "fria-2026-07",
			"No run of this system has started.", "2.0\tcriminal_investigation\t1-9\t1-9\t1-9"}},
		{"/status", "status", "Log status", []string{"Accepting new entries", "witness.test/w1\tYes", "ombud audit --log", "logged it in entry 0", build.BinarySHA256, build.SBOMSHA256}},
		{"/receipt", "receipt", "Check a receipt", []string{"Entry index", "Receipt (JSON)"}},
		{"/no-such-page", "not-found", "No such page", []string{"There is no page at this address.", "Back to the home page"}},
	}
	for _, pg := range pages {
		t.Run(pg.file, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+pg.path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
				t.Fatal(err)
			}
			h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatal(err)
			}
			body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yCheck))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(h1) != pg.h1 {
				t.Errorf("h1 %q, want %q", h1, pg.h1)
			}
			for _, w := range pg.want {
				if !strings.Contains(body, w) {
					t.Errorf("page does not show %q", w)
				}
			}
			for _, p := range problems {
				t.Errorf("accessibility: %s", p)
			}
			height, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollHeight"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.0f px tall", pg.path, height)
			// The policy's text inline would add some 1,500 px; the
			// vocabularies' tables (nine since recipient categories) fit.
			if pg.file == "disclosure" && height > 4000 {
				t.Errorf("the disclosure page is %.0f px tall; the policy's text belongs behind its link", height)
			}
			screenshot(t, ctx, shots, pg.file)
		})
	}

	t.Run("receipt checker", func(t *testing.T) {
		// submit fills one form of the checker, submits it and returns the
		// result section's text.
		submit := func(field, value, button string) string {
			t.Helper()
			err := chromedp.Do(ctx,
				chromedp.Navigate(e.URL+"/receipt"),
				chromedp.WaitVisible(chromedp.ID(field)),
				chromedp.SetValue(chromedp.ID(field), value),
				chromedp.Click(chromedp.CSS(button)),
				chromedp.WaitVisible(chromedp.ID("result-h")))
			if err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main section")))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yCheck))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("accessibility of the result: %s", p)
			}
			return text
		}
		result := submit("index", fmt.Sprint(pub.Index), "form[method=get] button")
		if !strings.Contains(result, fmt.Sprintf("Verified: entry %d is in the log", pub.Index)) || !strings.Contains(result, "report") {
			t.Fatalf("checking index %d: %s", pub.Index, result)
		}
		result = submit("index", "99999999", "form[method=get] button")
		if !strings.Contains(result, "Not verified") {
			t.Fatalf("checking an index beyond the log: %s", result)
		}
		// A pasted receipt, then the same receipt claiming another index.
		raw := ombudtest.Get(t, fmt.Sprintf("%s/v1/receipts/%d", e.URL, pub.Index))
		result = submit("receipt", string(raw), "form[method=post] button")
		if !strings.Contains(result, "Verified") {
			t.Fatalf("pasted receipt: %s", result)
		}
		screenshot(t, ctx, shots, "receipt-verified")
		var rc map[string]any
		json.Unmarshal(raw, &rc)
		rc["index"] = float64(pub.Index - 1)
		bad, _ := json.Marshal(rc)
		result = submit("receipt", string(bad), "form[method=post] button")
		if !strings.Contains(result, "Not verified") {
			t.Fatalf("altered receipt: %s", result)
		}
		screenshot(t, ctx, shots, "receipt-refused")
	})

	for _, u := range reqs.all() {
		if !strings.HasPrefix(u, e.URL+"/") && u != e.URL {
			t.Errorf("a page requested %s, outside the site", u)
		}
	}
}

// populate logs a month of activity through the real services: an issuer
// and an authorization, reads permitted and denied, erasures and a hold.
func populate(t *testing.T, e *ombudtest.Env) {
	t.Helper()
	ctx := context.Background()
	// The entries are written at once, so that they share the log's
	// batches; their order does not matter to any page.
	var wg sync.WaitGroup
	defer wg.Wait()
	w := func(r journal.Record) {
		wg.Go(func() {
			if _, err := e.Journal.Write(ctx, r); err != nil {
				t.Error(err)
			}
		})
	}
	_, vkey, _ := note.GenerateKey(rand.Reader, "court.example/district-3")
	if _, _, err := e.Custody.Access.RegisterIssuer(e.Approved(t, ctx, ombud.OpIssuerRegister, ""), "court.example/district-3", "court", "EU-DE", vkey, e.AdminID); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		dec, reason := "permit", "authorization_in_scope"
		if i%4 == 0 {
			dec, reason = "deny", []string{"no_authorization", "authorization_expired"}[i%8/4]
		}
		w(journal.Record{Body: entry.Access{Decision: dec, Class: []string{"location", "biometric"}[i%2], Purpose: "criminal_investigation", Reasons: []string{reason}, Object: fmt.Sprint("obj-", i), Authorization: "auth-1", By: "analyst"}})
	}
	for i := range 12 {
		w(journal.Record{Body: entry.Authorization{Op: entry.OpRegister, AuthKind: []string{"court_order", "warrant"}[i%2], Issuer: "court.example/district-3", Authorization: fmt.Sprint("auth-", i), By: "admin"}})
	}
	for i := range 14 {
		w(journal.Record{Body: entry.Erase{Class: "location", Reason: "retention_expired", Object: fmt.Sprint("old-", i)}})
	}
	w(journal.Record{Body: entry.Erase{Class: "location", Reason: "court_order", Object: "x"}})
	w(journal.Record{Body: entry.Hold{Op: entry.OpSet, Reason: "litigation", Object: "y"}})
}

// screenshot saves the page as DIR/file.png when screenshots were asked
// for (OMBUD_SCREENSHOTS=DIR). Nothing checks them but a person, and a
// full-page screenshot costs about as much as the checks of its page.
func screenshot(t *testing.T, ctx context.Context, dir, file string) {
	t.Helper()
	if dir == "" {
		return
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tab drives a browser tab through the site's pages, saving a screenshot
// of each page it checks to shots (OMBUD_SCREENSHOTS) when set.
type tab struct {
	ctx   context.Context
	shots string
}

// page checks the page's h1, that its text holds each of want, and its
// accessibility, and saves a screenshot; it returns the page's text.
func (b *tab) page(t *testing.T, h1, file string, want ...string) string {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
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
	problems, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](a11yCheck))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("accessibility of %s: %s", file, p)
	}
	screenshot(t, b.ctx, b.shots, file)
	return body
}

func (b *tab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// submit runs actions that end in a form's submission and waits for the
// page it leads to.
func (b *tab) submit(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}
