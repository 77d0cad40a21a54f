package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// reportLog returns the leaves of a fixed log: n entries over November
// 2026 and the first days of December, of every kind a report counts.
func reportLog(t testing.TB, n int) [][]byte {
	t.Helper()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	j := &journal.Journal{Key: testKey(), Now: func() time.Time { return start.Add(time.Duration(i) * 37 * time.Minute) }}
	rng := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for i = 0; i < n; i++ {
		var body entry.Body
		switch k := rng.IntN(100); {
		case k < 50:
			dec, reasons := entry.Permit, []string{"authorization_in_scope"}
			if rng.IntN(4) == 0 {
				dec, reasons = entry.Deny, []string{[]string{"no_authorization", "out_of_scope", "expired"}[rng.IntN(3)]}
			}
			body = entry.Access{Decision: dec, Class: []string{"location", "biometric", "document"}[rng.IntN(3)],
				Purpose: []string{"criminal_investigation", "missing_person"}[rng.IntN(2)], Reasons: reasons, Emergency: rng.IntN(40) == 0,
				Object: "obj" + strconv.Itoa(i), Authorization: "auth-" + strconv.Itoa(rng.IntN(30)), By: "analyst"}
		case k < 55:
			op := entry.OpRegister
			if rng.IntN(5) == 0 {
				op = entry.OpRevoke
			}
			body = entry.Authorization{Op: op, AuthKind: []string{"court_order", "warrant"}[rng.IntN(2)], Issuer: "court.example/d" + strconv.Itoa(rng.IntN(3)),
				Authorization: "auth-" + strconv.Itoa(i), By: "admin"}
		case k < 62:
			body = entry.Erase{Class: "location", Reason: []string{"retention_expired", "court_order"}[rng.IntN(2)], Object: "o" + strconv.Itoa(i)}
		case k < 65:
			body = entry.Hold{Op: []string{entry.OpSet, entry.OpRelease}[rng.IntN(2)], Reason: "litigation", Object: "o"}
		case k < 68:
			body = entry.Export{Decision: entry.Permit, ClassCounts: []string{"biometric:1"}, Objects: 1, RecipientCategory: "foreign_police", CrossBorder: rng.IntN(2) == 0, Export: "x", Recipient: "r"}
		case k < 78:
			body = entry.Flag{ModelVersion: []string{"4.2.1", "5.0.0"}[rng.IntN(2)], Class: "biometric", Flag: "flag-" + strconv.Itoa(i)}
		case k < 90:
			body = entry.Review{Outcome: []string{entry.Confirm, entry.Reject}[rng.IntN(2)], Flag: "flag-" + strconv.Itoa(rng.IntN(i+1)), By: "rev"}
		case k < 93:
			body = entry.Action{ActionKind: "questioning", Confirmations: 2, Flag: "f"}
		case k < 95:
			body = entry.Contest{Op: entry.OpFiled, Contest: "c"}
		case k < 96:
			body = entry.Tip{Op: entry.OpFiled, Tip: "t"}
		case k < 97:
			// Imports of contracts, some cut short (no closing entry
			// within their 40 entries), and amendments.
			imp := "imp-" + strconv.Itoa(i/40)
			missing := []string{"auditRights", "customerKeyCustody", "humanReviewOfAIOutputs"}[:rng.IntN(4)]
			flags := []string{"cloud", "ai", "biometric"}[rng.IntN(3):]
			switch rng.IntN(4) {
			case 0:
				body = entry.Contract{Op: entry.OpImport, Count: 1, Import: imp, By: "admin"}
			case 1:
				body = entry.Contract{Op: entry.OpAmend, OCID: "ocds-" + strconv.Itoa(rng.IntN(i+1)), ProductFlags: flags, MissingClauses: missing, By: "admin"}
			default:
				body = entry.Contract{Op: entry.OpRegister, OCID: "ocds-" + strconv.Itoa(i), Import: imp, ProductFlags: flags, MissingClauses: missing,
					Unexplained: missing[:rng.IntN(len(missing)+1)], By: "admin"}
			}
		case k < 98:
			body = entry.Key{Op: entry.OpRotate, KEKVersion: 2, Keysets: 10}
		case k < 99:
			body = entry.Policy{Op: entry.OpSet, Version: 2, PolicySHA256: "ab"}
		default:
			body = entry.Breach{Reason: "emergency_not_covered", Class: "location", Object: "o"}
		}
		r := journal.Record{Body: body}
		_, leaf, _, err := j.Build(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, leaf)
	}
	return out
}

func leavesOf(ls [][]byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, l := range ls {
			if !yield(l) {
				return
			}
		}
	}
}

// TestReportGolden pins the report of a fixed log: a change to what the
// report counts or how it is written shows up here, and must be deliberate.
func TestReportGolden(t *testing.T) {
	leaves := reportLog(t, 2000)
	p, err := ParsePeriod("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	r := Compute(Options{Origin: "test.ombud/log", Period: p, Checkpoint: Checkpoint{Size: 2000, Root: bytes.Repeat([]byte{7}, 32)}}, leavesOf(leaves))
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const path = "testdata/2026-11.json"
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReportGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("report differs from %s (run with -update if the change is deliberate):\n%s", path, got)
	}
	// November only: the 2000 entries run 37 minutes apart into December.
	if r.Entries.N == 0 || r.Entries.N >= 2000 {
		t.Fatalf("entries in November: %d", r.Entries.N)
	}
}

// TestReportLayoutIndependent: the report reads what the entries say, not
// how they are laid out: the same entries pretty-printed (the slow path)
// give the same bytes.
func TestReportLayoutIndependent(t *testing.T) {
	leaves := reportLog(t, 600)
	var pretty [][]byte
	for _, l := range leaves {
		var b bytes.Buffer
		json.Indent(&b, l, "", "  ")
		pretty = append(pretty, b.Bytes())
	}
	p, _ := ParsePeriod("2026-Q4")
	opt := Options{Origin: "x", Period: p}
	a, _ := Compute(opt, leavesOf(leaves)).Marshal()
	b, _ := Compute(opt, leavesOf(pretty)).Marshal()
	if !bytes.Equal(a, b) {
		t.Fatalf("compact and pretty-printed entries give different reports:\n%s\n%s", a, b)
	}
	var r Report
	if err := json.Unmarshal(a, &r); err != nil {
		t.Fatal(err)
	}
	if r.Malformed.N != 0 || r.Entries.N != 600 {
		t.Fatalf("entries %v malformed %v", r.Entries, r.Malformed)
	}
}

// TestBandingNeverRevealsSmallCounts is a property test: for random logs
// and random bands, no count in the published JSON lies between 1 and the
// band, in any row.
func TestBandingNeverRevealsSmallCounts(t *testing.T) {
	for seed := range 40 {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		n := 1 + rng.IntN(300)
		band := int64(1 + rng.IntN(20))
		leaves := reportLog(t, n)
		rng.Shuffle(len(leaves), func(i, j int) { leaves[i], leaves[j] = leaves[j], leaves[i] })
		p, _ := ParsePeriod("2026")
		b, err := Compute(Options{Origin: "x", Period: p, Band: band}, leavesOf(leaves)).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		// Numbers that are not counts: the band itself, the checkpoint
		// size, the overturn rate.
		delete(doc, "band")
		delete(doc, "checkpoint")
		// The registry of contracts: about organisations, published
		// whole on /contracts, so exact by design.
		for _, k := range []string{"contracts", "contracts_missing_clauses", "contracts_by_flag", "contracts_unexplained"} {
			delete(doc, k)
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if k != "overturn_rate" {
						walk(path+"."+k, x)
					}
				}
			case []any:
				for i, x := range v {
					walk(fmt.Sprintf("%s[%d]", path, i), x)
				}
			case json.Number:
				if n, err := v.Int64(); err != nil || n >= 1 && n <= band {
					t.Fatalf("seed %d, band %d: %s = %s is a small count published as a number", seed, band, path, v)
				}
			case string:
				if len(v) > 2 && v[:2] == "1-" && v != "1-"+strconv.FormatInt(band, 10) {
					t.Fatalf("seed %d: %s = %q is not the band 1-%d", seed, path, v, band)
				}
			}
		}
		walk("", doc)
	}
	for _, n := range []int64{0, 1, 5, 9, 10, 1000} {
		b, _ := json.Marshal(Count{N: n, Band: 9})
		want := strconv.FormatInt(n, 10)
		if n >= 1 && n <= 9 {
			want = `"1-9"`
		}
		if string(b) != want {
			t.Errorf("Count %d marshals as %s, want %s", n, b, want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	for s, want := range map[string][2]string{
		"2026-11":                {"2026-11-01", "2026-12-01"},
		"2026-12":                {"2026-12-01", "2027-01-01"},
		"2026-Q4":                {"2026-10-01", "2027-01-01"},
		"2026":                   {"2026-01-01", "2027-01-01"},
		"2026-11-01..2026-11-15": {"2026-11-01", "2026-11-16"},
	} {
		p, err := ParsePeriod(s)
		if err != nil || p.Start.Format(time.DateOnly) != want[0] || p.End.Format(time.DateOnly) != want[1] {
			t.Errorf("%s: %v–%v %v", s, p.Start, p.End, err)
		}
	}
	for _, s := range []string{"", "2026-13", "2026-Q5", "26", "2026-11-15..2026-11-01", "2026-11-01..2031-11-01", "2026-11-1", "november"} {
		if _, err := ParsePeriod(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func BenchmarkReport(b *testing.B) {
	leaves := reportLog(b, 100_000)
	p, _ := ParsePeriod("2026")
	b.ResetTimer()
	for b.Loop() {
		Compute(Options{Origin: "x", Period: p}, leavesOf(leaves))
	}
	b.ReportMetric(float64(len(leaves))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-Q4", "2026", "2026-11-01..2026-11-15", "2026-02-30..2026-03-01", "0000-00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if p.Name != s || !p.Start.Before(p.End) || !p.Contains(p.Start) || p.Contains(p.End) || p.End.Sub(p.Start) > 5*366*24*time.Hour {
			t.Fatalf("%q: %+v", s, p)
		}
	})
}

// TestAddDetail: auditor mode counts each detail record of the period by
// what became of it, leaves entries outside the period and entries
// without a detail uncounted, and leaves a report without details alone.
func TestAddDetail(t *testing.T) {
	p, _ := ParsePeriod("2026-03")
	in := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	b := NewBuilder(Options{Origin: "o", Period: p})
	if r := b.Report(); r.Auditor != nil {
		t.Fatal("a report without details has auditor figures")
	}
	b.AuditorMode()
	if r := b.Report(); r.Auditor == nil || len(r.Auditor.Details) != 0 {
		t.Fatalf("auditor mode without details: %+v", r.Auditor)
	}
	entryAt := func(at time.Time, d journal.Detail) *entry.Entry {
		return &entry.Entry{Kind: entry.KindAccess, Time: at, Detail: d.Commitment}
	}
	good := journal.Commit([]byte(`{"purpose":"x"}`))
	erased := journal.Commit([]byte(`{"purpose":"y"}`))
	erased.Body = nil
	altered := journal.Commit([]byte(`{"purpose":"z"}`))
	altered.Body = []byte(`{"purpose":"Z"}`)
	for _, c := range []struct {
		e    *entry.Entry
		d    *journal.Detail
		want DetailStatus
	}{
		{entryAt(in, good), &good, DetailVerified},
		{entryAt(in, good), &good, DetailVerified},
		{entryAt(in, erased), &erased, DetailErased},
		{entryAt(in, altered), &altered, DetailMismatch},
		{entryAt(in, good), nil, DetailMissing},
		{entryAt(in.AddDate(0, 1, 0), good), &good, DetailVerified},        // after the period
		{&entry.Entry{Kind: entry.KindFlag, Time: in}, nil, DetailMissing}, // commits to nothing
	} {
		if got := b.AddDetail(c.e, c.d); got != c.want {
			t.Errorf("AddDetail: %s, want %s", got, c.want)
		}
	}
	want := []DetailRow{{"access", DetailErased, Count{N: 1}}, {"access", DetailMismatch, Count{N: 1}}, {"access", DetailMissing, Count{N: 1}}, {"access", DetailVerified, Count{N: 2}}}
	if got := b.Report().Auditor.Details; !slices.Equal(got, want) {
		t.Fatalf("auditor figures %+v, want %+v", got, want)
	}
}

var update = flag.Bool("update", false, "rewrite the golden report in testdata/")

// testKey is the linkage key of the report's test log: bytes 0x00 … 0x1f.
func testKey() ombud.LinkageKey {
	var b [32]byte
	for i := range b {
		b[i] = byte(i)
	}
	k, _ := ombud.LinkageKeyFromBytes(b[:])
	return k
}

// TestRunRows: runs and the objects read in them are counted by system
// name, version and purpose, reads in the period of runs started before
// it included; a period without runs has no runs field at all.
func TestRunRows(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(-time.Hour) // the registration and the first run precede the period
	j := &journal.Journal{Key: testKey(), Now: func() time.Time { return at }}
	var leaves [][]byte
	add := func(b entry.Body) {
		_, leaf, _, err := j.Build(journal.Record{Body: b})
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
	add(entry.Analytic{Op: entry.OpRegister, Name: "plate-reader", Vendor: "v", Task: "plate_reading", Classes: []string{"location"}, Model: "anpr", ModelVersion: "2.0", System: "sys-1"})
	add(entry.Run{Op: entry.OpStart, Decision: entry.Permit, ModelVersion: "2.0", Purpose: "criminal_investigation", Objects: 3, Run: "run-1", System: "sys-1"})
	at = start.Add(time.Hour)
	read := func(run string) {
		add(entry.Access{Decision: entry.Permit, Class: "location", Purpose: "criminal_investigation", Reasons: []string{"in_run"}, Object: "o", Run: run, By: "m"})
	}
	read("run-1")
	read("run-1")
	add(entry.Run{Op: entry.OpStart, Decision: entry.Deny, ModelVersion: "2.0", Purpose: "criminal_investigation", Objects: 3, Run: "run-2", System: "sys-1"})
	add(entry.Run{Op: entry.OpStart, Decision: entry.Permit, ModelVersion: "2.0", Purpose: "missing_person", Objects: 1, Run: "run-3", System: "sys-1"})
	read("run-3")
	p, _ := ParsePeriod("2026-11")
	r := Compute(Options{Period: p, Band: 1}, leavesOf(leaves))
	want := []RunRow{
		{System: "plate-reader", ModelVersion: "2.0", Purpose: "criminal_investigation", Runs: Count{N: 0, Band: 1}, ObjectsRead: Count{N: 2, Band: 1}},
		{System: "plate-reader", ModelVersion: "2.0", Purpose: "missing_person", Runs: Count{N: 1, Band: 1}, ObjectsRead: Count{N: 1, Band: 1}},
	}
	if !slices.Equal(r.Runs, want) {
		t.Fatalf("runs %+v, want %+v", r.Runs, want)
	}
	empty := Compute(Options{Period: p}, leavesOf(reportLog(t, 300)))
	if b, _ := empty.Marshal(); empty.Runs != nil || bytes.Contains(b, []byte(`"runs"`)) {
		t.Fatal("a period without runs has a runs field")
	}
}

// TestExportAndNoticeRows: exports by the recipient's jurisdiction (denied
// ones too), and the erasure notices owed (one per recipient an erase
// entry names) and sent; absent from a period without them.
func TestExportAndNoticeRows(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	j := &journal.Journal{Key: testKey(), Now: func() time.Time { return start.Add(time.Hour) }}
	var leaves [][]byte
	add := func(b entry.Body) {
		_, leaf, _, err := j.Build(journal.Record{Body: b})
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
	export := func(decision, jurisdiction string, cross bool) {
		add(entry.Export{Decision: decision, Purpose: "mutual_legal_assistance", RecipientCategory: "foreign_authority", Jurisdiction: jurisdiction,
			CrossBorder: cross, ClassCounts: []string{"location:1"}, Objects: 1, Export: "x", Recipient: "r"})
	}
	export(entry.Permit, "US-NY", true)
	export(entry.Permit, "US-NY", true)
	export(entry.Deny, "US-NY", true)
	export(entry.Permit, "EU-DE", false)
	add(entry.Erase{Reason: "court_order", Class: "location", Object: "o1", Recipient: []string{"r1", "r2"}})
	add(entry.Erase{Reason: "court_order", Class: "location", Object: "o2"})
	add(entry.Notice{RecipientCategory: "court", Jurisdiction: "EU-DE", Object: "o1", Recipient: "r1"})
	p, _ := ParsePeriod("2026-11")
	r := Compute(Options{Period: p, Band: 1}, leavesOf(leaves))
	c := func(n int64) Count { return Count{N: n, Band: 1} }
	want := []ExportJurisdictionRow{
		{Jurisdiction: "EU-DE", Decision: entry.Permit, Count: c(1)},
		{Jurisdiction: "US-NY", CrossBorder: true, Decision: entry.Deny, Count: c(1)},
		{Jurisdiction: "US-NY", CrossBorder: true, Decision: entry.Permit, Count: c(2)},
	}
	if !slices.Equal(r.ExportsByJurisdiction, want) {
		t.Fatalf("exports by jurisdiction %+v, want %+v", r.ExportsByJurisdiction, want)
	}
	if r.NoticesOwed == nil || *r.NoticesOwed != c(2) || r.NoticesSent == nil || *r.NoticesSent != c(1) {
		t.Fatalf("notices owed %v, sent %v; want 2 and 1", r.NoticesOwed, r.NoticesSent)
	}
	empty := Compute(Options{Period: p}, leavesOf(leaves[4:5])) // one erasure that owes two notices
	if empty.NoticesSent != nil || empty.ExportsByJurisdiction != nil {
		t.Fatalf("a period with no export and no notice sent: %+v %+v", empty.ExportsByJurisdiction, empty.NoticesSent)
	}
	none := Compute(Options{Period: p}, leavesOf(leaves[5:6]))
	if b, _ := none.Marshal(); bytes.Contains(b, []byte("erasure_notices")) || bytes.Contains(b, []byte("exports_by_jurisdiction")) {
		t.Fatalf("a period without exports or notices has their fields:\n%s", b)
	}
}

// TestProposalRows: proposals by operation and outcome; one proposed
// before the period and executed in it counts as executed under its
// operation.
func TestProposalRows(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(-time.Hour)
	j := &journal.Journal{Key: testKey(), Now: func() time.Time { return at }}
	var leaves [][]byte
	add := func(b entry.Body) {
		_, leaf, _, err := j.Build(journal.Record{Body: b})
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
	propose := func(id string) {
		add(entry.Proposal{Op: entry.OpPropose, Operation: "issuer.register", ParamsSHA256: "ab", Expires: "2026-12-01T00:00:00Z", Proposal: id, By: "a1"})
	}
	propose("p1")
	at = start.Add(time.Hour)
	add(entry.Proposal{Op: entry.OpApprove, Operation: "issuer.register", ParamsSHA256: "ab", Proposal: "p1", By: "a2"})
	add(entry.Issuer{Op: entry.OpRegister, Issuer: "court.example/x", IssuerKind: "court", Jurisdiction: "EU", KeyID: "k", By: "a1",
		Proposal: "p1", Approver: []string{"ps1:AAAAAAAAAAAAAAAAAAAAAA"}})
	propose("p2")
	add(entry.Proposal{Op: entry.OpRefuse, Operation: "issuer.register", ParamsSHA256: "ab", Proposal: "p2", By: "a2"})
	propose("p3")
	add(entry.Proposal{Op: entry.OpExpire, Operation: "issuer.register", ParamsSHA256: "ab", Proposal: "p3"})
	p, _ := ParsePeriod("2026-11")
	r := Compute(Options{Period: p, Band: 1}, leavesOf(leaves))
	c := func(n int64) Count { return Count{N: n, Band: 1} }
	want := []ProposalRow{
		{"issuer.register", "executed", c(1)}, {"issuer.register", "expired", c(1)},
		{"issuer.register", "proposed", c(2)}, {"issuer.register", "refused", c(1)},
	}
	if !slices.Equal(r.Proposals, want) {
		t.Fatalf("proposals %+v, want %+v", r.Proposals, want)
	}
}
