package ombud

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden test vectors in testdata/")

// vectorKey is the linkage key of the test vectors: bytes 0x00 … 0x1f.
func vectorKey() LinkageKey {
	var b [32]byte
	for i := range b {
		b[i] = byte(i)
	}
	k, _ := LinkageKeyFromBytes(b[:])
	return k
}

// vectorSalt is the detail salt of the test vectors: 32 bytes of 0xa5.
var vectorSalt = bytes.Repeat([]byte{0xa5}, 32)

// exampleRecords holds one example record of every kind; docs/LOG-FORMAT.md
// shows the entries they produce.
var exampleRecords = map[Kind]Record{
	KindPrincipal: {Fields: map[string]any{"op": "create", "roles": []string{"analyst"}}, Refs: map[string][]string{"principal": {"k3x9q2m7a1b4c5d6"}, "by": {"adminadminadmin0"}}, Detail: map[string]any{"id": "k3x9q2m7a1b4c5d6", "name": "Ada Analyst", "roles": []string{"analyst"}}},
	KindPolicy:    {Fields: map[string]any{"op": "set", "version": 3, "policy_sha256": "9f2c1d7e5a0b4c3d8e6f7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"}, Refs: map[string][]string{"by": {"adminadminadmin0"}}, Detail: map[string]any{"comment": "allow emergency access to location for missing-person cases"}},
	KindAuthorization: {Fields: map[string]any{"op": "register", "auth_kind": "court_order", "issuer": "court.example/district-3", "purposes": []string{"criminal_investigation"}, "classes": []string{"location"}, "wildcard": false, "not_before": "2026-11-01T00:00:00Z", "not_after": "2026-12-01T00:00:00Z", "max_uses": 20, "jurisdiction": "EU-DE"},
		Refs: map[string][]string{"authorization": {"auth-2026-0042"}, "subject": {"national-id:DE-1234567"}, "by": {"adminadminadmin0"}}, Detail: map[string]any{"case_ref": "3 Gs 117/26", "note": "signed by judge on duty"}},
	KindIngest: {Fields: map[string]any{"class": "location", "region": "eu-central", "source": "alpr-feed-7", "size_band": "1MiB-16MiB", "retain_until": "2027-05-27"}, Refs: map[string][]string{"object": {"obj_7fj3k2"}, "subject": {"plate:B-XY-123"}, "by": {"ingestingestin01"}}, Detail: map[string]any{"collected_at": "2026-11-27T06:00:00Z", "bytes": 4194304}},
	KindAccess: {Fields: map[string]any{"decision": "permit", "class": "location", "purpose": "criminal_investigation", "reasons": []string{"authorization_in_scope"}, "emergency": false, "use": 3},
		Refs: map[string][]string{"object": {"obj_7fj3k2"}, "subject": {"plate:B-XY-123"}, "authorization": {"auth-2026-0042"}, "by": {"analystanalyst01"}}, Detail: map[string]any{"request_id": "r-88", "stated_purpose": "trace vehicle in case 3 Gs 117/26"}},
	KindHold:   {Fields: map[string]any{"op": "set", "reason": "litigation"}, Refs: map[string][]string{"object": {"obj_7fj3k2"}, "authorization": {"auth-2026-0042"}, "by": {"adminadminadmin0"}}, Detail: map[string]any{"note": "preserve for trial"}},
	KindErase:  {Fields: map[string]any{"reason": "retention_expired", "class": "location"}, Refs: map[string][]string{"object": {"obj_7fj3k2"}}},
	KindExport: {Fields: map[string]any{"decision": "permit", "class": "biometric", "purpose": "mutual_legal_assistance", "recipient_category": "foreign_police", "jurisdiction": "EU-FR", "cross_border": true}, Refs: map[string][]string{"object": {"obj_9a8b7c"}, "recipient": {"recipient:fr-police-1"}, "authorization": {"auth-2026-0050"}, "by": {"analystanalyst01"}}, Detail: map[string]any{"recipient_name": "Police nationale, unit 12"}},
	KindFlag: {Fields: map[string]any{"system": "vendor-x-frs", "model": "facematch", "model_version": "4.2.1", "mode": "1:N", "reference_db": "custody-images", "gallery_size": 120000, "rank": 1, "score": 0.91, "threshold": 0.85, "operating_point": "fmr-1e-4", "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-11-30T00:00:00Z", "class": "biometric"},
		Refs: map[string][]string{"flag": {"flag-311"}, "input": {"obj_probe1"}, "candidate": {"obj_gallery9"}, "by": {"ingestingestin01"}}},
	KindReview:      {Fields: map[string]any{"outcome": "reject"}, Refs: map[string][]string{"flag": {"flag-311"}, "by": {"reviewerreview01"}}, Detail: map[string]any{"rationale": "different ear shape; probe image too blurred"}},
	KindAction:      {Fields: map[string]any{"action_kind": "questioning", "confirmations": 2, "model_version": "4.2.1"}, Refs: map[string][]string{"flag": {"flag-312"}, "action": {"action-77"}, "by": {"analystanalyst01"}}, Detail: map[string]any{"notice_code": "N7Q-4XK-PL2"}},
	KindContest:     {Fields: map[string]any{"op": "filed"}, Refs: map[string][]string{"action": {"action-77"}, "contest": {"contest-5"}}, Detail: map[string]any{"statement": "I was not in the city that day."}},
	KindTip:         {Fields: map[string]any{"op": "filed"}, Refs: map[string][]string{"tip": {"tip-codename-amber-otter"}}, Detail: map[string]any{"sealed_sha256": "c0ffee"}},
	KindContract:    {Fields: map[string]any{"ocid": "ocds-abc123-2026-17", "vendor": "cloudco", "reseller": "resellr", "product_flags": []string{"cloud", "ai"}, "missing_clauses": []string{"audit_rights", "key_custody"}}, Refs: map[string][]string{"contract": {"ocds-abc123-2026-17"}, "by": {"adminadminadmin0"}}},
	KindKey:         {Fields: map[string]any{"op": "rotate", "kek_version": 2, "keysets": 5120}, Refs: map[string][]string{"by": {"adminadminadmin0"}}},
	KindBreach:      {Fields: map[string]any{"reason": "emergency_not_covered", "class": "location", "deadline": "2026-11-29T06:30:00Z"}, Refs: map[string][]string{"object": {"obj_7fj3k2"}, "by": {"analystanalyst01"}}, Detail: map[string]any{"access_entry": 4711, "emergency_reason": "missing_person"}},
	KindAudit:       {Fields: map[string]any{"op": "details", "from": 0, "to": 4096}, Refs: map[string][]string{"by": {"auditorauditor01"}}},
	KindIssuer:      {Fields: map[string]any{"op": "register", "issuer": "court.example/district-3", "issuer_kind": "court", "jurisdiction": "EU-DE", "key_id": "4a1f9c2e"}, Refs: map[string][]string{"by": {"adminadminadmin0"}}},
	KindSystem:      {Fields: map[string]any{"op": "details_erased", "entry_kind": "access", "before": "2020-11-30", "count": 48211}},
	KindAttestation: {Fields: map[string]any{"op": "derived_data_deleted", "access": 4711}, Refs: map[string][]string{"object": {"obj_7fj3k2"}, "by": {"adminadminadmin0"}}, Detail: map[string]any{"access_entry": 4711, "note": "the case share's copies were deleted on 2026-12-02"}},
	KindReport:      {Fields: map[string]any{"period": "2026-Q4", "checkpoint_size": 123456, "report_sha256": "5b84dd147f29063c6bb79a58de50836eb997311a72781ddaa0eadd5f596ff52a", "format": "json"}, Refs: map[string][]string{"by": {"adminadminadmin0"}}},
}

func vectorEntry(t *testing.T, k Kind) (leaf []byte, d *Detail) {
	t.Helper()
	r := exampleRecords[k]
	r.Kind = k
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
	if len(exampleRecords) != len(kindSpecs) {
		t.Fatalf("%d example records for %d kinds", len(exampleRecords), len(kindSpecs))
	}
	for _, k := range Kinds() {
		leafPath := filepath.Join("testdata", "entries", string(k)+".json")
		detailPath := filepath.Join("testdata", "entries", string(k)+".detail.json")
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
		e, err := ParseEntry(leaf)
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

func TestInvalidEntries(t *testing.T) {
	valid, _ := os.ReadFile(filepath.Join("testdata", "entries", "access.json"))
	for _, tc := range []struct{ name, in, want string }{
		{"empty", ``, "EOF"},
		{"not object", `[]`, "cannot unmarshal"},
		{"unknown envelope field", strings.Replace(string(valid), `"v":1`, `"v":1,"name":"Ada"`, 1), "unknown field"},
		{"version", strings.Replace(string(valid), `"v":1`, `"v":2`, 1), "version 2"},
		{"unknown kind", strings.Replace(string(valid), `"kind":"access"`, `"kind":"peek"`, 1), "unknown kind"},
		{"field not of kind", strings.Replace(string(valid), `"fields":{`, `"fields":{"name":"Ada",`, 1), `no public field "name"`},
		{"free text", strings.Replace(string(valid), `"purpose":"criminal_investigation"`, `"purpose":"find Ada Lovelace"`, 1), "not a code"},
		{"object value", strings.Replace(string(valid), `"use":3`, `"use":{"a":1}`, 1), "not allowed"},
		{"null value", strings.Replace(string(valid), `"use":3`, `"use":null`, 1), "not allowed"},
		{"raw identifier ref", strings.Replace(string(valid), `"by":["`, `"by":["alice","`, 1), "not a keyed pseudonym"},
		{"ref not of kind", strings.Replace(string(valid), `"refs":{`, `"refs":{"tip":["ps1:AAAAAAAAAAAAAAAAAAAAAA"],`, 1), `no ref "tip"`},
		{"bad commitment", strings.Replace(string(valid), `"detail":"sha256:`, `"detail":"md5:`, 1), "not a sha256 commitment"},
		{"local time", strings.Replace(string(valid), `.123Z"`, `.123+01:00"`, 1), "UTC"},
		{"trailing", string(valid) + `{}`, "trailing"},
		{"too big", `{"v":1,"x":"` + strings.Repeat("a", MaxEntrySize) + `"}`, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEntry([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseEntry: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseEntry(f *testing.F) {
	for _, k := range Kinds() {
		if b, err := os.ReadFile(filepath.Join("testdata", "entries", string(k)+".json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"v":1,"kind":"tip","time":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		// Whatever parses must validate and survive a round trip.
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("parsed entry does not marshal: %v", err)
		}
		if _, err := ParseEntry(out); err != nil {
			t.Fatalf("re-marshalled entry does not parse: %v\n%s", err, out)
		}
	})
}

// TestEncoderMatchesEncodingJSON keeps the fast encoder honest: for every
// vector and for fuzz-shaped values it must spell entries as encoding/json.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	for _, k := range Kinds() {
		leaf, _ := vectorEntry(t, k)
		e, err := ParseEntry(leaf)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(e)
		got, err := appendEntry(nil, e)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", k, got, want)
		}
	}
	e := &Entry{V: 1, Kind: KindFlag, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Fields: map[string]any{
		"score": 0.5, "rank": 1e21, "threshold": float64(3), "gallery_size": int64(-7), "mode": "1:N", "period_start": true,
	}}
	want, _ := json.Marshal(e)
	got, _ := appendEntry(nil, e)
	if !bytes.Equal(got, want) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}
