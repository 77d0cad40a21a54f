package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/web"
)

// TestPagesHeadersAndBadInput: every page carries the CSP and answers bad
// input with a clear page and the right status, changing nothing.
func TestPagesHeadersAndBadInput(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	populate(t, e)
	e.AwaitSize(t, e.Size(t))
	p, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	pub, err := e.Reports.Publish(context.Background(), p, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, pub.Index+1)
	before := e.Size(t)
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, c := range []struct {
		path   string
		status int
		ctype  string
		want   string
	}{
		{"/", 200, "text/html", "The log now"},
		{"/reports", 200, "text/html", p.Name},
		{"/reports/" + p.Name, 200, "text/html", "Transparency report for " + p.Name},
		{"/reports/" + p.Name + ".json", 200, "application/json", `"format": "ombud-report/v1"`},
		{"/reports/" + p.Name + ".csv", 200, "text/csv", "section,key1,key2,key3,count"},
		{"/reports/" + p.Name + ".note", 200, "text/plain", "ombud-report/v1\norigin "},
		{"/disclosure", 200, "text/html", "Data classes and retention"},
		{"/systems", 200, "text/html", "No analytic system is registered"},
		{"/status", 200, "text/html", "Accepting new entries"},
		{"/receipt", 200, "text/html", "Entry index"},
		{"/static/site.css", 200, "text/css", "body"},
		{"/reports/", 200, "text/html", p.Name},
		{"/reports/2001-01", 404, "text/html", "No report is published for 2001-01"},
		{"/reports/nonsense", 404, "text/html", "No such report"},
		{"/reports/2026-13", 404, "text/html", "No report"},
		{"/reports/..%2f..%2fombud.toml", 404, "text/html", "No such report"},
		{"/receipt?index=abc", 400, "text/html", "an index is a whole number"},
		{"/receipt?index=01", 400, "text/html", "an index is a whole number"},
		{"/receipt?index=99999999", 404, "text/html", "Not verified"},
	} {
		resp, body := get(c.path)
		if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d %s, want %d %s with %q:\n%.300s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.ctype, c.want, body)
		}
		if strings.HasPrefix(c.ctype, "text/html") && resp.Header.Get("Content-Security-Policy") != web.CSP {
			t.Errorf("GET %s: CSP %q", c.path, resp.Header.Get("Content-Security-Policy"))
		}
		if strings.Contains(body, "<script") {
			t.Errorf("GET %s: the page has a script", c.path)
		}
	}
	// Wrong methods and missing pages outside the API are HTML pages with
	// their status; the API's own paths stay JSON.
	for _, c := range []struct {
		method, path, accept string
		status               int
		ctype, want, allow   string
	}{
		{"DELETE", "/reports", "", 405, "text/html", "This page answers GET, not DELETE.", "GET"},
		{"PUT", "/receipt", "", 405, "text/html", "This page answers GET, POST, not PUT.", "GET, POST"},
		{"POST", "/", "text/html", 405, "text/html", "Method not allowed", "GET"},
		{"GET", "/no-such-page", "text/html,application/xhtml+xml", 404, "text/html", "There is no page at this address.", ""},
		{"GET", "/no-such-page", "", 404, "text/html", "There is no page at this address.", ""},
		{"GET", "/v1/no-such-endpoint", "text/html", 404, "application/json", `"code"`, ""},
		{"DELETE", "/v1/reports", "text/html", 405, "application/json", `"code"`, "POST"},
	} {
		req, _ := http.NewRequest(c.method, e.URL+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.want) || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s (Accept %q): %d %s Allow %q, want %d %s Allow %q with %q:\n%.300s", c.method, c.path, c.accept, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), c.status, c.ctype, c.allow, c.want, b)
		}
		if strings.HasPrefix(c.ctype, "text/html") && resp.Header.Get("Content-Security-Policy") != web.CSP {
			t.Errorf("%s %s: CSP %q", c.method, c.path, resp.Header.Get("Content-Security-Policy"))
		}
	}
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"garbage", "receipt=hello", 400, "this is not a receipt ombud can read"},
		{"empty", "receipt=", 400, "this is not a receipt ombud can read"},
		{"too large", "receipt=" + strings.Repeat("a", 100<<10), 400, "too large"},
	} {
		resp, err := http.Post(e.URL+"/receipt", "application/x-www-form-urlencoded", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
			t.Errorf("POST /receipt %s: %d, want %d with %q", c.name, resp.StatusCode, c.status, c.want)
		}
	}
	resp, err := http.PostForm(e.URL+"/receipt", url.Values{"receipt": {`{"v":1,"index":0}`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if after := e.Size(t); after != before {
		t.Fatalf("the public pages changed the log: %d → %d entries", before, after)
	}
}

// TestWitnessLastCosignature: under a policy that needs one of two
// witnesses, a witness that stops cosigning is shown with "No" and the
// last cosignature the site saw from it, not a blank.
func TestWitnessLastCosignature(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.WitnessedBy(2, 1))
	home := func() string {
		t.Helper()
		return string(ombudtest.Get(t, e.URL+"/"))
	}
	// One cosignature is enough to publish, so w2's is on a checkpoint only
	// when it answered in time: add entries until the site has seen one.
	yes := regexp.MustCompile(`<td>witness.test/w2</td><td><span class="ok">Yes</span></td><td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>`)
	for i := 0; ; i++ {
		e.AddPrincipal(t, fmt.Sprint("a", i), ombud.RoleAnalyst)
		e.AwaitSize(t, e.Size(t))
		if yes.MatchString(home()) {
			break
		}
		if i == 50 {
			t.Fatalf("w2 never seen cosigning:\n%s", home())
		}
	}
	seen := e.Size(t)
	e.WitnessServers[1].Close()
	e.AddPrincipal(t, "b", ombud.RoleAnalyst)
	e.AwaitSize(t, seen+1)
	h := home()
	no := regexp.MustCompile(`<td>witness.test/w2</td><td><span class="bad">No</span></td><td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC, of the checkpoint of size (\d+)</td>`)
	m := no.FindStringSubmatch(h)
	if m == nil || !strings.Contains(h, `<td>witness.test/w1</td><td><span class="ok">Yes</span>`) {
		t.Fatalf("w2 after it stopped:\n%s", h)
	}
	if n, _ := strconv.ParseUint(m[1], 10, 64); n == 0 || n > seen {
		t.Fatalf("w2's last cosignature is of size %d; it was last seen at %d", n, seen)
	}
}

// TestDisclosureListsWhatThePublicLogMayHold: the disclosure page lists
// every vocabulary with its descriptions, the deployment's jurisdiction
// (and says when it is the placeholder), what each kind of issuer may
// sign, and how long each kind of detail record is kept and why.
func TestDisclosureListsWhatThePublicLogMayHold(t *testing.T) {
	t.Parallel()
	for _, placeholder := range []bool{false, true} {
		var opts []ombudtest.Option
		if placeholder {
			opts = append(opts, ombudtest.Config(func(c *datadir.Config) { c.Access.Jurisdiction = "" }))
		}
		e := ombudtest.New(t, opts...)
		page := string(ombudtest.Get(t, e.URL+"/disclosure"))
		for _, want := range []string{
			"<h3>Purposes of a read</h3>", "<code>criminal_investigation</code></td><td>Investigating a specific criminal offence",
			"<h3>Reasons for a legal hold and its release</h3>", "<code>litigation</code>",
			"<code>retention_expired</code></td><td>The class&#39;s retention period ended", "(written by ombud itself)",
			"<h3>Jurisdictions</h3>", "<td>supervisory</td><td>administrative_order</td>",
			"<td>access</td><td>2190 days (6 years)</td><td>Oversight bodies",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the disclosure page lacks %q", want)
			}
		}
		says := strings.Contains(page, "which covers no real jurisdiction")
		if says != placeholder || !placeholder && !strings.Contains(page, "This deployment operates in <code>EU-DE</code>") {
			t.Errorf("placeholder %v: the page says placeholder %v", placeholder, says)
		}
	}
}

// TestStatusIgnoresTheHostHeader: the audit command on /status names the
// configured public URL, or the address the gateway listens on, never what
// a request's Host header claims.
func TestStatusIgnoresTheHostHeader(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"", "https://records.example.org"} {
		e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) { c.Server.PublicURL = public }))
		req, _ := http.NewRequest("GET", e.URL+"/status", nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET /status: %d", resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := public
		if want == "" {
			want = e.URL
		}
		if strings.Contains(string(b), "evil.example") || !strings.Contains(string(b), "ombud audit --log "+want+" ") {
			t.Errorf("public URL %q: the status page's audit command:\n%s", public, b)
		}
	}
}

// TestHomeClaimsNoWitnessesItLacks: a deployment without witnesses does
// not say that witnesses cosign its log, and says which records need an
// authorization instead of claiming every one does.
func TestHomeClaimsNoWitnessesItLacks(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	resp := e.Do(t, "GET", "/", "", "", "")
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if strings.Contains(body, "independent witnesses cosign the log") || !strings.Contains(body, "no witnesses are configured yet") {
		t.Errorf("the home page of an unwitnessed log: %s", body)
	}
	if !strings.Contains(body, "a record of a sensitive class only under a signed legal authorization") {
		t.Error("the home page claims every record needs an authorization")
	}
}
