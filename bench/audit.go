package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/fsck"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/tlog"
)

// AuditConfig configures the auditor benchmark.
type AuditConfig struct {
	Dir      string
	Entries  int // size of the generated log
	Parallel int // bundles fetched and parsed at once, by both auditors
}

// AuditRun is one audit of the whole log.
type AuditRun struct {
	Name      string  `json:"name"`
	Entries   uint64  `json:"entries"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	Findings  int     `json:"findings"`
}

// AuditComparison is the JSON 'ombud bench audit' prints.
type AuditComparison struct {
	Benchmark   string     `json:"benchmark"`
	When        time.Time  `json:"when"`
	Config      string     `json:"config"`
	GenerateSec float64    `json:"generate_seconds"`
	Rounds      []AuditRun `json:"rounds"`
	// ombud's auditor over HTTP on loopback (a static file server, as a
	// mirror or CDN serves tiles), the same reading the files directly,
	// and Tessera's own fsck (tree and tiles only, no entry parsing and no
	// invariants) over the same HTTP server.
	OmbudHTTP   AuditRun `json:"ombud_audit_http_median"`
	OmbudFiles  AuditRun `json:"ombud_audit_files_median"`
	TesseraFsck AuditRun `json:"tessera_fsck_http_median"`
	VsFsck      float64  `json:"ombud_http_vs_fsck"`
	Met         bool     `json:"met_200000_per_second"`

	// The transparency report over the same log (period: the whole year):
	// the pure function over leaves in memory, the same reading the entry
	// bundles from the files, and, for comparison, decoding every entry
	// with encoding/json into a map, as a naive recomputation would.
	ReportMemory AuditRun `json:"report_in_memory_median"`
	ReportFiles  AuditRun `json:"report_from_files_median"`
	NaiveJSON    AuditRun `json:"encoding_json_decode_median"`
	ReportMet    bool     `json:"report_met_1000000_per_second"`
}

// auditMix returns entry i of the generated log's second phase: reads
// permitted under the registered authorizations and denied, ingests,
// erasures of objects never read, and reviews of the first phase's flags.
func auditMix(i, auths, flags int) journal.Record {
	a := i % auths
	switch r := i % 20; {
	case r < 13:
		return journal.Record{Body: entry.Access{Decision: entry.Permit, Class: "location", Purpose: "criminal_investigation", Reasons: []string{"authorization_in_scope"}, Use: 1, PolicySHA256: "9f2c1d7e5a0b4c3d8e6f7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f",
			Object: "obj" + strconv.Itoa(i), Subject: subject("plate:" + strconv.Itoa(a)), Authorization: "auth-" + strconv.Itoa(a), By: "analyst" + strconv.Itoa(i%50)},
			Detail: map[string]any{"request_id": i}}
	case r < 16:
		return journal.Record{Body: entry.Access{Decision: entry.Deny, Class: "biometric", Purpose: "marketing", Reasons: []string{"no_authorization"},
			Object: "obj" + strconv.Itoa(i), By: "analyst" + strconv.Itoa(i%50)}, Detail: map[string]any{"request_id": i}}
	case r < 18:
		return journal.Record{Body: entry.Ingest{Class: "location", Region: "eu-central", Source: "alpr-feed-7", SizeBand: "1KiB-1MiB",
			Object: "new" + strconv.Itoa(i), Subject: subject("plate:" + strconv.Itoa(a)), By: "ingestor"}, Detail: map[string]any{"bytes": 4096}}
	case r < 19:
		return journal.Record{Body: entry.Erase{Class: "location", Reason: "retention_expired", Object: "old" + strconv.Itoa(i)}}
	default:
		return journal.Record{Body: entry.Review{Outcome: entry.Confirm, Flag: "flag-" + strconv.Itoa(i%flags), By: "reviewer" + strconv.Itoa(i%7)}, Detail: map[string]any{"rationale": "checked"}}
	}
}

// GenerateAuditLog writes a log of n realistic entries into dir: first
// the authorizations and flags, then a concurrent mix of decisions,
// ingests, erasures and reviews, so that the log is clean for every
// invariant. It returns the log's verifier.
func GenerateAuditLog(ctx context.Context, dir string, n int, progress io.Writer) (note.Verifier, error) {
	s, v, err := newKey()
	if err != nil {
		return nil, err
	}
	lg, err := tlog.New(ctx, tlog.Config{Dir: dir, Signer: s, Verifier: v, BatchMaxSize: 8192, BatchMaxAge: 100 * time.Millisecond, MaxOutstanding: 1 << 16})
	if err != nil {
		return nil, err
	}
	defer lg.Close(context.WithoutCancel(ctx))
	j := &journal.Journal{Key: benchKey}
	auths, flags := max(n/1000, 1), max(n/2000, 1)
	appendAll := func(count int, rec func(i int) journal.Record) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		for range 2048 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= count {
						return
					}
					_, leaf, _, err := j.Build(rec(i))
					if err == nil {
						_, err = lg.Append(ctx, leaf)
					}
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
					if progress != nil && i%100000 == 0 && i > 0 {
						fmt.Fprintf(progress, "generated %d entries\n", i)
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}
	now := time.Now().UTC()
	// The issuer first: the auditor checks every registration against it.
	err = appendAll(1, func(int) journal.Record {
		return journal.Record{Body: entry.Issuer{Op: entry.OpRegister, Issuer: "court.example/d3", IssuerKind: "court", Jurisdiction: "EU-DE", KeyID: "4a1f9c2e", By: "admin"}}
	})
	if err != nil {
		return nil, err
	}
	err = appendAll(auths+flags, func(i int) journal.Record {
		if i < auths {
			return journal.Record{Body: entry.Authorization{Op: entry.OpRegister, AuthKind: "court_order", Issuer: "court.example/d3", Purposes: []string{"criminal_investigation"}, Classes: []string{"location"},
				NotBefore: now.Add(-time.Hour).Format(time.RFC3339), NotAfter: now.Add(30 * 24 * time.Hour).Format(time.RFC3339), MaxUses: 1_000_000, Jurisdiction: "EU-DE",
				Authorization: "auth-" + strconv.Itoa(i), Subject: subject("plate:" + strconv.Itoa(i)), By: "admin"}, Detail: map[string]any{"case": i}}
		}
		return journal.Record{Body: entry.Flag{System: "frs", Model: "facematch", ModelVersion: "4.2.1", Class: "biometric", Score: 0.91, Flag: "flag-" + strconv.Itoa(i-auths), By: "ingestor"}}
	})
	if err == nil {
		err = appendAll(n-1-auths-flags, func(i int) journal.Record { return auditMix(i, auths, flags) })
	}
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, _, err := lg.AwaitCheckpoint(cctx, uint64(n-1)); err != nil {
		return nil, err
	}
	return v, nil
}

// CompareAudit generates a log of cfg.Entries entries and audits it whole,
// rounds times: ombud's auditor over HTTP and from the files, and Tessera's
// fsck over HTTP, in one run.
func CompareAudit(ctx context.Context, cfg AuditConfig, rounds int, progress io.Writer) (*AuditComparison, error) {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	work, err := os.MkdirTemp(cfg.Dir, "audit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	logDir := filepath.Join(work, "log")
	start := time.Now()
	v, err := GenerateAuditLog(ctx, logDir, cfg.Entries, progress)
	if err != nil {
		return nil, fmt.Errorf("generating the log: %w", err)
	}
	c := &AuditComparison{Benchmark: "audit", When: time.Now().UTC(), GenerateSec: time.Since(start).Seconds(),
		Config: fmt.Sprintf("%d entries, %d bundles at once", cfg.Entries, cfg.Parallel)}
	if progress != nil {
		fmt.Fprintf(progress, "generated %d entries in %.1f s\n", cfg.Entries, c.GenerateSec)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: http.StripPrefix("/log/", http.FileServer(http.Dir(logDir))), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	u, _ := url.Parse("http://" + ln.Addr().String() + "/log/")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * cfg.Parallel}, Timeout: time.Minute}
	hf, err := client.NewHTTPFetcher(u, hc)
	if err != nil {
		return nil, err
	}
	ff := client.FileFetcher{Root: logDir}
	ombudRun := func(name string, f audit.Fetcher) (AuditRun, error) {
		t := time.Now()
		rep, _, err := audit.Run(ctx, audit.Config{Log: f, Verifier: v, Parallel: cfg.Parallel})
		if err != nil {
			return AuditRun{}, err
		}
		if !rep.Integrity || len(rep.Findings) > 0 {
			return AuditRun{}, fmt.Errorf("%s: the generated log did not audit clean: %v", name, rep.Findings[:min(3, len(rep.Findings))])
		}
		s := time.Since(t).Seconds()
		return AuditRun{Name: name, Entries: rep.Entries, Seconds: s, PerSecond: float64(rep.Entries) / s}, nil
	}
	// All leaves in memory, for the report's pure function.
	var leaves [][]byte
	for bi := uint64(0); bi*layout.EntryBundleWidth < uint64(cfg.Entries); bi++ {
		raw, err := ff.ReadEntryBundle(ctx, bi, layout.PartialTileSize(0, bi, uint64(cfg.Entries)))
		if err != nil {
			return nil, err
		}
		var eb api.EntryBundle
		if err := eb.UnmarshalText(raw); err != nil {
			return nil, err
		}
		leaves = append(leaves, eb.Entries...)
	}
	year, _ := report.ParsePeriod(time.Now().UTC().Format("2006"))
	reportRun := func(name string, f func(b *report.Builder) error) (AuditRun, error) {
		t := time.Now()
		b := report.NewBuilder(report.Options{Origin: v.Name(), Period: year})
		if err := f(b); err != nil {
			return AuditRun{}, err
		}
		r := b.Report()
		s := time.Since(t).Seconds()
		if r.Entries.N != int64(cfg.Entries) {
			return AuditRun{}, fmt.Errorf("%s: the report counted %d entries of %d", name, r.Entries.N, cfg.Entries)
		}
		return AuditRun{Name: name, Entries: uint64(cfg.Entries), Seconds: s, PerSecond: float64(cfg.Entries) / s}, nil
	}
	var rm, rf, nj []AuditRun
	var oh, of, tf []AuditRun
	for i := range rounds {
		r4, err := reportRun("report-in-memory", func(b *report.Builder) error {
			for _, l := range leaves {
				b.Add(l)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		r5, err := reportRun("report-from-files", func(b *report.Builder) error {
			for bi := uint64(0); bi*layout.EntryBundleWidth < uint64(cfg.Entries); bi++ {
				raw, err := ff.ReadEntryBundle(ctx, bi, layout.PartialTileSize(0, bi, uint64(cfg.Entries)))
				if err != nil {
					return err
				}
				var eb api.EntryBundle
				if err := eb.UnmarshalText(raw); err != nil {
					return err
				}
				for _, l := range eb.Entries {
					b.Add(l)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		for _, l := range leaves {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				return nil, err
			}
		}
		s0 := time.Since(t0).Seconds()
		r6 := AuditRun{Name: "encoding-json-decode", Entries: uint64(len(leaves)), Seconds: s0, PerSecond: float64(len(leaves)) / s0}
		for _, r := range []AuditRun{r4, r5, r6} {
			c.Rounds = append(c.Rounds, r)
			if progress != nil {
				fmt.Fprintf(progress, "round %d/%d %-18s %10.0f entries/s  (%.2f s)\n", i+1, rounds, r.Name, r.PerSecond, r.Seconds)
			}
		}
		rm, rf, nj = append(rm, r4), append(rf, r5), append(nj, r6)
	}
	leaves = nil
	for i := range rounds {
		r1, err := ombudRun("ombud-audit-http", hf)
		if err != nil {
			return nil, err
		}
		r2, err := ombudRun("ombud-audit-files", ff)
		if err != nil {
			return nil, err
		}
		t := time.Now()
		fk := fsck.New(v.Name(), v, hf, leafHashes, fsck.Opts{N: uint(cfg.Parallel)})
		if err := fk.Check(ctx); err != nil {
			return nil, fmt.Errorf("tessera fsck: %w", err)
		}
		s := time.Since(t).Seconds()
		r3 := AuditRun{Name: "tessera-fsck-http", Entries: uint64(cfg.Entries), Seconds: s, PerSecond: float64(cfg.Entries) / s}
		for _, r := range []AuditRun{r1, r2, r3} {
			c.Rounds = append(c.Rounds, r)
			if progress != nil {
				fmt.Fprintf(progress, "round %d/%d %-18s %10.0f entries/s  (%.2f s)\n", i+1, rounds, r.Name, r.PerSecond, r.Seconds)
			}
		}
		oh, of, tf = append(oh, r1), append(of, r2), append(tf, r3)
	}
	med := func(rs []AuditRun) AuditRun {
		m := rs[0]
		m.Name += " (median)"
		m.PerSecond = medianOf(rs, func(r AuditRun) float64 { return r.PerSecond })
		m.Seconds = medianOf(rs, func(r AuditRun) float64 { return r.Seconds })
		return m
	}
	c.OmbudHTTP, c.OmbudFiles, c.TesseraFsck = med(oh), med(of), med(tf)
	c.VsFsck = c.OmbudHTTP.PerSecond / c.TesseraFsck.PerSecond
	c.Met = c.OmbudHTTP.PerSecond >= 200_000
	c.ReportMemory, c.ReportFiles, c.NaiveJSON = med(rm), med(rf), med(nj)
	c.ReportMet = c.ReportMemory.PerSecond >= 1_000_000
	return c, nil
}

// leafHashes is the bundle hasher Tessera's fsck command uses.
func leafHashes(bundle []byte) ([][]byte, error) {
	eb := &api.EntryBundle{}
	if err := eb.UnmarshalText(bundle); err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(eb.Entries))
	for _, e := range eb.Entries {
		out = append(out, rfc6962.DefaultHasher.HashLeaf(e))
	}
	return out, nil
}
