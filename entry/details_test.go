package entry

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// detailVectors names, for every detail a writer gives an entry, its
// vector in testdata/details: the kind, a variant after a dot where a kind
// has several, and a new value of the type that holds it.
var detailVectors = map[string]func() any{
	"principal":        func() any { return new(PrincipalDetail) },
	"policy":           func() any { return new(PolicyDetail) },
	"authorization":    func() any { return new(AuthorizationDetail) },
	"ingest":           func() any { return new(IngestDetail) },
	"access":           func() any { return new(AccessDetail) },
	"access.flag":      func() any { return new(AccessDetail) },
	"access.run":       func() any { return new(RunReadDetail) },
	"hold":             func() any { return new(HoldDetail) },
	"erase":            func() any { return new(EraseDetail) },
	"flag":             func() any { return new(FlagDetail) },
	"review":           func() any { return new(ReviewDetail) },
	"action":           func() any { return new(ActionDetail) },
	"contest.filed":    func() any { return new(ContestFiledDetail) },
	"contest.resolved": func() any { return new(ContestResolvedDetail) },
	"breach":           func() any { return new(BreachDetail) },
	"attestation":      func() any { return new(AttestationDetail) },
	"run":              func() any { return new(RunDetail) },
	"run.selection":    func() any { return new(RunDetail) },
	"run.refused":      func() any { return new(RunDetail) },
	"recipient":        func() any { return new(RecipientDetail) },
	"notice":           func() any { return new(NoticeDetail) },
	"proposal":         func() any { return new(ProposalDetail) },
	"export":           func() any { return new(ExportDetail) },
	"access.export":    func() any { return new(ExportReadDetail) },
}

// TestDetailVectors: every detail type reads its vector with no field
// left over and writes it back byte for byte. The vectors are the bytes
// the writers produced before the types existed, and an entry commits to
// its detail's exact bytes: a renamed, reordered, added or dropped field
// fails here.
func TestDetailVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "details", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		seen[name] = true
		kind, _, _ := strings.Cut(name, ".")
		if !slices.Contains(Kinds(), Kind(kind)) {
			t.Errorf("%s: %s is not an entry kind", f, kind)
		}
		newDetail, ok := detailVectors[name]
		if !ok {
			t.Errorf("%s: no detail type reads it", f)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(raw, []byte("\n"))
		d := newDetail()
		dec := json.NewDecoder(bytes.NewReader(want))
		dec.DisallowUnknownFields()
		if err := dec.Decode(d); err != nil {
			t.Errorf("%s: %T does not read it: %v", name, d, err)
			continue
		}
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %T writes other bytes than the vector:\n got %s\nwant %s", name, d, got, want)
		}
	}
	for name := range detailVectors {
		if !seen[name] {
			t.Errorf("no vector testdata/details/%s.json", name)
		}
	}
}
