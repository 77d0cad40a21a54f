package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/tips"
)

// TestTipsInBrowser: a source, in chromium with scripts disabled, files a
// report with a file, keeps the codename and the proof of filing, comes
// back the next day to read the oversight body's acknowledgment, sends a
// follow-up, and checks the proof in the receipt checker. A wrong codename
// is turned away. No page sets a cookie or asks another origin for
// anything; every page passes the accessibility checks. With
// OMBUD_SCREENSHOTS=DIR its screenshots are saved.
func TestTipsInBrowser(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) { c.Tips.Recipients = []string{id.Recipient().String()} }))
	var intake atomic.Int64
	e.Gateway.Tips.Now = func() time.Time { return time.Now().Add(time.Duration(intake.Load())) }
	oversight := e.AddPrincipal(t, "Oversight desk", ombud.RoleOversight)
	evidence := filepath.Join(t.TempDir(), "contract-annex.txt")
	if err := os.WriteFile(evidence, []byte("annex: the vendor keeps a copy of every face"), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, reqs := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b := &tab{ctx: ctx, shots: os.Getenv("OMBUD_SCREENSHOTS")}
	b.do(t, chromedp.Navigate(e.URL+"/tips"))
	b.page(t, "Report wrongdoing", "tips-form", "No account, no cookies and no scripts", "Before you send", "What this page cannot protect you from")
	b.do(t, chromedp.SendKeys(chromedp.ID("message"), "The vendor keeps a copy of every face it matches, against the contract."),
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{evidence}))
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/tips"] button`)))
	body := b.page(t, "Report wrongdoing", "tips-filed", "Your report was received", "Write it down now", "Your proof of filing", "ombud tip promise v1")
	codename, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("codename")))
	if err != nil || len(strings.Fields(codename)) != tips.CodenameWords {
		t.Fatalf("the codename %q, %v", codename, err)
	}
	promise, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("promise")))
	if err != nil || !strings.HasPrefix(promise, tips.PromiseHeader) {
		t.Fatalf("the promise %q, %v", promise, err)
	}
	if strings.Contains(body, "the vendor keeps a copy") {
		t.Fatal("the page shows the submission back")
	}

	// The next day: the batch logs the filing, the oversight body
	// acknowledges it.
	now := time.Now()
	intake.Store(int64(now.UTC().Truncate(24 * time.Hour).Add(47*time.Hour + 30*time.Minute).Sub(now)))
	if n, err := e.Gateway.Tips.Batch(t.Context()); err != nil || n != 1 {
		t.Fatalf("the batch: %d, %v", n, err)
	}
	ts := decodeJSON[apiv1.Tips](t, e.Do(t, "GET", "/v1/tips", oversight, "", ""))
	tip := decodeJSON[apiv1.Tip](t, e.Do(t, "GET", "/v1/tips/"+ts.Tips[0].ID, oversight, "", ""))
	var sealed bytes.Buffer
	if _, err := tips.SealReply(&sealed, tip.ReplyKey, "We received your report on the vendor's copies and have opened a case. We will write again within three months."); err != nil {
		t.Fatal(err)
	}
	if resp := e.Do(t, "POST", "/v1/tips/"+tip.ID+"/replies?op=acknowledged", oversight, "application/age", sealed.String()); resp.StatusCode != 200 {
		t.Fatalf("the acknowledgment: %d", resp.StatusCode)
	}

	// The source comes back with the codename, as typed by hand.
	b.do(t, chromedp.Navigate(e.URL+"/tips"), chromedp.SendKeys(chromedp.ID("codename-in"), strings.ToUpper(codename)))
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/tips/open"] button`)))
	b.page(t, "Report wrongdoing", "tips-thread", "Your report", "recorded in the public log as entry", "Acknowledgment of receipt",
		"We received your report on the vendor's copies and have opened a case.", "Send more")
	b.do(t, chromedp.SendKeys(chromedp.ID("message2"), "The copies are kept in a second region too."))
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/tips/followup"] button`)))
	b.page(t, "Report wrongdoing", "tips-followup", "Your follow-up", "to be recorded in the next daily batch", "Your proof of filing")

	// The proof of filing, in the receipt checker: kept.
	b.do(t, chromedp.Navigate(e.URL+"/receipt"), chromedp.SendKeys(chromedp.ID("receipt"), promise))
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/receipt"][method="post"] button`)))
	b.page(t, "Check a receipt", "tips-promise-kept", "The promise was kept", "Verified: entry")

	// A wrong codename opens nothing and says nothing more.
	other, _ := tips.NewCodename()
	b.do(t, chromedp.Navigate(e.URL+"/tips"), chromedp.SendKeys(chromedp.ID("codename-in"), other))
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/tips/open"] button`)))
	b.page(t, "Report wrongdoing", "tips-wrong-codename", "This codename opens nothing here")

	// The disclosure page says the intake is offered, and how.
	b.do(t, chromedp.Navigate(e.URL+"/disclosure"))
	b.page(t, "How this deployment handles data", "tips-disclosure", "Whistleblower intake", "sealed on arrival to 1 key of the oversight body", "Report wrongdoing")

	cookies, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil || len(cookies.Cookies) != 0 {
		t.Fatalf("the browser holds cookies: %+v, %v", cookies, err)
	}
	for _, u := range reqs.all() {
		if !strings.HasPrefix(u, e.URL) && !strings.HasPrefix(u, "about:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("a page asked another origin for %s", u)
		}
	}
}

func decodeJSON[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %T: %v", resp.StatusCode, v, err)
	}
	return v
}
