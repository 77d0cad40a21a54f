// Package publish publishes transparency reports: it computes the report
// (report.Compute) from the log at its current checkpoint, signs its
// hash as a note with the log's key, stores it, and logs a report entry
// holding that hash. Anyone can recompute a published report from the log
// and compare it byte for byte (ombud audit does).
package publish

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/fsutil"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/report"
)

// Published is one published report: where it is and what it says.
type Published struct {
	Period string // its name, e.g. 2026-11
	Size   uint64 // the checkpoint size it was computed at
	SHA256 string // hex of the report's bytes
	Index  uint64 // the report entry's index in the log
	Report *report.Report
	JSON   []byte
	Note   []byte // the signed note over the hash
}

// Log is what publishing reads of the transparency log (tlog.Log).
type Log interface {
	ParsedCheckpoint(ctx context.Context) (*log.Checkpoint, []byte, error)
	Scan(ctx context.Context, from, to, treeSize uint64, f func(index uint64, leaf []byte) error) error
	Leaves(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Service publishes and serves reports from Dir.
type Service struct {
	Config

	mu sync.Mutex // one publication at a time
}

// Config configures a Service.
type Config struct {
	Dir     string // DATA/reports
	Log     Log
	Journal *journal.Journal
	Signer  note.Signer
	// Band is the smallest count the report shows exactly (report.Options).
	Band int64
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Dir == "":
		return nil, errors.New("publish: no reports directory")
	case c.Log == nil:
		return nil, errors.New("publish: no log")
	case c.Journal == nil:
		return nil, errors.New("publish: no journal")
	case c.Signer == nil:
		return nil, errors.New("publish: no signer")
	}
	return &Service{Config: c}, nil
}

var fileRE = regexp.MustCompile(`^([0-9Q.-]+)@([0-9]+)\.json$`)

// fileName is PERIOD@SIZE.json: a publication is immutable, a period may be
// published again at a later checkpoint.
func fileName(period string, size uint64) string {
	return report.Name(period, size) + ".json"
}

// Compute computes the report of period at the log's current checkpoint.
func Compute(ctx context.Context, lg Log, period report.Period, band int64) (*report.Report, error) {
	cp, _, err := lg.ParsedCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	b := report.NewBuilder(report.Options{Origin: cp.Origin, Period: period, Band: band,
		Checkpoint: report.Checkpoint{Size: cp.Size, Root: cp.Hash}})
	err = lg.Scan(ctx, 0, cp.Size, cp.Size, func(_ uint64, leaf []byte) error {
		b.Add(leaf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Report(), nil
}

// Publish computes, signs, stages and logs the report of period, through
// the one pattern: the report's files are written under names the site
// does not serve, the publication is reserved (one per PERIOD@SIZE), its
// report entry is logged, and only then are the files renamed into place.
// If the entry cannot be logged, the staged files are removed. A report is
// published when, and only when, its entry is in the log.
func (s *Service) Publish(ctx context.Context, period report.Period, by string) (*Published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if period.Start.After(time.Now()) {
		return nil, ombud.Errorf(ombud.CodeInvalid, "period %s has not begun", period.Name)
	}
	if first, err := s.Log.Leaves(ctx, 0, 1); err == nil && len(first) == 1 {
		if e, err := entry.Parse(first[0]); err == nil && !period.End.After(e.Time) {
			return nil, ombud.Errorf(ombud.CodeInvalid, "period %s ends before the log's first entry (%s)", period.Name, ombud.Day(e.Time))
		}
	}
	r, err := Compute(ctx, s.Log, period, s.Band)
	if err != nil {
		return nil, err
	}
	js, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js)
	hexSum := hex.EncodeToString(sum[:])
	signed, err := note.Sign(&note.Note{Text: report.NoteText(r, hexSum)}, s.Signer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	name := report.Name(period.Name, r.Checkpoint.Size)
	if _, err := os.Stat(filepath.Join(s.Dir, name+".json")); err == nil {
		return nil, ombud.Errorf(ombud.CodeConflict, "report %s is already published; publish again after the log grows", name)
	}
	if err := fsutil.WriteFile(s.staged(name, ".json"), js, 0o644); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(s.staged(name, ".note"), signed, 0o644); err != nil {
		s.Undo(ctx, &journal.Change{Op: journal.ReportPublish.Op, Target: journal.ReportPublish.Target(name)})
		return nil, err
	}
	c, err := journal.ReportPublish.Change(name, journal.ReportPayload{Name: name})
	if err != nil {
		return nil, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Report{Period: period.Name, CheckpointSize: int64(r.Checkpoint.Size), ReportSHA256: hexSum, Format: report.Format, By: by}}, s.Commit)
	if err != nil {
		if w.Entry == nil {
			s.Undo(ctx, c)
		}
		return nil, err
	}
	return &Published{Period: period.Name, Size: r.Checkpoint.Size, SHA256: hexSum, Index: w.Index, Report: r, JSON: js, Note: signed}, nil
}

// staged is where a report's file waits for its entry to be logged: a
// hidden name the site and List ignore.
func (s *Service) staged(name, ext string) string {
	return filepath.Join(s.Dir, ".staged-"+name+ext)
}

// Commit publishes a report whose entry is logged: its staged files are
// renamed into place. It is idempotent (recovery runs it again).
func (s *Service) Commit(ctx context.Context, c *journal.Change, w journal.Leaf) error {
	name, err := journal.ReportPublish.TargetID(c)
	if err != nil {
		return err
	}
	for _, ext := range []string{".note", ".json"} {
		err := os.Rename(s.staged(name, ext), filepath.Join(s.Dir, name+ext))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if d, err := os.Open(s.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return s.Journal.CommitStore(ctx, c, w)
}

// Undo removes the staged files of a publication whose entry was not
// logged. Changes of other ops are left alone.
func (s *Service) Undo(ctx context.Context, c *journal.Change) error {
	if c.Op != journal.ReportPublish.Op {
		return nil
	}
	name, err := journal.ReportPublish.TargetID(c)
	if err != nil {
		return err
	}
	for _, ext := range []string{".json", ".note"} {
		if err := os.Remove(s.staged(name, ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Committer returns the committer of op for recovery: Commit for reports.
func (s *Service) Committer(op journal.Op) journal.Committer {
	if op == journal.ReportPublish.Op {
		return s.Commit
	}
	return nil
}

// List returns the published reports, newest period first, each period's
// latest publication first.
func (s *Service) List() ([]Published, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Published
	for _, e := range ents {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		size, _ := strconv.ParseUint(m[2], 10, 64)
		out = append(out, Published{Period: m[1], Size: size})
	}
	slices.SortFunc(out, func(a, b Published) int {
		if c := strings.Compare(b.Period, a.Period); c != 0 {
			return c
		}
		return cmp.Compare(b.Size, a.Size)
	})
	return out, nil
}

// Get reads a publication: the latest of period when size is 0.
func (s *Service) Get(period string, size uint64) (*Published, error) {
	if _, err := report.ParsePeriod(period); err != nil {
		return nil, err
	}
	if size == 0 {
		all, err := s.List()
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			if p.Period == period {
				size = p.Size
				break
			}
		}
		if size == 0 {
			return nil, ombud.Errorf(ombud.CodeNotFound, "no report published for %s", period)
		}
	}
	base := filepath.Join(s.Dir, fileName(period, size))
	js, err := os.ReadFile(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ombud.Errorf(ombud.CodeNotFound, "no report published for %s at size %d", period, size)
	}
	if err != nil {
		return nil, err
	}
	nt, err := os.ReadFile(strings.TrimSuffix(base, ".json") + ".note")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var r report.Report
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("stored report %s: %w", base, err)
	}
	sum := sha256.Sum256(js)
	return &Published{Period: period, Size: size, SHA256: hex.EncodeToString(sum[:]), Report: &r, JSON: js, Note: nt}, nil
}

// NotOffered is the count a CSV section of a capability the deployment
// does not offer shows.
const NotOffered = "not offered"

// cell keeps a spreadsheet from reading a key as a formula: a key starting
// with = + - or @ gets a leading apostrophe (OWASP's advice for CSV).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CSV renders a report as one table: section, three key columns, count.
// Banded counts appear as the band ("1-9"). A section of a capability the
// deployment does not offer is one row whose count is "not offered", not
// a zero; rows the log holds for it anyway are kept.
func CSV(r *report.Report, caps report.Capabilities) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"section", "key1", "key2", "key3", "count"})
	row := func(section, k1, k2, k3 string, c report.Count) {
		w.Write([]string{section, cell(k1), cell(k2), cell(k3), c.String()})
	}
	row("entries", "", "", "", r.Entries)
	for _, d := range r.Decisions {
		row("decisions", d.Class, d.Purpose, d.Decision, d.Count)
	}
	for _, d := range r.Denials {
		row("denials_by_reason", d.Key, "", "", d.Count)
	}
	row("emergency_reads", "", "", "", r.EmergencyReads)
	row("emergency_breaches", "", "", "", r.Breaches)
	for _, a := range r.Authorizations {
		row("authorizations", a.Kind, a.Issuer, a.Outcome, a.Count)
	}
	for _, u := range r.Uses {
		row("authorizations_by_uses", u.Key, "", "", u.Count)
	}
	for _, e := range r.Erasures {
		row("erasures_by_reason", e.Key, "", "", e.Count)
	}
	for _, h := range r.Holds {
		row("holds", h.Op, h.Reason, "", h.Count)
	}
	notOffered := func(section string) { w.Write([]string{section, "", "", "", NotOffered}) }
	if !caps.Sharing && len(r.Exports) == 0 {
		notOffered("exports")
	}
	for _, e := range r.Exports {
		row("exports", e.RecipientCategory, strconv.FormatBool(e.CrossBorder), e.Decision, e.Count)
	}
	for _, e := range r.ExportsByJurisdiction {
		row("exports_by_jurisdiction", e.Jurisdiction, strconv.FormatBool(e.CrossBorder), e.Decision, e.Count)
	}
	if r.NoticesOwed != nil {
		row("erasure_notices", "owed", "", "", *r.NoticesOwed)
	}
	if r.NoticesSent != nil {
		row("erasure_notices", "sent", "", "", *r.NoticesSent)
	}
	for _, p := range r.Proposals {
		row("proposals", p.Operation, p.Outcome, "", p.Count)
	}
	for _, m := range r.Models {
		row("flags", m.ModelVersion, "", "", m.Flags)
		row("reviews", m.ModelVersion, "", "", m.Reviews)
		row("reviews_confirmed", m.ModelVersion, "", "", m.Confirmed)
		row("reviews_rejected", m.ModelVersion, "", "", m.Rejected)
		for _, a := range m.Actions {
			row("actions_by_model", m.ModelVersion, a.Key, "", a.Count)
		}
		for _, c := range m.Contests {
			row("contests_by_model", m.ModelVersion, c.Op, c.Outcome, c.Count)
		}
	}
	for _, a := range r.Actions {
		row("actions_by_kind", a.Key, "", "", a.Count)
	}
	for _, c := range r.Contests {
		row("contests", c.Op, c.Outcome, "", c.Count)
	}
	if !caps.Tips && r.Tips.N == 0 {
		notOffered("tips")
	} else {
		row("tips", "", "", "", r.Tips)
	}
	for _, m := range r.TipsByMonth {
		row("tips_by_month", m.Key, "", "", m.Count)
	}
	if r.TipsNotAcknowledged != nil {
		row("tips_late", "acknowledgment", "", "", *r.TipsNotAcknowledged)
	}
	if r.TipsNotAnswered != nil {
		row("tips_late", "feedback", "", "", *r.TipsNotAnswered)
	}
	if !caps.Contracts && r.Contracts.N == 0 && len(r.MissingClauses) == 0 {
		notOffered("contracts")
		notOffered("contracts_missing_clauses")
	} else {
		row("contracts", "", "", "", r.Contracts)
	}
	for _, c := range r.MissingClauses {
		row("contracts_missing_clauses", c.Key, "", "", c.Count)
	}
	for _, c := range r.ContractsByFlag {
		row("contracts_by_flag", c.Key, "", "", c.Count)
	}
	for _, c := range r.Unexplained {
		row("contracts_unexplained", c.Key, "", "", c.Count)
	}
	row("key_rotations", "", "", "", r.KeyRotations)
	row("policy_changes", "", "", "", r.PolicyChanges)
	row("auditor_detail_reads", "", "", "", r.AuditorReads)
	for _, d := range r.Daily {
		row("daily_permits", d.Date, "", "", d.Permits)
		row("daily_denials", d.Date, "", "", d.Denials)
	}
	w.Flush()
	return b.Bytes()
}
