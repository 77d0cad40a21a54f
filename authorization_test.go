package ombud

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The authorization test vectors: an issuer key (its private half is in
// the directory too, for reproduction; it guards nothing), a valid note,
// and notes that must be refused, each with the reason.
func TestAuthorizationVectors(t *testing.T) {
	dir := filepath.Join("testdata", "authorization")
	pub, err := os.ReadFile(filepath.Join(dir, "issuer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := os.ReadFile(filepath.Join(dir, "valid.note"))
	a, err := OpenAuthorization(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("valid.note: %v", err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "valid.json"))
	var w Authorization
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(a)
	wantJSON, _ := json.Marshal(w)
	if string(got) != string(wantJSON) {
		t.Fatalf("valid.note parses to\n%s\nwant\n%s", got, wantJSON)
	}
	if a.Covers(a.NotBefore.Add(time.Hour), "criminal_investigation", "location", []string{"ps1:x"}, []string{"ps1:x"}, "EU-DE") != "" {
		t.Fatal("valid.note does not cover its own scope")
	}
	bad, _ := filepath.Glob(filepath.Join(dir, "invalid-*.note"))
	if len(bad) == 0 {
		t.Fatal("no invalid vectors")
	}
	for _, p := range bad {
		msg, _ := os.ReadFile(p)
		reason, _ := os.ReadFile(strings.TrimSuffix(p, ".note") + ".err")
		_, err := OpenAuthorization(msg, note.VerifierList(v))
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(string(reason))) {
			t.Errorf("%s: got %v, want an error containing %q", filepath.Base(p), err, strings.TrimSpace(string(reason)))
		}
	}
}

func TestAuthorizationRefusesRepeats(t *testing.T) {
	base := "ombud-authorization/v1\nid: a\nissuer: court.example/x\nkind: court_order\ncase: c\npurpose: p\nclass: location\nsubject: s1\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 1\njurisdiction: EU\n"
	if _, err := ParseAuthorization(base); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{"subject: s1\n", "class: location\n", "purpose: p\n", "share-recipient: r\nshare-recipient: r\n"} {
		if _, err := ParseAuthorization(base + extra); err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("a note repeating %q: %v", strings.TrimSpace(extra), err)
		}
	}
}

// TestAuthorizationSharingScope: the transfer scope and the onward limits
// are optional keys, so that notes signed before them stay valid; each
// is parsed strictly, written back in order, and refused without a
// share-recipient, since they limit exports only.
func TestAuthorizationSharingScope(t *testing.T) {
	base := "ombud-authorization/v1\nid: a\nissuer: court.example/x\nkind: court_order\ncase: c\npurpose: p\nclass: location\nsubject: s1\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 1\njurisdiction: EU\n"
	old, err := ParseAuthorization(base)
	if err != nil || old.ShareOnward || !old.ShareDeadline().Equal(old.NotAfter) || len(old.TransferJurisdictions) != 0 {
		t.Fatalf("a note without a sharing scope: %+v, %v", old, err)
	}
	scoped := base + "share-recipient: k3x9q2m7a1b4c5d6\nshare-class: location\ntransfer-jurisdiction: US-NY\ntransfer-jurisdiction: GB\nshare-until: 2026-06-01T00:00:00Z\nshare-onward: allowed\n"
	a, err := ParseAuthorization(scoped)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ShareOnward || !a.ShareDeadline().Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) || strings.Join(a.TransferJurisdictions, ",") != "US-NY,GB" {
		t.Fatalf("the sharing scope: %+v", a)
	}
	if a.Text() != scoped {
		t.Fatalf("Text() writes another note:\n%s\nwant\n%s", a.Text(), scoped)
	}
	for _, bad := range []string{
		"share-recipient: r\nshare-onward: maybe\n",
		"share-recipient: r\nshare-onward: allowed\nshare-onward: allowed\n",
		"share-recipient: r\nshare-until: 2025-06-01T00:00:00Z\n",
		"share-recipient: r\nshare-until: tomorrow\n",
		"share-recipient: r\nshare-until: 2026-06-01T00:00:00Z\nshare-until: 2026-07-01T00:00:00Z\n",
		"share-recipient: r\ntransfer-jurisdiction: US NY\n",
		"share-recipient: r\ntransfer-jurisdiction: GB\ntransfer-jurisdiction: GB\n",
		"transfer-jurisdiction: GB\n",
		"share-until: 2026-06-01T00:00:00Z\n",
		"share-onward: allowed\n",
	} {
		if _, err := ParseAuthorization(base + bad); err == nil {
			t.Errorf("a note with %q was accepted", bad)
		}
	}
}

func TestIssuerNames(t *testing.T) {
	for name, ok := range map[string]bool{"court.example/district-3": true, "dpa.example": true, "a.b/c_d/e-f.g": true,
		"=2-1": false, "-x.example": false, "court example": false, "a//b": false, "a/": false, "a@b": false, "": false, "a:b": false} {
		if IsIssuerName(name) != ok {
			t.Errorf("IsIssuerName(%q) = %v", name, !ok)
		}
	}
}
