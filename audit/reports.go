package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/report"
)

// ReportSource serves published transparency reports.
type ReportSource interface {
	// Report returns the JSON published for period at checkpoint size, or
	// an error wrapping os.ErrNotExist.
	Report(ctx context.Context, period string, size uint64) ([]byte, error)
}

// HTTPReports reads published reports from a deployment's site.
type HTTPReports struct {
	Server string
	Client *http.Client
}

// Report implements ReportSource.
func (h *HTTPReports) Report(ctx context.Context, period string, size uint64) ([]byte, error) {
	u := strings.TrimRight(h.Server, "/") + "/reports/" + url.PathEscape(report.Name(period, size)) + ".json"
	resp, err := get(ctx, h.Client, u, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", u, os.ErrNotExist)
	}
	return nil, fmt.Errorf("%s: %s", u, resp.Status)
}

// DirReports reads published reports from a directory holding them as
// PERIOD@SIZE.json, as the deployment's reports directory does: for an
// audit of a static mirror, or of reports saved from the site.
type DirReports struct {
	Dir string
}

// Report implements ReportSource.
func (d DirReports) Report(_ context.Context, period string, size uint64) ([]byte, error) {
	// The period comes from the log; ParsePeriod has accepted it, so it
	// holds no path separator. Check anyway: the log is what is audited.
	// (A custom period's name holds "..", as in 2026-11-01..2026-11-15:
	// without a separator it stays a file name in Dir.)
	if strings.ContainsAny(period, `/\`) {
		return nil, fmt.Errorf("period %q: %w", period, os.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(d.Dir, report.Name(period, size)+".json"))
	if err != nil {
		return nil, err // *PathError wraps os.ErrNotExist when it is missing
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<20))
}

// reportEntry is a report publication found in the log.
type reportEntry struct {
	index  uint64
	period string
	size   uint64
	sha    string
}

func reportOf(idx uint64, e *entry.Report) (reportEntry, bool) {
	if e.CheckpointSize <= 0 {
		return reportEntry{}, false
	}
	return reportEntry{index: idx, period: e.Period, size: uint64(e.CheckpointSize), sha: e.ReportSHA256}, true
}

// checkReports fetches every report whose publication this run found,
// checks it against the hash in its entry, recomputes it from the log at
// its checkpoint size (one more pass over the log, for all of them at
// once) and compares the bytes.
func (v *verifier) checkReports(ctx context.Context) error {
	type job struct {
		reportEntry
		published []byte
		band      int64
		period    report.Period
		b         *report.Builder
		root      []byte
	}
	var jobs []*job
	var upto uint64
	for _, re := range v.reports {
		add := func(rule, format string, args ...any) {
			v.rep.Findings = append(v.rep.Findings, Finding{Rule: rule, Index: ptr(re.index), Message: fmt.Sprintf(format, args...)})
		}
		p, err := report.ParsePeriod(re.period)
		if err != nil || re.size > re.index {
			add(RuleReportMalformed, "the report entry names period %q at size %d, which cannot be recomputed", re.period, re.size)
			continue
		}
		pub, err := v.cfg.Reports.Report(ctx, re.period, re.size)
		if errors.Is(err, os.ErrNotExist) {
			add(RuleReportMissing, "the report for %s at size %d is logged but not published", re.period, re.size)
			continue
		}
		if err != nil {
			return cannot("failed to fetch the report for %s: %v", re.period, err)
		}
		sum := sha256.Sum256(pub)
		if hex.EncodeToString(sum[:]) != re.sha {
			add(RuleReportTampered, "the published report for %s has SHA-256 %x; the log holds %s: it was changed after publication", re.period, sum, re.sha)
			continue
		}
		var head struct {
			Origin string `json:"origin"`
			Band   int64  `json:"band"`
		}
		if err := json.Unmarshal(pub, &head); err != nil || head.Band < 1 {
			add(RuleReportMismatch, "the published report for %s is not a report: %v", re.period, err)
			continue
		}
		if head.Origin != v.cfg.Verifier.Name() {
			add(RuleReportMismatch, "the published report for %s names log %q, not %q", re.period, head.Origin, v.cfg.Verifier.Name())
			continue
		}
		j := &job{reportEntry: re, published: pub, band: head.Band, period: p}
		j.b = report.NewBuilder(report.Options{Origin: head.Origin, Period: p, Band: head.Band, Checkpoint: report.Checkpoint{Size: re.size}})
		jobs = append(jobs, j)
		upto = max(upto, re.size)
	}
	if len(jobs) == 0 {
		return nil
	}
	// One pass over [0, upto): every builder takes the leaves below its
	// size, and the root at each size is recomputed on the way.
	for _, j := range jobs {
		if j.size == 0 {
			j.root = rfc6962.DefaultHasher.EmptyRoot()
		}
	}
	ok, err := v.eachLeaf(ctx, upto, "recompute reports", func(idx uint64, leaf []byte, rng *compact.Range) error {
		for _, j := range jobs {
			if idx < j.size {
				j.b.Add(leaf)
			}
			if j.size == idx+1 && j.root == nil {
				j.root, _ = rng.GetRootHash(nil)
			}
		}
		return nil
	})
	if err != nil || !ok {
		return err
	}
	for _, j := range jobs {
		r := j.b.Report()
		r.Checkpoint.Root = j.root
		got, err := r.Marshal()
		if err != nil {
			return err
		}
		if !bytes.Equal(got, j.published) {
			v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleReportMismatch, Index: ptr(j.index),
				Message: fmt.Sprintf("the published report for %s differs from the report recomputed from the log at size %d: %s", j.period.Name, j.size, firstDiff(j.published, got))})
			continue
		}
		v.rep.Reports++
	}
	return nil
}

// eachLeaf reads the log's entry bundles again, in order, and calls fn
// with every leaf below upto and the tree of the leaves so far, that leaf
// included. The earlier pass verified the entries, but a second read is
// a second answer from the server: it reads on to the checkpoint size and
// checks the leaves against the checkpoint's root. If they do not match,
// it records a root_mismatch finding and returns false.
func (v *verifier) eachLeaf(ctx context.Context, upto uint64, why string, fn func(idx uint64, leaf []byte, rng *compact.Range) error) (bool, error) {
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for bi := uint64(0); bi*layout.EntryBundleWidth < v.size; bi++ {
		raw, err := v.cfg.Log.ReadEntryBundle(ctx, bi, layout.PartialTileSize(0, bi, v.size))
		if err != nil {
			return false, cannot("failed to read entry bundle %d to %s: %v", bi, why, err)
		}
		var eb api.EntryBundle
		if err := eb.UnmarshalText(raw); err != nil {
			return false, cannot("entry bundle %d: %v", bi, err)
		}
		for i, leaf := range eb.Entries {
			idx := bi*layout.EntryBundleWidth + uint64(i)
			if idx >= v.size {
				break
			}
			if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(leaf), nil); err != nil {
				return false, cannot("tree: %v", err)
			}
			if idx < upto {
				if err := fn(idx, leaf, rng); err != nil {
					return false, err
				}
			}
		}
	}
	if root, err := rng.GetRootHash(nil); v.size > 0 && (err != nil || !bytes.Equal(root, v.rep.Root)) {
		v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleRootMismatch, Where: "entry bundles, read again to " + why,
			Message: fmt.Sprintf("read a second time, the %d entries hash to %x, not to the checkpoint's root %x: the log served different entries to the same auditor", v.size, root, v.rep.Root)})
		v.integrityOK = false
		return false, nil
	}
	return true, nil
}

// auditorReport computes the report for cfg.AuditorReport in auditor mode
// at the audited checkpoint: the public figures from every leaf, as the
// published report has them, and what became of the detail record of
// every entry of the period that commits to one. The whole log is read
// again, whatever the saved state: a report covers its whole period.
// A detail that no longer verifies in an entry an earlier run checked is
// a finding of this run.
func (v *verifier) auditorReport(ctx context.Context) error {
	period := *v.cfg.AuditorReport
	b := report.NewBuilder(report.Options{Origin: v.cfg.Verifier.Name(), Period: period, Band: v.cfg.ReportBand,
		Checkpoint: report.Checkpoint{Size: v.size, Root: v.rep.Root}})
	b.AuditorMode()
	earlier := map[[2]string]bool{}
	for _, f := range v.rep.Earlier {
		if f.Index != nil {
			earlier[[2]string{f.Rule, strconv.FormatUint(*f.Index, 10)}] = true
		}
	}
	var batch detailBatch
	flush := func() error {
		byIdx, err := batch.fetch(ctx, v.cfg.Details)
		if err != nil {
			return cannot("failed to fetch detail records for the auditor's report: %v", err)
		}
		for i, idx := range batch.idx {
			e := batch.entries[i]
			var d *journal.Detail
			if r := byIdx[idx]; r != nil && !r.Missing {
				d = &journal.Detail{Commitment: r.Commitment, Time: e.Time, Salt: r.Salt, Body: r.Body}
			}
			st := b.AddDetail(e, d)
			if idx >= v.from || st == report.DetailVerified || st == report.DetailErased {
				continue // this run's own pass checked the new entries
			}
			rule, msg := "detail_missing", "the entry commits to a detail record the server no longer holds (found by the auditor-mode report's pass over entries an earlier run read)"
			if st == report.DetailMismatch {
				rule, msg = "detail_mismatch", "the detail record does not match the entry's commitment (found by the auditor-mode report's pass over entries an earlier run read)"
			}
			if !earlier[[2]string{rule, strconv.FormatUint(idx, 10)}] {
				v.rep.Findings = append(v.rep.Findings, Finding{Rule: rule, Index: ptr(idx), Message: msg})
			}
		}
		batch.reset()
		return nil
	}
	r := entry.Reader{Keep: true} // the batch keeps what it reads
	ok, err := v.eachLeaf(ctx, v.size, "compute the auditor's report", func(idx uint64, leaf []byte, _ *compact.Range) error {
		b.Add(leaf)
		h, _, err := r.Read(leaf)
		if err != nil || h.Detail == "" || !period.Contains(h.Time) {
			return nil // malformed entries are counted by Add, and were reported by the run
		}
		batch.add(idx, &entry.Entry{V: entry.Version, Kind: h.Kind, Time: h.Time, Detail: h.Detail}, nil)
		if batch.full() {
			return flush()
		}
		return nil
	})
	if err == nil && ok {
		err = flush()
	}
	if err != nil || !ok {
		return err
	}
	v.rep.AuditorReport = b.Report()
	return nil
}

// firstDiff names the first line where two reports differ.
func firstDiff(published, recomputed []byte) string {
	a, b := bytes.Split(published, []byte("\n")), bytes.Split(recomputed, []byte("\n"))
	for i := range min(len(a), len(b)) {
		if !bytes.Equal(a[i], b[i]) {
			return fmt.Sprintf("line %d is %q, recomputed %q", i+1, bytes.TrimSpace(a[i]), bytes.TrimSpace(b[i]))
		}
	}
	return fmt.Sprintf("%d lines published, %d recomputed", len(a), len(b))
}
