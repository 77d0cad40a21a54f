package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/web"
)

// noLog is a log with nothing published yet: the pages under test need
// no checkpoint.
type noLog struct{}

func (noLog) Checkpoint(context.Context) ([]byte, error)     { return nil, errors.New("none yet") }
func (noLog) IntegratedSize(context.Context) (uint64, error) { return 0, nil }
func (noLog) Receipt(context.Context, uint64, time.Duration) (*receipt.Receipt, error) {
	return nil, errors.New("none")
}
func (noLog) Health(time.Duration) (error, error) { return nil, nil }

// capsSite serves a site with caps, under the default configuration and
// policy (or policyText), with the report of 2026-11 published at sizes
// 5 and 9.
func capsSite(t *testing.T, caps report.Capabilities, policyText string, edit func(*report.Report)) string {
	t.Helper()
	dir := t.TempDir()
	p, _ := report.ParsePeriod("2026-11")
	for _, size := range []uint64{5, 9} {
		r := report.Compute(report.Options{Origin: "test.example/log", Period: p, Checkpoint: report.Checkpoint{Size: size}}, func(func([]byte) bool) {})
		if edit != nil {
			edit(r)
		}
		js, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, report.Name(p.Name, size)+".json"), js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if policyText == "" {
		policyText = access.DefaultPolicy
	}
	pol, err := access.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	site := &web.Site{Origin: "test.example/log", Log: noLog{}, Reports: &publish.Service{Config: publish.Config{Dir: dir}}, Capabilities: caps,
		Disclosure: web.DisclosureFor(datadir.Defaults(), caps, func() *access.Policy { return pol }, nil, nil)}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", url, resp.StatusCode, b)
	}
	return string(b)
}

// section is the part of a page from its heading to the next h2.
func section(page, heading string) string {
	i := strings.Index(page, "<h2>"+heading+"</h2>")
	if i < 0 {
		return ""
	}
	rest := page[i+len(heading)+9:]
	if j := strings.Index(rest, "<h2"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestEachMissingCapabilitySaysNotOffered: for each optional capability,
// a deployment that lacks it (and offers the others) says so on every
// page and in every report section about it, and shows no count for it;
// the capabilities it offers are not called missing.
func TestEachMissingCapabilitySaysNotOffered(t *testing.T) {
	t.Parallel()
	type capability struct {
		name      string
		statement string
		lack      func(*report.Capabilities)
		// sections of the report page about it, and CSV sections
		sections []string
		csv      []string
	}
	for _, c := range []capability{
		{"sharing", report.NoSharing, func(c *report.Capabilities) { c.Sharing = false }, []string{"Sharing with other bodies"}, []string{"exports"}},
		{"tips", report.NoTips, func(c *report.Capabilities) { c.Tips = false }, []string{"Whistleblower reports"}, []string{"tips"}},
		{"contracts", report.NoContracts, func(c *report.Capabilities) { c.Contracts = false }, []string{"Procurement contracts"}, []string{"contracts", "contracts_missing_clauses"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			all := report.Capabilities{Sharing: true, Tips: true, Contracts: true}
			caps := all
			c.lack(&caps)
			url := capsSite(t, caps, "", nil)
			offered := capsSite(t, all, "", nil)
			for _, path := range []string{"/", "/disclosure", "/reports/2026-11"} {
				if page := get(t, url+path); !strings.Contains(page, c.statement) {
					t.Errorf("%s does not say %q", path, c.statement)
				}
				if page := get(t, offered+path); strings.Contains(page, c.statement) {
					t.Errorf("%s says %q of a deployment that offers it", path, c.statement)
				}
			}
			rp := get(t, url+"/reports/2026-11")
			for _, h := range c.sections {
				s := section(rp, h)
				if !strings.Contains(s, "Not offered: "+c.statement) || strings.Contains(s, "None.") || strings.Contains(s, ": 0.") || strings.Contains(s, ">0<") {
					t.Errorf("report section %q:\n%s", h, s)
				}
				if s := section(get(t, offered+"/reports/2026-11"), h); strings.Contains(s, "Not offered") || s == "" {
					t.Errorf("report section %q, offered:\n%s", h, s)
				}
			}
			csv := get(t, url+"/reports/2026-11.csv")
			for _, sec := range c.csv {
				if !strings.Contains(csv, "\n"+sec+",,,,"+publish.NotOffered+"\n") || strings.Contains(csv, "\n"+sec+",,,,0\n") {
					t.Errorf("CSV section %s:\n%s", sec, csv)
				}
			}
			if c.name == "contracts" {
				if page := get(t, url+"/systems"); !strings.Contains(page, c.statement) {
					t.Errorf("/systems does not say %q", c.statement)
				}
			}
			if c.name == "sharing" {
				page := get(t, url+"/disclosure")
				for _, claim := range []string{"to registered recipients", "sharing scope names the recipient", `<th scope="col">Sharing</th>`} {
					if strings.Contains(page, claim) {
						t.Errorf("the disclosure page claims sharing: %q", claim)
					}
				}
				if page := get(t, offered+"/disclosure"); !strings.Contains(page, "sharing scope names the recipient") {
					t.Error("a deployment that shares does not show each class's rule")
				}
			}
		})
	}
	// Entries of a capability the deployment lacks are still shown when
	// the log holds them: "not offered" never hides a count.
	url := capsSite(t, report.Capabilities{}, "", func(r *report.Report) {
		r.Tips = report.Count{N: 12, Band: 9}
		r.Exports = []report.ExportRow{{RecipientCategory: "police", Decision: "permit", Count: report.Count{N: 3, Band: 9}}}
	})
	rp := get(t, url+"/reports/2026-11")
	if s := section(rp, "Whistleblower reports"); !strings.Contains(s, "received in the period: 12.") {
		t.Errorf("tips logged though not offered:\n%s", s)
	}
	if s := section(rp, "Sharing with other bodies"); !strings.Contains(s, "<td>police</td>") || !strings.Contains(s, report.NoSharing) {
		t.Errorf("exports logged though not offered:\n%s", s)
	}
}

// TestDeploymentPagesSayNotOffered: a deployment opened through the
// gateway with its default configuration offers neither sharing nor the
// whistleblower intake, and its pages and its published report say so
// for each, with no zero count. Every deployment keeps the registry of
// contracts: none of them says it does not.
func TestDeploymentPagesSayNotOffered(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	populate(t, e)
	e.AwaitSize(t, e.Size(t))
	p, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	if _, err := e.Reports.Publish(context.Background(), p, e.AdminID); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, path := range []string{"/", "/disclosure", "/systems", "/reports", "/reports/" + p.Name, "/reports/" + p.Name + ".csv"} {
		pages[path] = get(t, e.URL+path)
	}
	for _, path := range []string{"/", "/disclosure", "/reports/" + p.Name} {
		for _, s := range []string{report.NoSharing, report.NoTips} {
			if !strings.Contains(pages[path], s) {
				t.Errorf("%s does not say %q", path, s)
			}
		}
		if strings.Contains(pages[path], report.NoContracts) {
			t.Errorf("%s says %q", path, report.NoContracts)
		}
	}
	rp := pages["/reports/"+p.Name]
	for _, bad := range []string{"Whistleblower reports received", "Contests and contracts"} {
		if strings.Contains(rp, bad) {
			t.Errorf("the report shows %q", bad)
		}
	}
	if strings.Contains(pages["/reports"], "exports") {
		t.Error("/reports says reports count exports")
	}
	if strings.Contains(pages["/systems"], report.NoContracts) {
		t.Error("/systems says there is no procurement register")
	}
	for _, sec := range []string{"exports", "tips"} {
		if !strings.Contains(pages["/reports/"+p.Name+".csv"], "\n"+sec+",,,,"+publish.NotOffered+"\n") {
			t.Errorf("the CSV does not say %s is not offered", sec)
		}
	}
}

// TestPolicySummaryIsAskedOfThePolicy: the disclosure page summarises the
// policy in force from its decisions (so a changed policy changes the
// summary), before anything else about it, and links to its exact text.
func TestPolicySummaryIsAskedOfThePolicy(t *testing.T) {
	t.Parallel()
	url := capsSite(t, report.Capabilities{}, "", nil)
	page := get(t, url+"/disclosure")
	for _, want := range []string{
		"<td>document, general</td><td>Without an authorization, for any stated purpose</td>",
		"<td>biometric (sensitive), communications (sensitive), location (sensitive), media (sensitive)</td><td>Under a registered authorization that covers the read and names its subjects, for any stated purpose, never under one naming every subject</td>",
		"Every action on an automated match needs the confirmations of 2 distinct reviewers before an analyst may take it, and none of its reviewers may have rejected the match.",
		"Emergency access without a prior authorization is not allowed for any class.",
		"No other role (admin, ingestor, auditor) may read a record.",
		"yes, the evidence of a flag they may review",
		`<a href="/disclosure/policy">/disclosure/policy</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	if strings.Contains(page, "@id(") || strings.Contains(page, "permit (principal") {
		t.Error("the disclosure page shows the raw policy")
	}
	if i, j := strings.Index(page, "Who may read what"), strings.Index(page, "Data classes and retention"); i < 0 || j < i {
		t.Error("the policy summary is not first")
	}
	if st := get(t, url+"/status"); !strings.Contains(st, "The access policy in force allows no emergency read without a prior authorization") {
		t.Error("/status speaks of emergency reads the policy does not allow")
	}
	text := get(t, url+"/disclosure/policy")
	sum := sha256.Sum256([]byte(text))
	if text != access.DefaultPolicy || !strings.Contains(page, hex.EncodeToString(sum[:])) {
		t.Error("/disclosure/policy is not the policy whose hash the page names")
	}

	// Another policy: three confirmations, emergency reads of location.
	changed := strings.Replace(access.DefaultPolicy, "context.confirmations >= 2", "context.confirmations >= 3", 1)
	changed = strings.Replace(changed, "// @id(\"read-emergency-location\")\n// permit (principal, action == Action::\"read\", resource)\n// when", "@id(\"read-emergency-location\")\npermit (principal, action == Action::\"read\", resource)\nwhen", 1)
	page = get(t, capsSite(t, report.Capabilities{}, changed, nil)+"/disclosure")
	if st := get(t, capsSite(t, report.Capabilities{}, changed, nil)+"/status"); !strings.Contains(st, "every emergency read was covered") {
		t.Error("/status under a policy allowing emergency reads")
	}
	for _, want := range []string{
		"needs the confirmations of 3 distinct reviewers",
		"Emergency access without a prior authorization is allowed for location, for any stated purpose. An authorization covering each such read must be registered within 48 hours",
		"; or in an emergency, before an authorization, for any stated purpose</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the changed policy's summary lacks %q", want)
		}
	}
}

// TestReportsMarkCurrentAndSuperseded: of a period published twice, the
// later publication is current and the earlier is superseded by it, in
// the list and on its own page.
func TestReportsMarkCurrentAndSuperseded(t *testing.T) {
	t.Parallel()
	url := capsSite(t, report.Capabilities{}, "", nil)
	list := get(t, url+"/reports")
	if !strings.Contains(list, `<td><a href="/reports/2026-11@9">2026-11</a></td><td class="num">9</td><td><span class="current">current</span></td>`) ||
		!strings.Contains(list, `<td><a href="/reports/2026-11@5">2026-11</a></td><td class="num">5</td><td>superseded by <a href="/reports/2026-11@9">2026-11 at 9 entries</a></td>`) {
		t.Errorf("the list:\n%s", list)
	}
	old := get(t, url+"/reports/2026-11@5")
	if !strings.Contains(old, `Superseded: this publication was computed at 5 entries. The current report for 2026-11 is <a href="/reports/2026-11@9">`) {
		t.Errorf("the superseded report does not say so:\n%.2000s", old)
	}
	for _, path := range []string{"/reports/2026-11@9", "/reports/2026-11"} {
		if strings.Contains(get(t, url+path), "Superseded") {
			t.Errorf("%s, the current report, says it is superseded", path)
		}
	}
}
