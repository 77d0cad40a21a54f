// Package web is the public site: what the deployment is, its
// transparency reports with charts, how it handles data (generated from
// the live configuration), a receipt checker and the log's status.
// Server-rendered with html/template: no JavaScript, no external assets,
// a strict Content-Security-Policy on every page.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/ombud/ombud/contracts"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/tips"
	"github.com/ombud/ombud/vocab"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/site.css
var siteCSS []byte

// CSP is every page's policy: nothing but this origin's stylesheet, no
// scripts, forms only to this origin, no framing.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Witness is a witness of this log, as the gateway's policy names it.
type Witness struct {
	Name     string
	Verifier note.Verifier // cosignature/v1
}

// WitnessesFromPolicy reads the witness lines of a witness policy
// ("witness NAME VKEY URL").
func WitnessesFromPolicy(policy []byte) []Witness {
	var out []Witness
	for _, line := range strings.Split(string(policy), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "witness" {
			if v, err := fnote.NewVerifierForCosignatureV1(f[2]); err == nil {
				out = append(out, Witness{Name: v.Name(), Verifier: v})
			}
		}
	}
	return out
}

// Disclosure is what the disclosure page shows.
type Disclosure struct {
	Classes []DisclosedClass
	Keeper  string
	// KeyTTL is how long reads go on after the KEK is revoked.
	KeyTTL     string
	Backend    string
	Region     string
	PolicySHA  string
	PolicyText string // served at /disclosure/policy
	// Policy is the policy in force in plain words, from its decisions.
	Policy  *PolicySummary
	Issuers []*ombud.Issuer
	// Recipients are the recipients exports may go to now, counted by
	// category and jurisdiction: never their names.
	Recipients []DisclosedRecipients
	// Jurisdiction is the deployment's; Placeholder says it is the
	// placeholder, which covers no real jurisdiction.
	Jurisdiction string
	Placeholder  bool
	// IssuerKinds: which authorization kinds each kind of issuer may sign.
	IssuerKinds     map[string][]string
	Vocabularies    []DisclosedVocabulary
	DetailRetention []DisclosedRetention
	// TipRecipients is how many keys of the oversight body the
	// whistleblower intake seals to.
	TipRecipients int
}

// DisclosedRecipients counts the active recipients of one category and
// jurisdiction; Abroad says the deployment's jurisdiction does not cover
// theirs.
type DisclosedRecipients struct {
	Category, Jurisdiction string
	Count                  int
	Abroad                 bool
}

// DisclosedVocabulary is a vocabulary of registered codes.
type DisclosedVocabulary struct {
	Name, Title string
	Codes       []vocab.Code
	// System are codes ombud writes itself (no user gives them).
	System []vocab.Code
}

// DisclosedRetention is how long one kind of detail record is kept, and
// why.
type DisclosedRetention struct{ Kind, Kept, Why string }

// DisclosedClass is a data class as the disclosure page shows it.
type DisclosedClass struct {
	Name      string
	Sensitive bool
	Retention string
	Export    string
	Region    string
}

// Log is what the site reads of the transparency log (tlog.Log).
type Log interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	IntegratedSize(ctx context.Context) (uint64, error)
	Receipt(ctx context.Context, index uint64, wait time.Duration) (*receipt.Receipt, error)
	Health(grace time.Duration) (appends, publish error)
}

// Site serves the public pages.
type Site struct {
	// Pseudonym is the deployment's keyed pseudonym (its linkage key),
	// under which the per-client limits count client addresses.
	Pseudonym   func(ns, id string) string
	Origin      string
	VerifierKey string
	Verifier    note.Verifier
	Log         Log
	Reports     *publish.Service
	Witnesses   []Witness
	// PublicURL is where the public reaches this deployment; "" takes the
	// listen address the request came to, never its Host header.
	PublicURL string
	// WitnessGrace is how long the witness policy may go unmet before the
	// status page says the log is not healthy.
	WitnessGrace time.Duration
	// Breaches lists the emergency reads not covered in time.
	Breaches func(ctx context.Context) ([]*ombud.Emergency, error)
	// NoticesOverdue counts the erasure notices owed to recipients of
	// exports for longer than ombud.NoticeWithin.
	NoticesOverdue func(ctx context.Context, now time.Time) (int, error)
	// Quorum reads the multi-party approval in force; the status and
	// disclosure pages show it, or the single-admin set-up mode.
	Quorum func(ctx context.Context) (*ombud.Quorum, error)
	// Systems lists the public registry of analytic systems.
	Systems func(ctx context.Context) ([]*ombud.AnalyticSystem, error)
	// Contracts reads the registry of procurement contracts (/contracts);
	// nil shows it empty.
	Contracts ombud.ContractStore
	// RunCounts counts a system's runs by version and purpose; /systems
	// shows them banded.
	RunCounts func(ctx context.Context, system string, now time.Time) ([]ombud.RunCount, error)
	// ReviewCounts counts a system's flags, reviews, actions and contests
	// by version; /systems shows them banded.
	ReviewCounts func(ctx context.Context, system string) ([]ombud.ReviewCount, error)
	// Band is the transparency reports' band: counts from 1 to Band are
	// shown as the band, so no small group stands out.
	Band int64
	// Capabilities are the optional parts this deployment offers; every
	// page and report section of one it lacks says so.
	Capabilities report.Capabilities
	// Disclosure builds the disclosure page from the live configuration.
	Disclosure func(ctx context.Context) (*Disclosure, error)
	// Build is the running build, which the status and disclosure pages
	// show and /build/sbom.json serves the SBOM of; nil when the gateway
	// logged none (a harness, not ombud serve).
	Build  *RunningBuild
	Logger *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client the per-client limits count.
	TrustedProxies []netip.Prefix
	// Review takes contests at /contest and, with Reviewers, serves the
	// reviewer pages at /review; nil leaves both out.
	Review    *review.Service
	Reviewers *Reviewers
	// Approvers serves, with Reviewers, the approver pages at /approvals:
	// the proposals of privileged operations, for admins; nil leaves them
	// out.
	Approvers *Approvers
	// Tips is the whistleblower intake at /tips; nil leaves it out.
	Tips *tips.Service
	// TipIndex finds the entry of a source's submission by its
	// commitment, for the receipt checker's promises of filing.
	TipIndex func(ctx context.Context, commitment string) (uint64, bool, error)
	// Sessions keeps the reviewer pages' sessions and the per-client
	// limits, in the store every gateway shares; required with Review.
	Sessions ombud.SessionStore

	pages map[string]*template.Template

	sessions   sessions
	signins    *limiter // sign-in attempts per client
	wrongCodes *limiter // notice codes naming no decision, per client
	// wrongCodenames counts the intake's codenames that open nothing, for
	// the whole deployment: the intake keeps nothing of who asks.
	wrongCodenames *limiter
	// tipUploads are the intake's upload slots (tipUploadSlots);
	// uploadStall, when set, replaces tipUploadStall (in tests).
	tipUploads  chan struct{}
	uploadStall time.Duration
	// registryReads bound the registry of contracts read at once for the
	// public pages and the export: each reads the whole registry, and
	// anyone may ask for them.
	registryReads chan struct{}
	registryWait  time.Duration // replaces registryReadWait when set (tests)
	export        exportCache

	mu       sync.Mutex
	lastSeen map[string]witnessView // witness name → its latest cosignature this server has seen
}

var funcs = template.FuncMap{
	"date":        review.Date,
	"published":   publishedAccuracy,
	"pct":         func(f *float64) float64 { return *f * 100 },
	"inc":         func(i int) int { return i + 1 },
	"noSharing":   func() string { return report.NoSharing },
	"noTips":      func() string { return report.NoTips },
	"noContracts": func() string { return report.NoContracts },
	"flagLabel":   func(f string) string { return contracts.FlagLabels[f] },
	"clauseLabel": func(c string) string { return contracts.ClauseLabels[c] },
	"money":       money,
}

// publishedAccuracy says the rates a version published, and which of the
// pair it left out: a rate not published is never shown as 0.
func publishedAccuracy(a ombud.Accuracy) string {
	var out []string
	for _, pair := range [][2]struct {
		name string
		v    float64
	}{{{"FPIR", a.FPIR}, {"FNIR", a.FNIR}}, {{"FMR", a.FMR}, {"FNMR", a.FNMR}}} {
		switch {
		case pair[0].v != 0 && pair[1].v != 0:
			out = append(out, fmt.Sprintf("%s %g, %s %g", pair[0].name, pair[0].v, pair[1].name, pair[1].v))
		case pair[0].v != 0 || pair[1].v != 0:
			have, not := pair[0], pair[1]
			if have.v == 0 {
				have, not = not, have
			}
			out = append(out, fmt.Sprintf("%s %g (%s not published)", have.name, have.v, not.name))
		}
	}
	if len(out) == 0 {
		return "not published"
	}
	return strings.Join(out, "; ")
}

// Handler returns the site's routes.
func (s *Site) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.pages = map[string]*template.Template{}
	if s.Review != nil && s.Sessions == nil {
		panic("web: a Site with Review needs Sessions")
	}
	s.sessions = sessions{store: s.Sessions, logger: s.Logger}
	s.signins = &limiter{name: "signin", max: signinsPerMin, per: time.Minute, store: s.Sessions, logger: s.Logger, pseudonym: s.Pseudonym}
	s.wrongCodes = &limiter{name: "contest-code", max: wrongCodes, per: wrongWindow, store: s.Sessions, logger: s.Logger, pseudonym: s.Pseudonym}
	s.wrongCodenames = &limiter{name: "tips-codename", max: wrongCodenames, per: wrongCodenameWindow, store: s.Sessions, logger: s.Logger, pseudonym: s.Pseudonym}
	if s.Tips != nil && s.Sessions == nil {
		panic("web: a Site with Tips needs Sessions")
	}
	if s.Tips != nil {
		s.tipUploads = make(chan struct{}, tipUploadSlots(s.Tips.MaxBytes))
	}
	s.registryReads = make(chan struct{}, registryReadSlots)
	for _, p := range []string{"home", "reports", "report", "receipt", "status", "disclosure", "systems", "contracts", "contract", "error", "contest", "review", "signin", "notice", "desk", "approvals", "proposal", "tips"} {
		s.pages[p] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/"+p+".html"))
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { rt.h(s, w, r) })
	}
	// Anything else is a page too: a wrong method on a known path, or no
	// such page, each answered as an HTML page with its status.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			s.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page answers "+allow+", not "+r.Method+".")
			return
		}
		s.fail(w, r, http.StatusNotFound, "No such page", "There is no page at this address.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		mux.ServeHTTP(w, r)
	})
}

// routes are the site's pages.
var routes = []struct {
	pattern string
	h       func(*Site, http.ResponseWriter, *http.Request)
}{
	{"GET /{$}", (*Site).home},
	{"GET /reports", (*Site).reportList},
	{"GET /reports/{$}", (*Site).reportList},
	{"GET /reports/{name}", (*Site).report},
	{"GET /receipt", (*Site).receipt},
	{"POST /receipt", (*Site).receipt},
	{"GET /status", (*Site).status},
	{"GET /disclosure", (*Site).disclosure},
	{"GET /disclosure/policy", (*Site).policyText},
	{"GET /build/sbom.json", (*Site).sbom},
	{"GET /build/{sha256}/sbom.json", (*Site).sbom},
	{"GET /systems", (*Site).systems},
	{"GET /contracts", (*Site).contractsPage},
	{"GET /contracts/{ocid}", (*Site).contractPage},
	{"GET /contracts/export.json", (*Site).contractsExport},
	{"GET /contracts/extension/{file}", (*Site).contractsExtension},
	{"GET /static/site.css", (*Site).css},
	{"GET /tips", (*Site).tipsHome},
	{"POST /tips", (*Site).postTip},
	{"POST /tips/open", (*Site).openTip},
	{"POST /tips/followup", (*Site).followUpTip},
	{"GET /contest", (*Site).contest},
	{"POST /contest", (*Site).contest},
	{"GET /review", reviewing((*Site).reviewQueue)},
	{"POST /review/signin", reviewing((*Site).signIn)},
	{"POST /review/signout", reviewing((*Site).signOut)},
	{"POST /review/flags/{id}/reviews", reviewing((*Site).postReview)},
	{"GET /review/flags/{id}", reviewing((*Site).desk)},
	{"GET /review/flags/{flag}/evidence/{object}", reviewing((*Site).evidence)},
	{"HEAD /review/flags/{flag}/evidence/{object}", (*Site).noHead},
	{"POST /review/contests/{id}/resolution", reviewing((*Site).postResolve)},
	{"GET /approvals", approving((*Site).approvals)},
	{"GET /approvals/{id}", approving((*Site).proposal)},
	{"POST /approvals/{id}/vote", approving((*Site).postVote)},
	{"POST /approvals/{id}/run", approving((*Site).postRun)},
}

// allowed lists the methods the site's routes answer on r's path.
func allowed(mux *http.ServeMux, r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := mux.Handler(r2); p != "/" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// noHead refuses HEAD where a GET is a logged decision: a HEAD would
// decide and log a read that releases nothing.
func (s *Site) noHead(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET")
	w.WriteHeader(http.StatusMethodNotAllowed)
}

func (s *Site) css(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(siteCSS)
}

type page struct {
	Site       *Site
	Nav        string
	Checkpoint *checkpointView
	Witnesses  []witnessView
	Reports    []publish.Published
	Listed     []listedReport
	Band       int64
	// page-specific
	R          *report.Report
	P          *publish.Published
	Superseded *publish.Published // the current publication of P's period, when P is not it
	Charts     map[string]template.HTML
	Index      string
	Pasted     string
	Result     *receiptResult
	Healthy    bool
	HealthErr  string
	Integrated uint64
	Breaches   []*ombud.Emergency
	// NoticesOverdue is -1 when it could not be counted.
	NoticesOverdue int
	// Quorum is the multi-party approval in force (nil: not known).
	Quorum   *QuorumView
	BaseURL  string
	D        *Disclosure
	Systems  []*ombud.AnalyticSystem
	RunStats map[string][]RunStat    // by system id
	RevStats map[string][]ReviewStat // by system id
	Title    string
	Message  string
	// the contest and reviewer pages
	Case     *contestView
	Reviewer *ombud.Principal
	CSRF     string
	Queue    []review.Queued
	Contests []review.OpenContest
	Notice   *review.Notice
	Desk     *review.Desk
	// the sign-in page's area (review or approvals), and the approver
	// pages'
	Area     string
	Proposal *proposalView
	Open     []*proposalView
	Closed   []*proposalView
	// Token is a new principal's token, shown once.
	Token string
	// Tips is the whistleblower intake's page.
	Tips *tipsView
	// the registry of contracts: its page, a contract's page, and each
	// system's contract (by system id) on /systems and the disclosure
	// page
	Contracts       *contractsView
	Contract        *contractView
	SystemContracts map[string]systemContract
}

// RunStat is one system version's runs for one purpose, as /systems
// shows them: counts banded as in the transparency reports.
type RunStat struct {
	Version, Purpose string
	Runs, Open, Read report.Count
}

type checkpointView struct {
	Size uint64
	Root string
}

// witnessView is a witness as the pages show it: whether it cosigned the
// latest checkpoint, and its last cosignature seen (of the checkpoint of
// Size, at At).
type witnessView struct {
	Name     string
	Cosigned bool
	Size     uint64
	At       string
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, name string, status int, p *page) {
	p.Site = s
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "base", p); err != nil {
		s.Logger.ErrorContext(r.Context(), "site: template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (s *Site) fail(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, "error", status, &page{Title: title, Message: msg})
}

// logState fills the checkpoint and the witnesses' cosignatures of it.
func (s *Site) logState(ctx context.Context, p *page) {
	raw, err := s.Log.Checkpoint(ctx)
	if err != nil {
		return
	}
	vs := []note.Verifier{s.Verifier}
	for _, wt := range s.Witnesses {
		vs = append(vs, wt.Verifier)
	}
	n, err := note.Open(raw, note.VerifierList(vs...))
	if err != nil {
		return
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) >= 3 {
		size, _ := strconv.ParseUint(lines[1], 10, 64)
		p.Checkpoint = &checkpointView{Size: size, Root: lines[2]}
	}
	// A policy may need only some of the witnesses: one that did not
	// cosign this checkpoint is shown with its last cosignature seen.
	// Checkpoints are not kept, so that is the last one this server saw.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastSeen == nil {
		s.lastSeen = map[string]witnessView{}
	}
	for _, wt := range s.Witnesses {
		v := witnessView{Name: wt.Name}
		for _, sig := range n.Sigs {
			if sig.Name == wt.Verifier.Name() && sig.Hash == wt.Verifier.KeyHash() {
				v.Cosigned = true
				if p.Checkpoint != nil {
					v.Size = p.Checkpoint.Size
				}
				if t, err := fnote.CoSigV1Timestamp(sig); err == nil {
					v.At = t.UTC().Format("2006-01-02 15:04:05 UTC")
				}
			}
		}
		if last, ok := s.lastSeen[wt.Name]; v.Cosigned && (!ok || v.Size >= last.Size) {
			s.lastSeen[wt.Name] = v
		} else if !v.Cosigned && ok {
			v.Size, v.At = last.Size, last.At
		}
		p.Witnesses = append(p.Witnesses, v)
	}
}

func (s *Site) published() []publish.Published {
	if s.Reports == nil {
		return nil
	}
	all, err := s.Reports.List()
	if err != nil {
		s.Logger.Error("site: listing reports", "err", err)
	}
	return all
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "home"}
	s.logState(r.Context(), p)
	// The latest publication of each period, newest first, at most five.
	seen := map[string]bool{}
	for _, rp := range s.published() {
		if !seen[rp.Period] && len(p.Reports) < 5 {
			seen[rp.Period] = true
			p.Reports = append(p.Reports, rp)
		}
	}
	s.render(w, r, "home", http.StatusOK, p)
}

// listedReport is a publication as /reports lists it: the current one of
// its period (the latest), or superseded by it.
type listedReport struct {
	publish.Published
	SupersededBy *publish.Published
}

// listed marks the current publication of each period. all is in List's
// order: each period's latest first.
func listed(all []publish.Published) []listedReport {
	out := make([]listedReport, len(all))
	current := map[string]*publish.Published{}
	for i := range all {
		out[i].Published = all[i]
		if c, ok := current[all[i].Period]; ok {
			out[i].SupersededBy = c
		} else {
			current[all[i].Period] = &all[i]
		}
	}
	return out
}

func (s *Site) reportList(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "reports", Listed: listed(s.published()), Band: report.DefaultBand}
	if s.Reports != nil && s.Reports.Band > 0 {
		p.Band = s.Reports.Band
	}
	s.render(w, r, "reports", http.StatusOK, p)
}

var reportNameRE = regexp.MustCompile(`^([0-9Q.-]{4,22})(?:@([0-9]{1,20}))?(\.json|\.csv|\.note)?$`)

// report serves /reports/PERIOD[@SIZE][.json|.csv|.note]: without a size,
// the period's latest publication.
func (s *Site) report(w http.ResponseWriter, r *http.Request) {
	m := reportNameRE.FindStringSubmatch(r.PathValue("name"))
	if m == nil || s.Reports == nil {
		s.fail(w, r, http.StatusNotFound, "No such report", "There is no report at this address. See the list of transparency reports.")
		return
	}
	var size uint64
	if m[2] != "" {
		size, _ = strconv.ParseUint(m[2], 10, 64)
	}
	pub, err := s.Reports.Get(m[1], size)
	if err != nil {
		if ombud.ErrorCode(err) == ombud.CodeNotFound || ombud.ErrorCode(err) == ombud.CodeInvalid {
			s.fail(w, r, http.StatusNotFound, "No such report", "No report is published for "+m[1]+". See the list of transparency reports.")
			return
		}
		s.Logger.ErrorContext(r.Context(), "site: reading a report", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Report unavailable", "The report could not be read.")
		return
	}
	name := report.Name(pub.Period, pub.Size)
	switch m[3] {
	case ".json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `inline; filename="ombud-report-`+name+`.json"`)
		w.Write(pub.JSON)
		return
	case ".csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="ombud-report-`+name+`.csv"`)
		w.Write(publish.CSV(pub.Report, s.Capabilities))
		return
	case ".note":
		if pub.Note == nil {
			s.fail(w, r, http.StatusNotFound, "No signature", "This report's signed note is not available.")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(pub.Note)
		return
	}
	rp := pub.Report
	bars := func(rows []report.KeyCount) []Bar {
		out := make([]Bar, len(rows))
		for i, k := range rows {
			out[i] = Bar{k.Key, k.Count}
		}
		return out
	}
	// One bar per kind and authority registered: the report's own rows,
	// so a banded count is never added to another.
	var authBars []Bar
	for _, a := range rp.Authorizations {
		if a.Outcome == "registered" {
			authBars = append(authBars, Bar{a.Kind + " · " + a.Issuer, a.Count})
		}
	}
	var superseded *publish.Published
	for _, l := range listed(s.published()) {
		if l.Period == pub.Period && l.Size == pub.Size {
			superseded = l.SupersededBy
		}
	}
	p := &page{Nav: "reports", R: rp, P: pub, Superseded: superseded, Charts: map[string]template.HTML{
		"Time": TimeChart("chart-time", "Access decisions per day in "+rp.Period.Name,
			fmt.Sprintf("One column per day of the period: permitted reads in blue, denials in orange stacked above, counts from 1 to %d in grey at mid-band; decisions on %d days. The table below gives the numbers by class and purpose.", rp.Band, len(rp.Daily)), rp),
		"Denials":  BarChart("chart-denials", "Denials by reason", "One bar per reason code; the table below gives the same numbers.", bars(rp.Denials)),
		"Auths":    BarChart("chart-auths", "Authorizations registered, by kind and authority", "One bar per kind of legal authorization and issuing authority registered in the period.", authBars),
		"Erasures": BarChart("chart-erasures", "Erasures by reason", "One bar per reason records were crypto-shredded.", bars(rp.Erasures)),
	}}
	s.render(w, r, "report", http.StatusOK, p)
}

type receiptResult struct {
	OK     bool
	Error  string
	Index  uint64
	Size   uint64
	Kind   string
	Time   string
	Fields []kv
	// Promise is a promise of filing checked: its entry verified above
	// once logged.
	Promise *promiseResult
}

type kv struct{ K, V string }

// maxPastedReceipt bounds a pasted receipt: an entry of at most 16 KiB,
// a checkpoint and an inclusion proof, base64'd, fit well within.
const maxPastedReceipt = 64 << 10

func (s *Site) receipt(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "receipt"}
	var rc *receipt.Receipt
	var err error
	// promised is a pasted promise of filing whose entry is logged: rc is
	// its receipt.
	var promised *promiseResult
	switch {
	case r.Method == http.MethodPost:
		// A pasted proof of filing is shown back: not to be kept in a
		// browser's cache.
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, maxPastedReceipt+4096)
		if perr := r.ParseForm(); perr != nil {
			p.Result = &receiptResult{Error: "the receipt is too large or the form is malformed"}
			s.render(w, r, "receipt", http.StatusBadRequest, p)
			return
		}
		p.Pasted = r.PostForm.Get("receipt")
		if strings.HasPrefix(strings.TrimSpace(p.Pasted), tips.PromiseHeader) {
			var pr *promiseResult
			pr, rc, err = s.checkPromise(r.Context(), p.Pasted)
			if err == nil && rc == nil {
				p.Result = &receiptResult{Promise: pr}
				s.render(w, r, "receipt", http.StatusOK, p)
				return
			}
			promised = pr
			break
		}
		rc, err = receipt.Parse([]byte(p.Pasted))
	case r.URL.Query().Has("index"):
		p.Index = strings.TrimSpace(r.URL.Query().Get("index"))
		idx, perr := strconv.ParseUint(p.Index, 10, 64)
		if perr != nil || (len(p.Index) > 1 && p.Index[0] == '0') {
			p.Result = &receiptResult{Error: "an index is a whole number such as 42"}
			s.render(w, r, "receipt", http.StatusBadRequest, p)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rc, err = s.Log.Receipt(ctx, idx, 3*time.Second)
	default:
		s.render(w, r, "receipt", http.StatusOK, p)
		return
	}
	if err != nil {
		msg := ombud.ErrorMessage(err)
		var re *entry.Error
		if errors.As(err, &re) {
			msg = "this is not a receipt ombud can read: " + re.Error()
		}
		p.Result = &receiptResult{Error: msg}
		status := http.StatusBadRequest
		if ombud.ErrorCode(err) == ombud.CodeNotFound {
			status = http.StatusNotFound
		}
		s.render(w, r, "receipt", status, p)
		return
	}
	cp, e, err := receipt.Verify(rc, s.Verifier)
	if err != nil {
		var re *entry.Error
		msg := "the receipt does not verify"
		if errors.As(err, &re) {
			msg = re.Error()
		}
		p.Result = &receiptResult{Error: msg}
		s.render(w, r, "receipt", http.StatusOK, p)
		return
	}
	res := &receiptResult{OK: true, Index: rc.Index, Size: cp.Size, Kind: string(e.Kind), Time: e.Time.Format(time.RFC3339Nano)}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.Fields = append(res.Fields, kv{k, fmt.Sprint(e.Fields[k])})
	}
	refs := make([]string, 0, len(e.Refs))
	for k := range e.Refs {
		refs = append(refs, k)
	}
	slices.Sort(refs)
	for _, k := range refs {
		res.Fields = append(res.Fields, kv{"ref " + k, strings.Join(e.Refs[k], ", ")})
	}
	if e.Detail != "" {
		res.Fields = append(res.Fields, kv{"detail commitment", e.Detail})
	}
	if promised != nil {
		// The promise is kept only by an entry of a tip holding its
		// commitment.
		promised.Logged = res.Kind == string(entry.KindTip) && slices.Contains(res.Fields, kv{"commitment", promised.Commitment})
		promised.Misdated = promised.Logged && ombud.Day(e.Time) != promised.Filed
		res.Promise = promised
	}
	p.Result = res
	s.render(w, r, "receipt", http.StatusOK, p)
}

// baseURL is where the public reaches this deployment: the configured
// public URL, else the address the request reached (never what its Host
// header says).
func (s *Site) baseURL(r *http.Request) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	return BaseURL(r)
}

// BaseURL is the address a request reached, as a URL, not what its Host
// header says.
func BaseURL(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return "http://" + a.String()
	}
	return ""
}

func (s *Site) status(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "status", BaseURL: s.baseURL(r)}
	s.logState(r.Context(), p)
	appends, publish := s.Log.Health(s.WitnessGrace)
	switch {
	case appends != nil:
		p.HealthErr = "the log is not accepting appends (" + appends.Error() + "), so every access is denied until it recovers"
	case publish != nil:
		p.HealthErr = "no checkpoint is being published (" + publish.Error() + "): entries are logged, but receipts and audits wait"
	default:
		p.Healthy = true
	}
	p.Integrated, _ = s.Log.IntegratedSize(r.Context())
	if s.Disclosure != nil {
		// Whether the policy allows emergency reads at all, so that "none
		// uncovered" is not said of reads that cannot happen.
		if d, err := s.Disclosure(r.Context()); err == nil {
			p.D = d
		} else {
			s.Logger.ErrorContext(r.Context(), "site: disclosure", "err", err)
		}
	}
	if s.Breaches != nil {
		bs, err := s.Breaches(r.Context())
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "site: breaches", "err", err)
		}
		p.Breaches = bs
	}
	// Counted even where exports are off now: notices owed for exports
	// made before stay owed.
	if s.NoticesOverdue != nil {
		n, err := s.NoticesOverdue(r.Context(), time.Now())
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "site: notices overdue", "err", err)
			n = -1
		}
		p.NoticesOverdue = n
	}
	p.Quorum = s.quorum(r.Context())
	s.render(w, r, "status", http.StatusOK, p)
}

// systems shows the public registry of analytic systems: the deployment's
// counterpart of the EU database of high-risk AI systems.
func (s *Site) systems(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "systems"}
	s.logState(r.Context(), p)
	if s.Systems != nil {
		systems, err := s.Systems(r.Context())
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "site: systems", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The registry of analytic systems could not be read.")
			return
		}
		p.Systems = systems
		if p.SystemContracts, err = s.systemContracts(r.Context(), systems); s.registryFailed(w, r, err, "Registry unavailable") {
			return
		}
	}
	if s.RunCounts != nil {
		p.RunStats = map[string][]RunStat{}
		for _, sys := range p.Systems {
			counts, err := s.RunCounts(r.Context(), sys.ID, time.Now())
			if err != nil {
				s.Logger.ErrorContext(r.Context(), "site: runs", "err", err)
				s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The analytic runs could not be read.")
				return
			}
			p.RunStats[sys.ID] = runStats(counts, s.Band)
		}
	}
	if s.ReviewCounts != nil {
		p.RevStats = map[string][]ReviewStat{}
		for _, sys := range p.Systems {
			counts, err := s.ReviewCounts(r.Context(), sys.ID)
			if err != nil {
				s.Logger.ErrorContext(r.Context(), "site: reviews", "err", err)
				s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The reviews of automated matches could not be read.")
				return
			}
			p.RevStats[sys.ID] = reviewStats(counts, s.Band)
		}
	}
	s.render(w, r, "systems", http.StatusOK, p)
}

// ReviewStat is one system version's flags and what humans made of them,
// as /systems shows them: counts banded as in the transparency reports,
// and the overturn rate (rejections per review) only when both are above
// the band.
type ReviewStat struct {
	Version                             string
	Flags, Reviews, Confirmed, Rejected report.Count
	OverturnRate                        *float64
	Actions                             []report.KeyCount
	Contests                            []report.KeyCount // by outcome: open, upheld, overturned
}

func reviewStats(counts []ombud.ReviewCount, band int64) []ReviewStat {
	if band <= 0 {
		band = report.DefaultBand
	}
	c := func(n int64) report.Count { return report.Count{N: n, Band: band} }
	keyed := func(m map[string]int64) []report.KeyCount {
		out := make([]report.KeyCount, 0, len(m))
		for k, n := range m {
			out = append(out, report.KeyCount{Key: k, Count: c(n)})
		}
		slices.SortFunc(out, func(a, b report.KeyCount) int { return strings.Compare(a.Key, b.Key) })
		return out
	}
	out := make([]ReviewStat, len(counts))
	for i, k := range counts {
		out[i] = ReviewStat{Version: k.Version, Flags: c(k.Flags), Reviews: c(k.Reviews), Confirmed: c(k.Confirmed), Rejected: c(k.Rejected),
			Actions: keyed(k.Actions), Contests: keyed(k.Contests)}
		if k.Reviews > band && k.Rejected > band {
			rate := float64(k.Rejected) / float64(k.Reviews)
			out[i].OverturnRate = &rate
		}
	}
	return out
}

// runStats bands a system's run counts.
func runStats(counts []ombud.RunCount, band int64) []RunStat {
	if band <= 0 {
		band = report.DefaultBand
	}
	c := func(n int64) report.Count { return report.Count{N: n, Band: band} }
	out := make([]RunStat, len(counts))
	for i, k := range counts {
		out[i] = RunStat{Version: k.Version, Purpose: k.Purpose, Runs: c(k.Runs), Open: c(k.Open), Read: c(k.Read)}
	}
	return out
}

func (s *Site) disclosure(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "disclosure"}
	s.logState(r.Context(), p)
	if s.Disclosure == nil {
		s.fail(w, r, http.StatusNotFound, "Not available", "This deployment publishes no disclosure page.")
		return
	}
	d, err := s.Disclosure(r.Context())
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "site: disclosure", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Disclosure unavailable", "The configuration could not be read.")
		return
	}
	p.D = d
	p.Quorum = s.quorum(r.Context())
	if s.Systems != nil {
		if p.Systems, err = s.Systems(r.Context()); err != nil {
			s.Logger.ErrorContext(r.Context(), "site: systems", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "Disclosure unavailable", "The registry of analytic systems could not be read.")
			return
		}
		if p.SystemContracts, err = s.systemContracts(r.Context(), p.Systems); s.registryFailed(w, r, err, "Disclosure unavailable") {
			return
		}
	}
	s.render(w, r, "disclosure", http.StatusOK, p)
}

// RunningBuild is the build of ombud serving the pages, and the log entry
// its gateway logged it in at start.
type RunningBuild struct {
	buildinfo.Running
	Entry uint64
}

// sbom serves the running build's SBOM, whose SHA-256 its build entry
// states. The pages link to /build/SHA256/sbom.json, which a server
// running another build (behind one site with others, or upgraded since)
// answers with 404 instead of another build's SBOM.
func (s *Site) sbom(w http.ResponseWriter, r *http.Request) {
	if s.Build == nil {
		s.fail(w, r, http.StatusNotFound, "Not available", "This server logged no build, so it serves no SBOM.")
		return
	}
	if sum := r.PathValue("sha256"); sum != "" && sum != s.Build.SBOMSHA256 {
		s.fail(w, r, http.StatusNotFound, "Another build", "This server runs another build, whose SBOM is at /build/"+s.Build.SBOMSHA256+"/sbom.json.")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.cyclonedx+json")
	w.Header().Set("Content-Disposition", `attachment; filename="ombud-sbom.cdx.json"`)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", `"sha256:`+s.Build.SBOMSHA256+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(s.Build.SBOM)))
	w.Write(s.Build.SBOM)
}

// QuorumView is the multi-party approval as the pages show it.
type QuorumView struct {
	Enabled bool
	Index   uint64 // the quorum entry that set it; 0 for the set-up mode
	Rows    []QuorumRow
}

// QuorumRow is how many admins some privileged operations need: those
// that need as many share a row.
type QuorumRow struct {
	Admins     int
	Operations []string
}

// quorum reads the quorum for a page; nil when it cannot be read.
func (s *Site) quorum(ctx context.Context) *QuorumView {
	if s.Quorum == nil {
		return nil
	}
	q, err := s.Quorum(ctx)
	if err != nil {
		s.Logger.ErrorContext(ctx, "site: quorum", "err", err)
		return nil
	}
	v := &QuorumView{Enabled: q.Enabled, Index: q.Index}
	for _, op := range ombud.PrivilegedOperations {
		n := q.Needs(op)
		i := slices.IndexFunc(v.Rows, func(r QuorumRow) bool { return r.Admins == n })
		if i < 0 {
			v.Rows = append(v.Rows, QuorumRow{Admins: n})
			i = len(v.Rows) - 1
		}
		v.Rows[i].Operations = append(v.Rows[i].Operations, op)
	}
	slices.SortFunc(v.Rows, func(a, b QuorumRow) int { return b.Admins - a.Admins })
	return v
}
