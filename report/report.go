package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Format names the transparency report's format version.
const Format = "ombud-report/v1"

// DefaultBand is the largest count published as a band: counts 1 to 9 are
// shown as "1-9", so that no small group of people can be singled out.
const DefaultBand = 9

// Period is the time a report covers: [Start, End), in UTC.
type Period struct {
	Name  string    `json:"name"` // 2026-11, 2026-Q4, 2026, or 2026-11-01..2026-11-15
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

var (
	monthRe   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	quarterRe = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	yearRe    = regexp.MustCompile(`^(\d{4})$`)
	customRe  = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$`)
)

// ParsePeriod reads a month (2026-11), a quarter (2026-Q4), a year (2026)
// or a custom range of days, both included (2026-11-01..2026-11-15).
func ParsePeriod(s string) (Period, error) {
	bad := ombud.Errorf(ombud.CodeInvalid, "period %.40q: want a month (2026-11), a quarter (2026-Q4), a year (2026) or days (2026-11-01..2026-11-15), of the years 2000 to 9998", s)
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if y := atoi(s[:min(4, len(s))]); y < 2000 || y > 9998 {
		return Period{}, bad
	}
	switch {
	case monthRe.MatchString(s):
		m := monthRe.FindStringSubmatch(s)
		y, mo := atoi(m[1]), atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, bad
		}
		start := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		return Period{Name: s, Start: start, End: start.AddDate(0, 1, 0)}, nil
	case quarterRe.MatchString(s):
		m := quarterRe.FindStringSubmatch(s)
		start := time.Date(atoi(m[1]), time.Month(3*(atoi(m[2])-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return Period{Name: s, Start: start, End: start.AddDate(0, 3, 0)}, nil
	case yearRe.MatchString(s):
		start := time.Date(atoi(s), 1, 1, 0, 0, 0, 0, time.UTC)
		return Period{Name: s, Start: start, End: start.AddDate(1, 0, 0)}, nil
	case customRe.MatchString(s):
		m := customRe.FindStringSubmatch(s)
		a, err1 := time.Parse(time.DateOnly, m[1])
		b, err2 := time.Parse(time.DateOnly, m[2])
		if err1 != nil || err2 != nil || b.Before(a) || b.Sub(a) > 4*366*24*time.Hour {
			return Period{}, bad
		}
		return Period{Name: s, Start: a, End: b.AddDate(0, 0, 1)}, nil
	}
	return Period{}, bad
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Count is a published count. Counts from 1 to Band are published as the
// band "1-9" (with the configured upper bound); 0 stays 0.
type Count struct {
	N    int64
	Band int64
}

// Banded reports whether the count is shown as a band.
func (c Count) Banded() bool { return c.N == -1 || c.N >= 1 && c.N <= c.Band }

func (c Count) String() string {
	if c.Banded() {
		return "1-" + strconv.FormatInt(c.Band, 10)
	}
	return strconv.FormatInt(c.N, 10)
}

// MarshalJSON writes the count as a number, or as the band string.
func (c Count) MarshalJSON() ([]byte, error) {
	if c.Banded() {
		return []byte(`"` + c.String() + `"`), nil
	}
	return []byte(strconv.FormatInt(c.N, 10)), nil
}

// UnmarshalJSON reads a published count back: a band reads as N = -1 with
// Band set, so that it cannot be mistaken for a value and marshals back
// as the same band.
func (c *Count) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		lo, hi, ok := strings.Cut(s, "-")
		n, err := strconv.ParseInt(hi, 10, 64)
		if !ok || lo != "1" || err != nil {
			return fmt.Errorf("count %q is not a band", s)
		}
		*c = Count{N: -1, Band: n}
		return nil
	}
	return json.Unmarshal(b, &c.N)
}

// Checkpoint names the log state a report was computed at.
type Checkpoint struct {
	Size uint64 `json:"size"`
	Root []byte `json:"root"` // base64 in JSON
}

// Report is the transparency report (docs/REPORTS.md): what the deployment did
// with sensitive data in a period, computed from the public log alone.
// Its JSON encoding (Marshal) is canonical: anyone with the log recomputes
// it byte for byte.
type Report struct {
	Format     string     `json:"format"`
	Origin     string     `json:"origin"`
	Period     Period     `json:"period"`
	Checkpoint Checkpoint `json:"checkpoint"`
	Band       int64      `json:"band"`

	Entries        Count         `json:"entries"`
	Decisions      []DecisionRow `json:"decisions"`
	Denials        []KeyCount    `json:"denials_by_reason"`
	EmergencyReads Count         `json:"emergency_reads"`
	Breaches       Count         `json:"emergency_breaches"`
	Authorizations []AuthRow     `json:"authorizations"`
	Uses           []KeyCount    `json:"authorizations_by_uses"`
	Erasures       []KeyCount    `json:"erasures_by_reason"`
	Holds          []HoldRow     `json:"holds"`
	Exports        []ExportRow   `json:"exports"`
	// ExportsByJurisdiction counts the exports by the recipient's
	// jurisdiction; NoticesOwed the erasure notices that erasures in the
	// period owed to recipients of exported objects, NoticesSent those
	// logged as sent in it. Each absent when none, so reports of periods
	// before them recompute unchanged.
	ExportsByJurisdiction []ExportJurisdictionRow `json:"exports_by_jurisdiction,omitempty"`
	NoticesOwed           *Count                  `json:"erasure_notices_owed,omitempty"`
	NoticesSent           *Count                  `json:"erasure_notices_sent,omitempty"`
	// Proposals counts the proposals of privileged operations by
	// operation and outcome: proposed, executed, refused or expired in
	// the period. Absent when none.
	Proposals []ProposalRow `json:"proposals,omitempty"`
	Models    []ModelRow    `json:"flags_by_model"`
	// Runs are the analytic runs started in the period and the objects
	// read in runs, by system, version and purpose. Absent when the
	// period has none, so reports of periods before runs existed
	// recompute byte for byte.
	Runs     []RunRow     `json:"runs,omitempty"`
	Actions  []KeyCount   `json:"actions_by_kind"`
	Contests []ContestRow `json:"contests"`
	// ContestsOverdue counts the contests due in the period that were not
	// resolved by their due time (the filing's time plus the deadline it
	// logged): resolved late, or still open at the last entry. Absent when
	// none, so reports of periods before deadlines recompute unchanged.
	ContestsOverdue *Count `json:"contests_overdue,omitempty"`
	Tips            Count  `json:"tips"`
	// TipsByMonth counts the tips filed in the period by the month of
	// their filing day: the only finer count of tips the report gives.
	// TipsNotAcknowledged counts the tips whose acknowledgment fell due in
	// the period (the end of the 7th day after the filing day) and was
	// not given by then, and TipsNotAnswered those whose feedback fell due
	// (three months after) and was not given by then: given late, or not
	// given by the last entry. Each absent when none, so reports of
	// periods before the intake recompute unchanged.
	TipsByMonth         []KeyCount `json:"tips_by_month,omitempty"`
	TipsNotAcknowledged *Count     `json:"tips_not_acknowledged,omitempty"`
	TipsNotAnswered     *Count     `json:"tips_not_answered,omitempty"`
	// Contracts is the registry of procurement contracts as it stood at
	// the period's end: the contracts registered by then, each at its
	// latest release. MissingClauses counts them by each safeguard clause
	// they lack, ContractsByFlag by product flag, and Unexplained by each
	// clause they lack with no recorded exception. Procurement is about
	// organisations, not people, and the registry publishes it whole:
	// these counts are exact, not banded. The last two are absent when
	// empty.
	Contracts       Count      `json:"contracts"`
	MissingClauses  []KeyCount `json:"contracts_missing_clauses"`
	ContractsByFlag []KeyCount `json:"contracts_by_flag,omitempty"`
	Unexplained     []KeyCount `json:"contracts_unexplained,omitempty"`
	KeyRotations    Count      `json:"key_rotations"`
	PolicyChanges   Count      `json:"policy_changes"`
	AuditorReads    Count      `json:"auditor_detail_reads"`
	Daily           []DayRow   `json:"daily"`
	Malformed       Count      `json:"malformed_entries"`

	// Auditor holds what only detail records show. It is set in auditor
	// mode (Builder.AddDetail) and absent from a published report,
	// whose every figure the public can recompute.
	Auditor *AuditorFigures `json:"auditor,omitempty"`
}

// AuditorFigures are the auditor-mode part of a report: for the entries
// of the period that commit to a detail record, what became of each
// record. The counts are exact (not banded): they go to the auditor, not
// to the public.
type AuditorFigures struct {
	Details []DetailRow `json:"details_by_kind_and_status"`
}

// DetailStatus is what an auditor found for one entry's detail record.
type DetailStatus string

const (
	DetailVerified DetailStatus = "verified" // held, and matches the commitment
	DetailErased   DetailStatus = "erased"   // erased on retention; the commitment stays
	DetailMissing  DetailStatus = "missing"  // the deployment does not hold it
	DetailMismatch DetailStatus = "mismatch" // held, but not what the entry committed to
)

// DetailRow counts the detail records of one entry kind by status.
type DetailRow struct {
	Kind   string       `json:"kind"`
	Status DetailStatus `json:"status"`
	Count  Count        `json:"count"`
}

// KeyCount is one row of a breakdown by a single code.
type KeyCount struct {
	Key   string `json:"key"`
	Count Count  `json:"count"`
}

// DecisionRow counts access decisions by class, purpose and decision.
type DecisionRow struct {
	Class    string `json:"class"`
	Purpose  string `json:"purpose"`
	Decision string `json:"decision"`
	Count    Count  `json:"count"`
}

// AuthRow counts authorizations by kind, issuing authority and outcome
// (registered or revoked).
type AuthRow struct {
	Kind    string `json:"kind"`
	Issuer  string `json:"issuer"`
	Outcome string `json:"outcome"`
	Count   Count  `json:"count"`
}

// HoldRow counts legal holds set and released, by reason.
type HoldRow struct {
	Op     string `json:"op"`
	Reason string `json:"reason"`
	Count  Count  `json:"count"`
}

// ExportRow counts exports by recipient category and whether they crossed
// a border.
type ExportRow struct {
	RecipientCategory string `json:"recipient_category"`
	CrossBorder       bool   `json:"cross_border"`
	Decision          string `json:"decision"`
	Count             Count  `json:"count"`
}

// ExportJurisdictionRow counts exports by the recipient's jurisdiction
// and whether they crossed a border.
type ExportJurisdictionRow struct {
	Jurisdiction string `json:"jurisdiction"`
	CrossBorder  bool   `json:"cross_border"`
	Decision     string `json:"decision"`
	Count        Count  `json:"count"`
}

// ProposalRow counts proposals of one privileged operation by outcome.
type ProposalRow struct {
	Operation string `json:"operation"`
	Outcome   string `json:"outcome"`
	Count     Count  `json:"count"`
}

// ModelRow is the flags of one model version and how reviewers judged
// them. The overturn rate (rejections per review) is published only when
// both counts are above the band.
type ModelRow struct {
	ModelVersion string   `json:"model_version"`
	Flags        Count    `json:"flags"`
	Reviews      Count    `json:"reviews"`
	Confirmed    Count    `json:"confirmed"`
	Rejected     Count    `json:"rejected"`
	OverturnRate *float64 `json:"overturn_rate"`
	// Actions taken on this version's flags, by kind, and contests of
	// them, by op and outcome (absent when none, so reports of periods
	// before they were counted recompute unchanged).
	Actions  []KeyCount   `json:"actions,omitempty"`
	Contests []ContestRow `json:"contests,omitempty"`
	// Withdrawn counts the actions on this version's flags withdrawn in
	// the period (a contest of them overturned); BelowThreshold the flags
	// scored below their own threshold, which only systems producing
	// investigative candidate lists raise. Each absent when none.
	Withdrawn      *Count `json:"withdrawn,omitempty"`
	BelowThreshold *Count `json:"below_threshold,omitempty"`
}

// RunRow is one system version's analytic runs for one purpose: runs
// started in the period, and objects read in runs (of any period) during
// it. System is the system's registered name.
type RunRow struct {
	System       string `json:"system"`
	ModelVersion string `json:"model_version"`
	Purpose      string `json:"purpose"`
	Runs         Count  `json:"runs"`
	ObjectsRead  Count  `json:"objects_read"`
}

// ContestRow counts contests filed and resolved, by outcome.
type ContestRow struct {
	Op      string `json:"op"`
	Outcome string `json:"outcome"`
	Count   Count  `json:"count"`
}

// DayRow is one day's access decisions, for the chart over time.
type DayRow struct {
	Date    string `json:"date"`
	Permits Count  `json:"permits"`
	Denials Count  `json:"denials"`
}

// Marshal returns the report's canonical bytes: the JSON that is hashed,
// signed and published.
func (r *Report) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Options configures Compute.
type Options struct {
	Origin     string
	Period     Period
	Checkpoint Checkpoint
	// Band is the largest banded count (default DefaultBand).
	Band int64
}

// usesBuckets group authorizations by how often they were used in the
// period.
var usesBuckets = []struct {
	max  int64
	name string
}{{1, "1"}, {5, "2-5"}, {20, "6-20"}, {100, "21-100"}, {1 << 62, "over-100"}}

// Builder accumulates a report entry by entry. It is the one
// implementation the server and the auditor share: Add every leaf of the
// log in index order, below the checkpoint size, then Report.
type Builder struct {
	opt                      Options
	start, end               int64 // the period, in Unix seconds
	entries                  int64
	malformed                int64
	decisions                map[[3]string]*int64
	denials                  map[string]*int64
	emergency                int64
	breaches                 int64
	auths                    map[[3]string]*int64
	uses                     map[string]*int64 // authorization pseudonym → permitted reads
	erasures                 map[string]*int64
	holds                    map[[2]string]*int64
	exports                  map[[3]string]*int64 // category, "false" or "true" (crossed a border), decision
	exportsJ                 map[[3]string]*int64 // jurisdiction, "false" or "true", decision
	noticesOwed, noticesSent int64
	proposals                map[[2]string]*int64 // operation, outcome
	proposalOp               map[string]string    // proposal pseudonym → operation (all time)
	flagModel                map[string]string    // flag pseudonym → model version (all time)
	actModel                 map[string]string    // action pseudonym → model version (all time)
	modelActs                map[[2]string]*int64 // model version, action kind
	modelCons                map[[3]string]*int64 // model version, contest op, outcome
	systems                  map[string]string    // system pseudonym → name (all time)
	runKey                   map[string][3]string // run pseudonym → system name, version, purpose (all time)
	runs                     map[[3]string]*[2]int64
	models                   map[string]*[6]int64 // flags, reviews, confirmed, rejected, withdrawn, below threshold
	due                      map[string]int64     // contest pseudonym → due, Unix seconds (all time)
	resolvedAt               map[string]int64     // contest pseudonym → resolved, Unix seconds (all time)
	last                     int64                // the latest entry's time, Unix seconds
	actions                  map[string]*int64
	contests                 map[[2]string]*int64
	tips                     int64
	tipsMonth                map[string]*int64
	tipFiled                 map[string]string // tip pseudonym → filing day (all time)
	tipAck, tipAns           map[string]int64  // tip pseudonym → first acknowledged, answered, Unix seconds (all time)
	// registry: every contract registered before the period's end, by
	// ocid, as its latest release; imports: the register entries of
	// each import, by its ref, until its closing entry.
	registry  map[string]*contractState
	imports   map[string][]*contractState
	rotations int64
	policies  int64
	auditor   int64
	daily     []*[2]int64          // by day since the period's start: permits, denials
	details   map[[2]string]*int64 // auditor mode: kind, status
	r         entry.Reader
}

// inc adds one to m[k]. The view's strings alias the leaf being read, so a
// key is cloned when it is first stored.
func inc[K comparable](m map[K]*int64, k K, clone func(K) K) {
	if p := m[k]; p != nil {
		*p++
		return
	}
	n := int64(1)
	m[clone(k)] = &n
}

func clone1(s string) string { return strings.Clone(s) }

func clone2(k [2]string) [2]string { return [2]string{strings.Clone(k[0]), strings.Clone(k[1])} }

func clone3(k [3]string) [3]string {
	return [3]string{strings.Clone(k[0]), strings.Clone(k[1]), strings.Clone(k[2])}
}

// NewBuilder starts a report.
func NewBuilder(opt Options) *Builder {
	if opt.Band <= 0 {
		opt.Band = DefaultBand
	}
	start, end := opt.Period.Start.Unix(), opt.Period.End.Unix()
	return &Builder{opt: opt, start: start, end: end,
		decisions: map[[3]string]*int64{}, denials: map[string]*int64{}, auths: map[[3]string]*int64{}, uses: map[string]*int64{},
		erasures: map[string]*int64{}, holds: map[[2]string]*int64{}, exports: map[[3]string]*int64{}, exportsJ: map[[3]string]*int64{}, proposals: map[[2]string]*int64{}, proposalOp: map[string]string{}, flagModel: map[string]string{},
		actModel: map[string]string{}, modelActs: map[[2]string]*int64{}, modelCons: map[[3]string]*int64{},
		tipsMonth: map[string]*int64{}, tipFiled: map[string]string{}, tipAck: map[string]int64{}, tipAns: map[string]int64{},
		models: map[string]*[6]int64{}, due: map[string]int64{}, resolvedAt: map[string]int64{}, systems: map[string]string{}, runKey: map[string][3]string{}, runs: map[[3]string]*[2]int64{}, actions: map[string]*int64{}, contests: map[[2]string]*int64{}, registry: map[string]*contractState{}, imports: map[string][]*contractState{},
		daily: make([]*[2]int64, max(0, (end-start+86399)/86400))}
}

// Add counts one leaf. Leaves outside the period count only where a later
// entry needs them (a flag's model version); malformed leaves are counted
// as such: exactly the leaves entry.Parse refuses.
func (b *Builder) Add(leaf []byte) {
	h, body, err := b.r.Read(leaf)
	if err != nil {
		b.malformed++
		return
	}
	if f, ok := body.(*entry.Flag); ok && f.Flag != "" {
		// Reviews in the period may concern flags raised before it.
		if _, ok := b.flagModel[f.Flag]; !ok {
			b.flagModel[strings.Clone(f.Flag)] = strings.Clone(f.ModelVersion)
		}
	}
	if a, ok := body.(*entry.Action); ok && a.Action != "" {
		// Contests in the period may concern actions taken before it.
		if _, ok := b.actModel[a.Action]; !ok {
			b.actModel[strings.Clone(a.Action)] = strings.Clone(a.ModelVersion)
		}
	}
	// Runs and systems, all time: reads in the period may belong to
	// runs started before it.
	switch e := body.(type) {
	case *entry.Analytic:
		if _, ok := b.systems[e.System]; !ok && e.Op == entry.OpRegister {
			b.systems[strings.Clone(e.System)] = strings.Clone(e.Name)
		}
	case *entry.Proposal:
		// Proposals, all time: one executed in the period may have been
		// proposed before it.
		if _, ok := b.proposalOp[e.Proposal]; !ok && e.Op == entry.OpPropose {
			b.proposalOp[strings.Clone(e.Proposal)] = strings.Clone(e.Operation)
		}
	case *entry.Run:
		if _, ok := b.runKey[e.Run]; !ok && e.Op == entry.OpStart && e.Decision == entry.Permit {
			name := b.systems[e.System]
			if name == "" {
				name = "unknown"
			}
			b.runKey[strings.Clone(e.Run)] = [3]string{name, strings.Clone(e.ModelVersion), strings.Clone(e.Purpose)}
		}
	}
	unix := h.Time.Unix()
	b.last = max(b.last, unix)
	// Contests, all time: a contest is counted overdue in the period its
	// due time falls in, whenever it was filed.
	if ct, ok := body.(*entry.Contest); ok && ct.Contest != "" {
		switch {
		case ct.Op == entry.OpFiled && ct.DeadlineDays > 0:
			if _, ok := b.due[ct.Contest]; !ok {
				b.due[strings.Clone(ct.Contest)] = unix + ct.DeadlineDays*86400
			}
		case ct.Op == entry.OpResolved:
			if _, ok := b.resolvedAt[ct.Contest]; !ok {
				b.resolvedAt[strings.Clone(ct.Contest)] = unix
			}
		}
	}
	// Tips, all time: a tip is counted late in the period its deadline
	// falls in, whenever it was filed.
	if tp, ok := body.(*entry.Tip); ok && tp.Tip != "" {
		switch tp.Op {
		case entry.OpFiled:
			if _, ok := b.tipFiled[tp.Tip]; !ok {
				b.tipFiled[strings.Clone(tp.Tip)] = h.Time.UTC().Format(time.DateOnly)
			}
		case entry.OpAcknowledged, entry.OpAnswered, entry.OpReplied:
			if _, ok := b.tipAck[tp.Tip]; !ok {
				b.tipAck[strings.Clone(tp.Tip)] = unix
			}
			if _, ok := b.tipAns[tp.Tip]; !ok && tp.Op == entry.OpAnswered {
				b.tipAns[strings.Clone(tp.Tip)] = unix
			}
		}
	}
	// The registry of contracts, all time up to the period's end: an
	// import's contracts count once its closing entry is read.
	if k, ok := body.(*entry.Contract); ok && unix < b.end {
		b.contract(k)
	}
	if unix < b.start || unix >= b.end {
		return
	}
	b.entries++
	if p, _ := entry.ApprovalOf(body); p != "" {
		op := b.proposalOp[p]
		if op == "" {
			op = "unknown"
		}
		inc(b.proposals, [2]string{op, "executed"}, clone2)
	}
	switch e := body.(type) {
	case *entry.Access:
		inc(b.decisions, [3]string{e.Class, e.Purpose, e.Decision}, clone3)
		day := (unix - b.start) / 86400
		d := b.daily[day]
		if d == nil {
			d = new([2]int64)
			b.daily[day] = d
		}
		if e.Decision == entry.Permit {
			d[0]++
			if e.Run != "" {
				b.runRow(e.Run)[1]++
			}
			if e.Emergency {
				b.emergency++
			}
			if e.Authorization != "" {
				inc(b.uses, e.Authorization, clone1)
			}
		} else {
			d[1]++
			for _, r := range e.Reasons {
				inc(b.denials, r, clone1)
			}
		}
	case *entry.Run:
		if e.Op == entry.OpStart && e.Decision == entry.Permit {
			b.runRow(e.Run)[0]++
		}
	case *entry.Breach:
		b.breaches++
	case *entry.Authorization:
		outcome := "registered"
		if e.Op == entry.OpRevoke {
			outcome = "revoked"
		}
		inc(b.auths, [3]string{e.AuthKind, e.Issuer, outcome}, clone3)
	case *entry.Erase:
		inc(b.erasures, e.Reason, clone1)
		b.noticesOwed += int64(len(e.Recipient))
	case *entry.Notice:
		b.noticesSent++
	case *entry.Proposal:
		outcome := map[string]string{entry.OpPropose: "proposed", entry.OpRefuse: "refused", entry.OpExpire: "expired"}[e.Op]
		if outcome != "" {
			inc(b.proposals, [2]string{e.Operation, outcome}, clone2)
		}
	case *entry.Hold:
		inc(b.holds, [2]string{e.Op, e.Reason}, clone2)
	case *entry.Export:
		inc(b.exports, [3]string{e.RecipientCategory, strconv.FormatBool(e.CrossBorder), e.Decision}, clone3)
		if e.Jurisdiction != "" {
			inc(b.exportsJ, [3]string{e.Jurisdiction, strconv.FormatBool(e.CrossBorder), e.Decision}, clone3)
		}
	case *entry.Flag:
		m := b.model(e.ModelVersion)
		m[0]++
		if e.Score < e.Threshold {
			m[5]++
		}
	case *entry.Review:
		m := b.model(b.flagModel[e.Flag])
		m[1]++
		switch e.Outcome {
		case entry.Confirm:
			m[2]++
		case entry.Reject:
			m[3]++
		}
	case *entry.Action:
		inc(b.actions, e.ActionKind, clone1)
		b.model(e.ModelVersion)
		inc(b.modelActs, [2]string{modelOr(e.ModelVersion), e.ActionKind}, clone2)
	case *entry.Contest:
		inc(b.contests, [2]string{e.Op, e.Outcome}, clone2)
		v := modelOr(b.actModel[e.Action])
		b.model(v)
		inc(b.modelCons, [3]string{v, e.Op, e.Outcome}, clone3)
		if e.Op == entry.OpResolved && e.Outcome == "overturned" {
			b.model(v)[4]++
		}
	case *entry.Tip:
		if e.Op == entry.OpFiled || e.Op == "" {
			b.tips++
			inc(b.tipsMonth, h.Time.UTC().Format("2006-01"), clone1)
		}
	case *entry.Key:
		if e.Op == entry.OpRotate {
			b.rotations++
		}
	case *entry.Policy:
		b.policies++
	case *entry.Audit:
		b.auditor++
	}
}

// runRow returns the counts (runs, objects read) of a run's system,
// version and purpose.
func (b *Builder) runRow(run string) *[2]int64 {
	k, ok := b.runKey[run]
	if !ok {
		k = [3]string{"unknown", "unknown", "unknown"}
	}
	n := b.runs[k]
	if n == nil {
		n = new([2]int64)
		b.runs[k] = n
	}
	return n
}

// modelOr names an unknown model version.
func modelOr(version string) string {
	if version == "" {
		return "unknown"
	}
	return version
}

func (b *Builder) model(version string) *[6]int64 {
	version = modelOr(version)
	m := b.models[version]
	if m == nil {
		m = new([6]int64)
		b.models[strings.Clone(version)] = m
	}
	return m
}

// AddDetail puts the builder in auditor mode and counts the detail record
// the entry e commits to: d is the record the deployment served for it,
// nil when it served none. It returns what it found. Entries outside the
// period, or that commit to no detail, are not counted.
func (b *Builder) AddDetail(e *entry.Entry, d *journal.Detail) DetailStatus {
	b.AuditorMode()
	st := DetailMissing
	if d != nil {
		switch err := journal.CheckDetail(e, *d); {
		case err == nil:
			st = DetailVerified
		case errors.Is(err, journal.ErrDetailErased):
			st = DetailErased
		default:
			st = DetailMismatch
		}
	}
	if e.Detail == "" || !b.opt.Period.Contains(e.Time) {
		return st
	}
	inc(b.details, [2]string{string(e.Kind), string(st)}, clone2)
	return st
}

// AuditorMode makes the report carry the auditor's figures even when no
// entry of the period commits to a detail record.
func (b *Builder) AuditorMode() {
	if b.details == nil {
		b.details = map[[2]string]*int64{}
	}
}

// Report returns the report of everything added so far.
func (b *Builder) Report() *Report {
	o := b.opt
	c := func(n int64) Count { return Count{N: n, Band: o.Band} }
	// some is a count that is absent when zero.
	some := func(n int64) *Count {
		if n == 0 {
			return nil
		}
		v := c(n)
		return &v
	}
	r := &Report{Format: Format, Origin: o.Origin, Period: o.Period, Checkpoint: o.Checkpoint, Band: o.Band,
		Entries: c(b.entries), EmergencyReads: c(b.emergency), Breaches: c(b.breaches), Tips: c(b.tips), Contracts: Count{N: int64(len(b.registry))},
		KeyRotations: c(b.rotations), PolicyChanges: c(b.policies), AuditorReads: c(b.auditor), Malformed: c(b.malformed)}
	r.Period.Start, r.Period.End = r.Period.Start.UTC(), r.Period.End.UTC()
	keyed := func(m map[string]*int64) []KeyCount {
		return rows(m, func(k string, n int64) KeyCount { return KeyCount{k, c(n)} })
	}
	r.Decisions = rows(b.decisions, func(k [3]string, n int64) DecisionRow { return DecisionRow{k[0], k[1], k[2], c(n)} })
	r.Denials = keyed(b.denials)
	r.Authorizations = rows(b.auths, func(k [3]string, n int64) AuthRow { return AuthRow{k[0], k[1], k[2], c(n)} })
	buckets := make([]int64, len(usesBuckets))
	for _, n := range b.uses {
		for i, u := range usesBuckets {
			if *n <= u.max {
				buckets[i]++
				break
			}
		}
	}
	r.Uses = make([]KeyCount, 0, len(usesBuckets))
	for i, u := range usesBuckets {
		r.Uses = append(r.Uses, KeyCount{u.name, c(buckets[i])})
	}
	r.Erasures = keyed(b.erasures)
	r.Holds = rows(b.holds, func(k [2]string, n int64) HoldRow { return HoldRow{k[0], k[1], c(n)} })
	r.Exports = rows(b.exports, func(k [3]string, n int64) ExportRow { return ExportRow{k[0], k[1] == "true", k[2], c(n)} })
	if len(b.exportsJ) > 0 {
		r.ExportsByJurisdiction = rows(b.exportsJ, func(k [3]string, n int64) ExportJurisdictionRow {
			return ExportJurisdictionRow{k[0], k[1] == "true", k[2], c(n)}
		})
	}
	r.NoticesOwed, r.NoticesSent = some(b.noticesOwed), some(b.noticesSent)
	if len(b.proposals) > 0 {
		r.Proposals = rows(b.proposals, func(k [2]string, n int64) ProposalRow { return ProposalRow{k[0], k[1], c(n)} })
	}
	r.Models = make([]ModelRow, 0, len(b.models))
	for k, m := range b.models {
		row := ModelRow{ModelVersion: k, Flags: c(m[0]), Reviews: c(m[1]), Confirmed: c(m[2]), Rejected: c(m[3]), Withdrawn: some(m[4]), BelowThreshold: some(m[5])}
		for kk, n := range b.modelActs {
			if kk[0] == k {
				row.Actions = append(row.Actions, KeyCount{kk[1], c(*n)})
			}
		}
		slices.SortFunc(row.Actions, func(a, b KeyCount) int { return strings.Compare(a.Key, b.Key) })
		for kk, n := range b.modelCons {
			if kk[0] == k {
				row.Contests = append(row.Contests, ContestRow{kk[1], kk[2], c(*n)})
			}
		}
		slices.SortFunc(row.Contests, func(a, b ContestRow) int { return strings.Compare(a.Op+"\x00"+a.Outcome, b.Op+"\x00"+b.Outcome) })
		if m[1] > o.Band && m[3] > o.Band {
			rate := float64(m[3]) / float64(m[1])
			rate = float64(int64(rate*1000+0.5)) / 1000
			row.OverturnRate = &rate
		}
		r.Models = append(r.Models, row)
	}
	slices.SortFunc(r.Models, func(a, b ModelRow) int { return strings.Compare(a.ModelVersion, b.ModelVersion) })
	for k, n := range b.runs {
		r.Runs = append(r.Runs, RunRow{System: k[0], ModelVersion: k[1], Purpose: k[2], Runs: c(n[0]), ObjectsRead: c(n[1])})
	}
	slices.SortFunc(r.Runs, func(a, b RunRow) int {
		return strings.Compare(a.System+"\x00"+a.ModelVersion+"\x00"+a.Purpose, b.System+"\x00"+b.ModelVersion+"\x00"+b.Purpose)
	})
	r.Actions = keyed(b.actions)
	r.Contests = rows(b.contests, func(k [2]string, n int64) ContestRow { return ContestRow{k[0], k[1], c(n)} })
	var overdue int64
	for ct, due := range b.due {
		if due < b.start || due >= b.end {
			continue
		}
		if at, ok := b.resolvedAt[ct]; ok && at > due || !ok && b.last > due {
			overdue++
		}
	}
	r.ContestsOverdue = some(overdue)
	if b.tips > 0 {
		r.TipsByMonth = keyed(b.tipsMonth)
	}
	var notAck, notAns int64
	late := func(day string, due func(string) time.Time, given map[string]int64, tip string) bool {
		d := due(day).Unix()
		if d < b.start || d >= b.end {
			return false
		}
		at, ok := given[tip]
		return ok && at > d || !ok && b.last > d
	}
	for tip, day := range b.tipFiled {
		if late(day, ombud.TipAckDue, b.tipAck, tip) {
			notAck++
		}
		if late(day, ombud.TipFeedbackDue, b.tipAns, tip) {
			notAns++
		}
	}
	r.TipsNotAcknowledged, r.TipsNotAnswered = some(notAck), some(notAns)
	r.MissingClauses, r.ContractsByFlag, r.Unexplained = b.registryCounts()
	if b.details != nil {
		r.Auditor = &AuditorFigures{Details: rows(b.details, func(k [2]string, n int64) DetailRow { return DetailRow{k[0], DetailStatus(k[1]), Count{N: n}} })}
	}
	r.Daily = make([]DayRow, 0, 32)
	for i, d := range b.daily {
		if d != nil {
			r.Daily = append(r.Daily, DayRow{time.Unix(b.start+int64(i)*86400, 0).UTC().Format(time.DateOnly), c(d[0]), c(d[1])})
		}
	}
	return r
}

// Compute is the report as one pure function of the log's leaves
// (in index order, below the checkpoint size).
func Compute(opt Options, leaves func(yield func([]byte) bool)) *Report {
	b := NewBuilder(opt)
	for leaf := range leaves {
		b.Add(leaf)
	}
	return b.Report()
}

// Name names the report of period computed at checkpoint size,
// "2026-11@1234": its file name in a reports directory (plus ".json") and
// its address under /reports/.
func Name(period string, size uint64) string {
	return period + "@" + strconv.FormatUint(size, 10)
}

// NoteText is the text of the signed note that publishes a report:
// its format, origin, period, checkpoint and SHA-256.
func NoteText(r *Report, sha256hex string) string {
	return fmt.Sprintf("%s\norigin %s\nperiod %s\ncheckpoint %d %x\nsha256 %s\n", Format, r.Origin, r.Period.Name, r.Checkpoint.Size, r.Checkpoint.Root, sha256hex)
}

// rows turns a map of counts into rows sorted by key: the order of a
// report's rows is part of its canonical bytes. Keys are one code, or
// several compared in order.
func rows[K string | [2]string | [3]string, R any](m map[K]*int64, row func(K, int64) R) []R {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(joined(a), joined(b)) })
	out := make([]R, 0, len(keys))
	for _, k := range keys {
		out = append(out, row(k, *m[k]))
	}
	return out
}

// joined spells a key as one string that sorts as its parts do: codes
// hold no NUL, which sorts before every byte they hold.
func joined[K string | [2]string | [3]string](k K) string {
	switch k := any(k).(type) {
	case [2]string:
		return k[0] + "\x00" + k[1]
	case [3]string:
		return k[0] + "\x00" + k[1] + "\x00" + k[2]
	}
	return any(k).(string)
}

// contractState is what the report counts of a registered contract.
type contractState struct {
	ocid                        string
	flags, missing, unexplained []string
}

// contract reads a contract entry into the registry: a register entry
// waits for its import's closing entry, which registers the import's
// contracts; an amendment replaces a registered contract's state.
func (b *Builder) contract(k *entry.Contract) {
	st := func() *contractState {
		return &contractState{ocid: strings.Clone(k.OCID), flags: slices.Clone(k.ProductFlags), missing: slices.Clone(k.MissingClauses), unexplained: slices.Clone(k.Unexplained)}
	}
	switch k.Op {
	case entry.OpRegister:
		if k.Import != "" {
			b.imports[strings.Clone(k.Import)] = append(b.imports[k.Import], st())
		}
	case entry.OpImport:
		for _, c := range b.imports[k.Import] {
			if _, ok := b.registry[c.ocid]; !ok {
				b.registry[c.ocid] = c
			}
		}
		delete(b.imports, k.Import)
	case entry.OpAmend:
		if _, ok := b.registry[k.OCID]; ok {
			b.registry[k.OCID] = st()
		}
	}
}

// registryCounts counts the registry's contracts by clause lacking, by
// product flag and by clause lacking with no exception, exactly.
func (b *Builder) registryCounts() (missing, flags, unexplained []KeyCount) {
	count := func(of func(*contractState) []string) []KeyCount {
		m := map[string]int64{}
		for _, c := range b.registry {
			for _, v := range of(c) {
				m[v]++
			}
		}
		out := make([]KeyCount, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, KeyCount{Key: k, Count: Count{N: m[k]}})
		}
		return out
	}
	missing = count(func(c *contractState) []string { return c.missing })
	if flags = count(func(c *contractState) []string { return c.flags }); len(flags) == 0 {
		flags = nil
	}
	if unexplained = count(func(c *contractState) []string { return c.unexplained }); len(unexplained) == 0 {
		unexplained = nil
	}
	return missing, flags, unexplained
}
