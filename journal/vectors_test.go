package journal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

var update = flag.Bool("update", false, "rewrite the golden test vectors in testdata/")

// vectorKey is the linkage key of the test vectors: bytes 0x00 … 0x1f.
func vectorKey() ombud.LinkageKey {
	var b [32]byte
	for i := range b {
		b[i] = byte(i)
	}
	k, _ := ombud.LinkageKeyFromBytes(b[:])
	return k
}

// vectorSalt is the detail salt of the test vectors: 32 bytes of 0xa5.
var vectorSalt = bytes.Repeat([]byte{0xa5}, 32)

// subjectPs is a subject's keyed pseudonym under the vector key: subject
// refs are keyed before they reach the journal.
func subjectPs(id string) string { return vectorKey().Pseudonym("subject", id) }

// exampleRecords holds one example record of every kind; docs/LOG-FORMAT.md
// shows the entries they produce.
var exampleRecords = []Record{
	{Body: entry.Principal{Op: entry.OpCreate, Roles: []string{"analyst"}, Principal: "k3x9q2m7a1b4c5d6", By: "adminadminadmin0"}, Detail: map[string]any{"id": "k3x9q2m7a1b4c5d6", "name": "Ada Analyst", "roles": []string{"analyst"}}},
	{Body: entry.Policy{Op: entry.OpSet, Version: 3, PolicySHA256: "9f2c1d7e5a0b4c3d8e6f7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f", By: "adminadminadmin0"}, Detail: map[string]any{"comment": "allow emergency access to location for missing-person cases"}},
	{Body: entry.Authorization{Op: entry.OpRegister, AuthKind: "court_order", Issuer: "court.example/district-3", Purposes: []string{"criminal_investigation"}, Classes: []string{"location"}, NotBefore: "2026-11-01T00:00:00Z", NotAfter: "2026-12-01T00:00:00Z", MaxUses: 20, Jurisdiction: "EU-DE",
		Authorization: "auth-2026-0042", Subject: []string{subjectPs("national-id:DE-1234567")}, By: "adminadminadmin0"}, Detail: map[string]any{"case_ref": "3 Gs 117/26", "note": "signed by judge on duty"}},
	{Body: entry.Ingest{Class: "location", Region: "eu-central", Source: "alpr-feed-7", SizeBand: "1MiB-16MiB", RetainUntil: "2027-05-27", Object: "obj_7fj3k2", Subject: []string{subjectPs("plate:B-XY-123")}, By: "ingestingestin01"}, Detail: map[string]any{"collected_at": "2026-11-27T06:00:00Z", "bytes": 4194304}},
	{Body: entry.Access{Decision: entry.Permit, Class: "location", Purpose: "criminal_investigation", Reasons: []string{"authorization_in_scope"}, Use: 3,
		Object: "obj_7fj3k2", Subject: []string{subjectPs("plate:B-XY-123")}, Authorization: "auth-2026-0042", By: "analystanalyst01"}, Detail: map[string]any{"request_id": "r-88", "stated_purpose": "trace vehicle in case 3 Gs 117/26"}},
	{Body: entry.Hold{Op: entry.OpSet, Reason: "litigation", Object: "obj_7fj3k2", Authorization: "auth-2026-0042", By: "adminadminadmin0"}, Detail: map[string]any{"note": "preserve for trial"}},
	{Body: entry.Erase{Reason: "retention_expired", Class: "location", Object: "obj_7fj3k2"}},
	{Body: entry.Export{Decision: entry.Permit, Purpose: "mutual_legal_assistance", RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR", CrossBorder: true,
		ClassCounts: []string{"biometric:2", "location:1"}, Objects: 3, Reasons: []string{"authorization_in_scope"}, Use: 1,
		PolicySHA256: "4f2a9c1d0e8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7", AuthKind: "court_order",
		Export: "exp-7q2m9k4w", Recipient: "rcp-4kq9w2m7", Authorization: "auth-2026-0050", By: "analystanalyst01"},
		Detail: entry.ExportDetail{Export: "exp-7q2m9k4w", Justification: "request MLA-2026-113", Objects: []string{"obj_9a8b7c", "obj_9a8b7d", "obj_7fj3k2"}, Principal: "analystanalyst01"}},
	{Body: entry.Flag{System: "vendor-x-frs", Model: "facematch", ModelVersion: "4.2.1", Mode: "1:N", ReferenceDB: "custody-images", GallerySize: 120000, Rank: 1, Score: 0.91, Threshold: 0.85, OperatingPoint: "fmr-1e-4", PeriodStart: "2026-11-01T00:00:00Z", PeriodEnd: "2026-11-30T00:00:00Z", Class: "biometric",
		Flag: "flag-311", Input: []string{"obj_probe1"}, Candidate: []string{"obj_gallery9"}, By: "ingestingestin01"}},
	{Body: entry.Review{Outcome: entry.Reject, Flag: "flag-311", By: "reviewerreview01"}, Detail: map[string]any{"rationale": "different ear shape; probe image too blurred"}},
	{Body: entry.Action{ActionKind: "questioning", Confirmations: 2, ModelVersion: "4.2.1", Flag: "flag-312", Action: "action-77", By: "analystanalyst01"}, Detail: map[string]any{"notice_code": "N7Q-4XK-PL2"}},
	{Body: entry.Contest{Op: entry.OpFiled, Action: "action-77", Contest: "contest-5"}, Detail: map[string]any{"statement": "I was not in the city that day."}},
	{Body: entry.Tip{Op: entry.OpFiled, Commitment: "3d1f7c2a9b8e6d5c4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e", Tip: "3d1f7c2a9b8e6d5c4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e"}, Time: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
	{Body: entry.Contract{Op: entry.OpRegister, OCID: "ocds-abc123-2026-17", Release: "sha256:5b1e0c9f3a7d2e4b6c8a0f1e3d5c7b9a2e4f6a8c0b2d4e6f8a1c3e5b7d9f0a2c", Buyer: "agency-police", Vendor: "cloudco",
		Intermediaries: []string{"reseller-1"}, ProductFlags: []string{"cloud", "ai"}, MissingClauses: []string{"customerKeyCustody", "humanReviewOfAIOutputs"}, Unexplained: []string{"humanReviewOfAIOutputs"},
		Upstream: []string{"ocds-abc123-2025-01"}, Import: "imp-4kq9w2m7", By: "adminadminadmin0"}},
	{Body: entry.Key{Op: entry.OpRotate, KEKVersion: 2, By: "adminadminadmin0"}},
	{Body: entry.Breach{Reason: "emergency_not_covered", Class: "location", Deadline: "2026-11-29T06:30:00Z", Object: "obj_7fj3k2", By: "analystanalyst01"}, Detail: map[string]any{"access_entry": 4711, "emergency_reason": "missing_person"}},
	{Body: entry.Audit{Op: entry.OpDetails, From: 0, To: 4096, By: "auditorauditor01"}},
	{Body: entry.Issuer{Op: entry.OpRegister, Issuer: "court.example/district-3", IssuerKind: "court", Jurisdiction: "EU-DE", KeyID: "4a1f9c2e", By: "adminadminadmin0"}},
	{Body: entry.System{Op: entry.OpDetailsErased, EntryKind: "access", Before: "2020-11-30", Count: 48211}},
	{Body: entry.Attestation{Op: entry.OpDerivedDataDeleted, Access: 4711, Object: "obj_7fj3k2", By: "adminadminadmin0"}, Detail: map[string]any{"access_entry": 4711, "note": "the case share's copies were deleted on 2026-12-02"}},
	{Body: entry.Build{BinarySHA256: "8c3f5e2a9d1b7c4e6f0a2b8d5c9e1f3a7b4d6c8e0f2a5b9d1c3e7f4a6b8d0c2e", BuildVersion: "v0.0.0-20261205120000-0123456789ab",
		VCSRevision: "0123456789abcdef0123456789abcdef01234567", GoVersion: "go1.27.3", SBOMSHA256: "3b7e1d9c5a2f8e4b6d0c1a9f7e3b5d2c8a4f6e0b1d9c7a5e3f2b8d4c6a0e1f9b"}},
	{Body: entry.Analytic{Op: entry.OpRegister, Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification", Classes: []string{"biometric"},
		Model: "facematch", ModelVersion: "4.2.1", FPIR: 0.003, FNIR: 0.021, Threshold: 0.85, AccuracySource: "nist-frte-1n-2026-10",
		ImpactAssessment: "fria-2026-07", Contract: "ocds-abc123-2026-17", System: "sys-k3x9q2m7", By: "adminadminadmin0"}},
	{Body: entry.Run{Op: entry.OpStart, Decision: entry.Permit, ModelVersion: "4.2.1", Purpose: "criminal_investigation", Classes: []string{"biometric"},
		Objects: 1200, Until: "2026-11-28T06:30:00.123Z", Reasons: []string{"authorization_in_scope"}, Use: 1,
		PolicySHA256: "4f2a9c1d0e8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7", AuthKind: "court_order",
		Run: "run-9c2kq7w1", System: "sys-k3x9q2m7", Authorization: "auth-2026-0042", By: "machinemachine00"},
		Detail: map[string]any{"run": "run-9c2kq7w1", "objects": []string{"obj_7fj3k2", "obj_8gk4l3"}, "principal": "machinemachine00", "justification": ""}},
	{Body: entry.Recipient{Op: entry.OpRegister, RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR", Recipient: "rcp-4kq9w2m7", By: "adminadminadmin0"},
		Detail: entry.RecipientDetail{ID: "rcp-4kq9w2m7", Key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", Name: "Police nationale, unit 12"}},
	{Body: entry.Notice{RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR", Object: "obj_7fj3k2", Recipient: "rcp-4kq9w2m7", By: "adminadminadmin0"},
		Detail: entry.NoticeDetail{Notice: "ntc-8d2k4q", Note: "Sent by registered letter to the data protection officer of the unit, ref. 2026/118", Object: "obj_7fj3k2", Recipient: "rcp-4kq9w2m7"}},
	{Body: entry.Proposal{Op: entry.OpPropose, Operation: "issuer.register", ParamsSHA256: "9f2c4e1a0b3d5c7e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70", Expires: "2026-11-30T06:30:00Z",
		Proposal: "prp-3k9q2m7w", By: "adminadminadmin0"},
		Detail: entry.ProposalDetail{Operation: "issuer.register", Params: `{"name":"court.example/district-4","kind":"court","jurisdiction":"EU-DE","key":"court.example/district-4+5e1c2a7b+AQ…"}`, Proposal: "prp-3k9q2m7w"}},
	{Body: entry.Quorum{Op: entry.OpEnable, Required: []string{"issuer.register:2", "policy.reload:2", "quorum.set:2"}, By: "adminadminadmin0"}},
	{Body: entry.Report{Period: "2026-Q4", CheckpointSize: 123456, ReportSHA256: "5b84dd147f29063c6bb79a58de50836eb997311a72781ddaa0eadd5f596ff52a", Format: "json", By: "adminadminadmin0"}},
}

// exampleRecord returns the example record of kind k.
func exampleRecord(t testing.TB, k entry.Kind) Record {
	for _, r := range exampleRecords {
		if r.Body.Kind() == k {
			return r
		}
	}
	t.Fatalf("no example record of kind %s", k)
	return Record{}
}

func vectorEntry(t testing.TB, k entry.Kind) (leaf []byte, d *Detail) {
	t.Helper()
	r := exampleRecord(t, k)
	j := &Journal{Key: vectorKey(), Now: func() time.Time { return time.Date(2026, 11, 27, 6, 30, 0, 123e6, time.UTC) }}
	e, _, det, err := j.Build(r)
	if err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	if det != nil {
		// Replace the random salt with the fixed one so vectors are stable.
		c := Detail{Commitment: commitment(vectorSalt, det.Body), Salt: vectorSalt, Body: det.Body}
		e.Detail = c.Commitment
		d = &c
	}
	leaf, err = e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return leaf, d
}

type detailVector struct {
	Salt string `json:"salt"`
	// Body is the exact detail bytes the commitment covers, as a string.
	Body string `json:"body"`
}

func TestEntryVectors(t *testing.T) {
	if len(exampleRecords) != len(entry.Kinds()) {
		t.Fatalf("%d example records for %d kinds", len(exampleRecords), len(entry.Kinds()))
	}
	for _, k := range entry.Kinds() {
		leafPath := filepath.Join("..", "testdata", "entries", string(k)+".json")
		detailPath := filepath.Join("..", "testdata", "entries", string(k)+".detail.json")
		if *update {
			leaf, d := vectorEntry(t, k)
			os.MkdirAll(filepath.Dir(leafPath), 0o755)
			os.WriteFile(leafPath, leaf, 0o644)
			if d != nil {
				b, _ := json.MarshalIndent(detailVector{base64.StdEncoding.EncodeToString(d.Salt), string(d.Body)}, "", "  ")
				os.WriteFile(detailPath, append(b, '\n'), 0o644)
			}
		}
		leaf, err := os.ReadFile(leafPath)
		if err != nil {
			t.Fatalf("%s: %v (run go test -run TestEntryVectors -update)", k, err)
		}
		e, err := entry.Parse(leaf)
		if err != nil {
			t.Fatalf("%s: vector does not parse: %v", k, err)
		}
		again, err := e.Marshal()
		if err != nil || !bytes.Equal(again, leaf) {
			t.Fatalf("%s: re-marshalled entry differs:\n%s\n%s", k, leaf, again)
		}
		if want, _ := vectorEntry(t, k); !bytes.Equal(want, leaf) {
			t.Fatalf("%s: vector is stale; the code now produces:\n%s", k, want)
		}
		if e.Detail != "" {
			raw, err := os.ReadFile(detailPath)
			if err != nil {
				t.Fatal(err)
			}
			var dv detailVector
			if err := json.Unmarshal(raw, &dv); err != nil {
				t.Fatal(err)
			}
			salt, _ := base64.StdEncoding.DecodeString(dv.Salt)
			d := Detail{Commitment: e.Detail, Salt: salt, Body: []byte(dv.Body)}
			if err := CheckDetail(e, d); err != nil {
				t.Fatalf("%s: detail vector does not check: %v", k, err)
			}
			d.Body = append([]byte(nil), d.Body...)
			d.Body[len(d.Body)-2] ^= 1
			if err := CheckDetail(e, d); err == nil {
				t.Fatalf("%s: altered detail checks", k)
			}
		}
	}
}

// TestLogFormatExamples: every example in docs/LOG-FORMAT.md is its
// kind's vector, pretty-printed.
func TestLogFormatExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "LOG-FORMAT.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(\\{\n  \"v\": 1.*?)\n```").FindAllSubmatch(doc, -1)
	if len(blocks) != len(entry.Kinds()) {
		t.Fatalf("%d examples for %d kinds", len(blocks), len(entry.Kinds()))
	}
	for _, b := range blocks {
		var compact bytes.Buffer
		if err := json.Compact(&compact, b[1]); err != nil {
			t.Fatal(err)
		}
		e, err := entry.Parse(compact.Bytes())
		if err != nil {
			t.Fatalf("an example does not parse: %v\n%s", err, b[1])
		}
		leaf, _ := os.ReadFile(filepath.Join("..", "testdata", "entries", string(e.Kind)+".json"))
		if !bytes.Equal(bytes.TrimSpace(leaf), compact.Bytes()) {
			t.Errorf("the %s example is not its vector:\n%s\n%s", e.Kind, compact.Bytes(), leaf)
		}
	}
}
