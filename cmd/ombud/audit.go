package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/fsutil"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/tips"
	"github.com/ombud/ombud/vocab"
)

func auditCommand() command {
	return command{name: "audit", usage: "--log URL|DIR --key VKEY [--witness VKEY …] [--state DIR] [--token-file FILE] [--reports URL|DIR] [--auditor-report PERIOD] [--expect-build SHA256 …] [--json]", need: []string{"key"},
		summary: "audit a log: checkpoint, witnesses, consistency, every entry and tile, the invariants (exit 3 on findings)",
		example: "ombud audit --log https://records.example.org --key log.pub --witness w1.pub --state audit-state",
		setup:   (*Main).auditSetup,
	}
}

func (m *Main) auditSetup(fs *flag.FlagSet) action {
	def := m.Getenv("OMBUD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	logURL := fs.String("log", def, "the deployment (https://host), its tlog-tiles prefix (https://host/log/), or a directory: a copy of its /log/ (checkpoint, tile/…) or a data directory; env OMBUD_SERVER")
	fs.StringVar(logURL, "server", def, "same as --log")
	key := fs.String("key", "", "the log's note verifier key, or a file holding it (required: never trust the server for it)")
	var witnesses multiFlag
	fs.Var(&witnesses, "witness", "a witness's cosignature verifier key, or a file holding it (repeatable)")
	quorum := fs.Int("quorum", 0, "how many of the --witness keys must have cosigned (default: all)")
	stateDir := fs.String("state", "", "directory for the audit state: the next run resumes there and checks consistency with this one")
	tokenFile := fs.String("token-file", "", "file holding an auditor token: also check every detail record (env OMBUD_AUDITOR_TOKEN)")
	reportsFrom := fs.String("reports", "", "where the published reports are: a site URL or a directory of PERIOD@SIZE.json files (default: the deployment named by --log)")
	auditorReport := fs.String("auditor-report", "", "with an auditor token: compute the transparency report of this period (2026-11, 2026-Q4, 2026, 2026-11-01..2026-11-15) in auditor mode, with what became of every detail record")
	auditorReportOut := fs.String("auditor-report-out", "", "file for the auditor-mode report (default auditor-report-PERIOD@SIZE.json)")
	band := fs.Int64("band", report.DefaultBand, "the deployment's band for small counts, for the auditor-mode report's public figures")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var sensitive multiFlag
	fs.Var(&sensitive, "sensitive", "a class that needs an authorization to read (repeatable; default: ombud's sensitive classes)")
	minReviews := fs.Int("min-reviews", audit.DefaultMinReviews, "distinct confirming reviewers an action needs")
	deadline := fs.Duration("emergency-deadline", vocab.DefaultEmergencyDeadline, "time an emergency read may stay uncovered")
	tolerance := fs.Duration("time-tolerance", audit.DefaultTimeTolerance, "how far an entry's time may lie behind the latest before it")
	progress := fs.Bool("progress", true, "draw a progress bar when stderr is a terminal")
	var expectBuilds multiFlag
	fs.Var(&expectBuilds, "expect-build", "the SHA-256 of an executable you accept, as sha256sum prints that of a release you rebuilt (docs/RELEASING.md); repeatable: a build entry naming another is a finding, and so is an entry logged before any build entry")
	var promises multiFlag
	fs.Var(&promises, "tip-promise", "a whistleblower's proof of filing (a file): reported if its day passed with no record of it in the log (repeatable)")
	return func(ctx context.Context, _ []string) error {
		var expect []string
		for _, e := range expectBuilds {
			sum := strings.ToLower(strings.TrimSpace(e))
			if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
				return usagef("--expect-build %q: want the executable's SHA-256, 64 hex digits, as sha256sum prints it", e)
			}
			expect = append(expect, sum)
		}
		return m.audit(ctx, auditFlags{promises: promises, logURL: *logURL, key: *key, witnesses: witnesses, quorum: *quorum, stateDir: *stateDir, tokenFile: *tokenFile,
			reportsFrom: *reportsFrom, auditorReport: *auditorReport, auditorReportOut: *auditorReportOut, band: *band, asJSON: *asJSON,
			rules: audit.Rules{Sensitive: sensitive, MinReviews: *minReviews, EmergencyDeadline: *deadline, TimeTolerance: *tolerance, ExpectBuilds: expect}, progress: *progress})
	}
}

type auditFlags struct {
	logURL, key, stateDir, tokenFile, reportsFrom, auditorReport, auditorReportOut string
	witnesses, promises                                                            []string
	quorum                                                                         int
	band                                                                           int64
	asJSON, progress                                                               bool
	rules                                                                          audit.Rules
}

// audit runs one audit. A run that cannot complete is an error (exit 1);
// one that completes with findings is a failed check (exit 3).
func (m *Main) audit(ctx context.Context, o auditFlags) error {
	// The audit allocates per entry; collect as the server does.
	m.tuneRuntime(datadir.Defaults().Runtime)
	v, err := loadVerifier(o.key)
	if err != nil {
		return err
	}
	var wvs []note.Verifier
	for _, w := range o.witnesses {
		s := w
		if _, err := os.Stat(w); err == nil {
			b, err := readLimited(w, 4096)
			if err != nil {
				return err
			}
			s = string(b)
		}
		wv, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(s))
		if err != nil {
			return usagef("--witness %s: %v", w, err)
		}
		wvs = append(wvs, wv)
	}
	// Every response is bounded by what its format allows: a hostile log
	// cannot make the auditor read without end.
	hc := audit.LimitedClient(&http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}})
	var f audit.Fetcher
	var reports audit.ReportSource
	server := ""
	if local, reportsDir, ok := localLog(o.logURL); ok {
		// A copy on disk: no server to ask for detail records, and the
		// published reports only where they were copied too.
		if o.tokenFile != "" || o.auditorReport != "" {
			return usagef("--log %s is a directory: detail records (--token-file, --auditor-report) come from a deployment; give its URL", o.logURL)
		}
		f, reports = audit.DirLog{Dir: local}, noReports{}
		if reportsDir != "" {
			reports = audit.DirReports{Dir: reportsDir}
		}
	} else {
		tiles, srv, err := splitLogURL(o.logURL)
		if err != nil {
			return err
		}
		hf, err := tclient.NewHTTPFetcher(tiles, hc)
		if err != nil {
			return err
		}
		f, server, reports = hf, srv, &audit.HTTPReports{Server: srv, Client: hc}
	}
	if o.reportsFrom != "" {
		if st, err := os.Stat(o.reportsFrom); err == nil && st.IsDir() {
			reports = audit.DirReports{Dir: o.reportsFrom}
		} else if u, err := url.Parse(o.reportsFrom); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			reports = &audit.HTTPReports{Server: o.reportsFrom, Client: hc}
		} else {
			return usagef("--reports %q: want a site URL or an existing directory", o.reportsFrom)
		}
	}
	cfg := audit.Config{Log: f, Verifier: v, Witnesses: wvs, Quorum: o.quorum, Reports: reports,
		Rules: o.rules}
	for _, file := range o.promises {
		raw, err := readLimited(file, 4096)
		if err != nil {
			return err
		}
		p, err := tips.OpenPromise(raw, v)
		if err != nil {
			return usagef("--tip-promise %s: %v", file, err)
		}
		cfg.TipPromises = append(cfg.TipPromises, p)
	}
	// Tokens are never flags (docs/CLI.md): a command line is visible to
	// other users of the machine.
	tok := ""
	if o.tokenFile != "" {
		b, err := readLimited(o.tokenFile, 4096)
		if err != nil {
			return fmt.Errorf("failed to read token file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" && server != "" {
		tok = strings.TrimSpace(m.Getenv("OMBUD_AUDITOR_TOKEN"))
	}
	if tok != "" {
		cfg.Details = &audit.HTTPDetails{Server: server, Token: tok, Client: hc}
	}
	if o.auditorReport != "" {
		p, err := report.ParsePeriod(o.auditorReport)
		if err != nil {
			return usagef("--auditor-report: %v", err)
		}
		if cfg.Details == nil {
			return usagef("--auditor-report needs an auditor token (--token-file or OMBUD_AUDITOR_TOKEN); every audit recomputes the published reports without one")
		}
		if o.band < 1 {
			return usagef("--band %d: want 1 or more", o.band)
		}
		cfg.AuditorReport, cfg.ReportBand = &p, o.band
	}
	statePath := ""
	if o.stateDir != "" {
		if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
			return err
		}
		statePath = filepath.Join(o.stateDir, "state.json")
		b, err := os.ReadFile(statePath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		default:
			cfg.State = &audit.State{}
			if err := json.Unmarshal(b, cfg.State); err != nil {
				return fmt.Errorf("%s: %w", statePath, err)
			}
		}
	}
	if o.progress && !o.asJSON && isTerminal(m.Stderr) {
		cfg.Progress = progressBar(m.Stderr)
	}
	rep, next, err := audit.Run(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprint(m.Stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	if next != nil && statePath != "" {
		b, _ := json.Marshal(next)
		if err := fsutil.WriteFile(statePath, b, 0o600); err != nil {
			return fmt.Errorf("failed to save the audit state: %w", err)
		}
	}
	if r := rep.AuditorReport; r != nil {
		out := o.auditorReportOut
		if out == "" {
			out = "auditor-report-" + report.Name(r.Period.Name, r.Checkpoint.Size) + ".json"
		}
		b, err := r.Marshal()
		if err == nil {
			err = fsutil.WriteFile(out, b, 0o600)
		}
		if err != nil {
			return fmt.Errorf("failed to write the auditor-mode report: %w", err)
		}
		if !o.asJSON {
			fmt.Fprintf(m.Stdout, "Auditor-mode report for %s at size %d written to %s. Detail records of the period: %s.\n", r.Period.Name, r.Checkpoint.Size, out, detailSummary(r.Auditor))
		}
	}
	if o.asJSON {
		printJSON(m.Stdout, rep)
	} else {
		printAudit(m.Stdout, rep, cfg.Details != nil)
	}
	if !rep.Clean() {
		return checkFailed{fmt.Errorf("log %s: %d findings (%d in this run)", rep.Origin, len(rep.Findings)+len(rep.Earlier), len(rep.Findings))}
	}
	return nil
}

// detailSummary sums the auditor's figures by status: "12 verified, 3
// erased".
func detailSummary(a *report.AuditorFigures) string {
	by := map[report.DetailStatus]int64{}
	for _, d := range a.Details {
		by[d.Status] += d.Count.N
	}
	var parts []string
	for _, st := range []report.DetailStatus{report.DetailVerified, report.DetailErased, report.DetailMissing, report.DetailMismatch} {
		if by[st] > 0 || st == report.DetailVerified {
			parts = append(parts, fmt.Sprintf("%d %s", by[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

// localLog says whether --log names a directory on disk, and finds its
// tiles and published reports: a data directory, or a copy of a whole
// site, holds them in log/ and reports/; a copy of /log/ holds the tiles
// itself and no reports.
func localLog(s string) (tiles, reports string, ok bool) {
	if st, err := os.Stat(s); err != nil || !st.IsDir() {
		return "", "", false
	}
	if st, err := os.Stat(filepath.Join(s, "log", "checkpoint")); err == nil && st.Mode().IsRegular() {
		tiles = filepath.Join(s, "log")
		if st, err := os.Stat(filepath.Join(s, "reports")); err == nil && st.IsDir() {
			reports = filepath.Join(s, "reports")
		}
		return tiles, reports, true
	}
	return s, "", true
}

// splitLogURL takes a deployment URL or its tlog-tiles prefix and returns
// both.
func splitLogURL(s string) (tiles *url.URL, server string, err error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", usagef("--log %q: want a URL like https://records.example.org", s)
	}
	p := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(p, "/log") {
		u.Path = p + "/"
		srv := *u
		srv.Path = strings.TrimSuffix(p, "/log")
		return u, strings.TrimRight(srv.String(), "/"), nil
	}
	srv := strings.TrimRight(u.String(), "/")
	u.Path = p + "/log/"
	return u, srv, nil
}

func printAudit(w io.Writer, rep *audit.Result, details bool) {
	parts := []string{"the signature"}
	if len(rep.Witnessed) > 0 {
		parts = append(parts, "the cosignatures of "+strings.Join(rep.Witnessed, ", "))
	}
	parts = append(parts, "consistency with the last audit", "every new entry and tile", "the public invariants")
	if details {
		parts = append(parts, "every detail commitment")
	}
	if rep.Reports > 0 {
		parts = append(parts, fmt.Sprintf("%d published reports, recomputed byte for byte", rep.Reports))
	}
	if rep.Clean() {
		fmt.Fprintf(w, "OK: log %s, checkpoint size %d. Verified %s (%d new entries from %d, %d tiles, %d details, %.0f entries/s)\n",
			rep.Origin, rep.Size, strings.Join(parts, ", "), rep.Entries, rep.From, rep.Tiles, rep.Details, rep.PerSecond)
		printBuilds(w, rep)
		return
	}
	defer printBuilds(w, rep)
	fmt.Fprintf(w, "FAIL: log %s, checkpoint size %d: %d findings in this run, %d from earlier runs\n\n", rep.Origin, rep.Size, len(rep.Findings), len(rep.Earlier))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tWHERE\tFINDING")
	row := func(f audit.Finding, earlier bool) {
		where := f.Where
		if f.Index != nil {
			where = fmt.Sprintf("entry %d", *f.Index)
		}
		if earlier {
			where += " (earlier)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Rule, where, f.Message)
	}
	for _, f := range rep.Findings {
		row(f, false)
	}
	for _, f := range rep.Earlier {
		row(f, true)
	}
	tw.Flush()
}

// printBuilds lists the changes of build an audit read, each build entry
// whose executable differs from the one before it, and how many entries it
// read before any build entry.
func printBuilds(w io.Writer, rep *audit.Result) {
	if rep.Unbuilt > 0 {
		fmt.Fprintf(w, "\nBuilds: %d entries in this run were logged before any build entry; the build that decided them is not recorded.\n", rep.Unbuilt)
	}
	if len(rep.Builds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nBuilds: %d change(s) of the executable deciding, in this run:\n", len(rep.Builds))
	for _, b := range rep.Builds {
		from := "the first build entry read"
		if b.Previous != "" {
			from = "before: " + b.Previous
		}
		fmt.Fprintf(w, "  entry %d, %s: executable %s, version %s, revision %s, %s, SBOM %s; %s\n",
			b.Index, b.Time.UTC().Format(time.RFC3339), b.BinarySHA256, b.Version, buildinfo.DescribeRevision(b.Revision, b.Modified), b.Go, b.SBOMSHA256, from)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws "[=====>    ]  45%  450,000 / 1,000,000 entries" at
// most ten times a second.
func progressBar(w io.Writer) func(done, total uint64) { return progressOf(w, "entries") }

// progressOf draws a progress bar of unit (entries, objects).
func progressOf(w io.Writer, unit string) func(done, total uint64) {
	var last time.Time
	start := time.Now()
	return func(done, total uint64) {
		if time.Since(last) < 100*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		const width = 30
		frac := float64(done) / float64(max(total, 1))
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		if n < width {
			bar = bar[:n] + ">" + bar[n+1:]
		}
		rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(w, "\r[%s] %3.0f%%  %d / %d %s  %.0f/s", bar, frac*100, done, total, unit, rate)
	}
}

// noReports is where a copy of the tiles alone keeps the published
// reports: nowhere. As with a mirror served over HTTP, every logged
// report is then report_missing, until --reports names where they are.
type noReports struct{}

func (noReports) Report(_ context.Context, period string, size uint64) ([]byte, error) {
	return nil, fmt.Errorf("report %s: %w (the directory holds the log's tiles only; give --reports)", report.Name(period, size), os.ErrNotExist)
}
