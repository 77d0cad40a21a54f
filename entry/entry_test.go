package entry

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestInvalidEntries(t *testing.T) {
	valid, _ := os.ReadFile(filepath.Join("..", "testdata", "entries", "access.json"))
	for _, tc := range []struct{ name, in, want string }{
		{"empty", ``, "EOF"},
		{"not object", `[]`, "one JSON object"},
		{"unknown envelope field", strings.Replace(string(valid), `"v":1`, `"v":1,"name":"Ada"`, 1), "unknown envelope key"},
		{"version", strings.Replace(string(valid), `"v":1`, `"v":2`, 1), "version 2"},
		{"unknown kind", strings.Replace(string(valid), `"kind":"access"`, `"kind":"peek"`, 1), "unknown kind"},
		{"field not of kind", strings.Replace(string(valid), `"fields":{`, `"fields":{"name":"Ada",`, 1), `no public field "name"`},
		{"free text", strings.Replace(string(valid), `"purpose":"criminal_investigation"`, `"purpose":"find Ada Lovelace"`, 1), "not a code"},
		{"object value", strings.Replace(string(valid), `"use":3`, `"use":{"a":1}`, 1), "an object, want an integer"},
		{"null value", strings.Replace(string(valid), `"use":3`, `"use":null`, 1), "a null"},
		{"duplicate field", strings.Replace(string(valid), `"decision":"permit"`, `"decision":"deny","decision":"permit"`, 1), "given twice"},
		{"duplicate envelope key", strings.Replace(string(valid), `"v":1`, `"v":1,"v":1`, 1), "given twice"},
		{"envelope key in another case", strings.Replace(string(valid), `"kind":`, `"Kind":`, 1), "unknown envelope key"},
		{"duplicate ref", strings.Replace(string(valid), `"refs":{`, `"refs":{"object":["ps1:AAAAAAAAAAAAAAAAAAAAAA"],`, 1), "given twice"},
		{"offset time", strings.Replace(string(valid), `.123Z"`, `.123+00:00"`, 1), "UTC"},
		{"comma fraction", strings.Replace(string(valid), `.123Z"`, `,123Z"`, 1), "UTC"},
		{"ten fraction digits", strings.Replace(string(valid), `.123Z"`, `.1234567891Z"`, 1), "UTC"},
		{"empty detail", strings.Replace(string(valid), `"detail":"sha256:`, `"detail":"","x":"sha256:`, 1), "empty detail"},
		{"empty list", strings.Replace(string(valid), `"reasons":["authorization_in_scope"]`, `"reasons":[]`, 1), "empty list"},
		{"empty fields", `{"v":1,"kind":"tip","time":"2026-11-27T06:30:00.123Z","fields":{}}`, "empty object"},
		{"null fields", `{"v":1,"kind":"tip","time":"2026-11-27T06:30:00.123Z","fields":null}`, "a null"},
		{"string for integer", strings.Replace(string(valid), `"use":3`, `"use":"3"`, 1), "a string, want an integer"},
		{"fraction for integer", strings.Replace(string(valid), `"use":3`, `"use":3.5`, 1), "not an integer"},
		{"number in codes", strings.Replace(string(valid), `"reasons":["`, `"reasons":[1,"`, 1), "holds a number"},
		{"code for list", strings.Replace(string(valid), `"reasons":["authorization_in_scope"]`, `"reasons":"authorization_in_scope"`, 1), "a string, want a list of codes"},
		{"two of a single ref", strings.Replace(string(valid), `"by":["`, `"by":["ps1:AAAAAAAAAAAAAAAAAAAAAA","`, 1), `ref "by" has 2 pseudonyms, want 1`},
		{"raw identifier ref", strings.Replace(string(valid), `"subject":["`, `"subject":["alice","`, 1), "not a keyed pseudonym"},
		{"ref not of kind", strings.Replace(string(valid), `"refs":{`, `"refs":{"tip":["ps1:AAAAAAAAAAAAAAAAAAAAAA"],`, 1), `no ref "tip"`},
		{"bad commitment", strings.Replace(string(valid), `"detail":"sha256:`, `"detail":"md5:`, 1), "not a sha256 commitment"},
		{"local time", strings.Replace(string(valid), `.123Z"`, `.123+01:00"`, 1), "UTC"},
		{"trailing", string(valid) + `{}`, "trailing"},
		{"too big", `{"v":1,"x":"` + strings.Repeat("a", MaxSize) + `"}`, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseEntry: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, k := range Kinds() {
		if b, err := os.ReadFile(filepath.Join("..", "testdata", "entries", string(k)+".json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"v":1,"kind":"tip","time":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must validate and survive a round trip.
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("parsed entry does not marshal: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-marshalled entry does not parse: %v\n%s", err, out)
		}
	})
}

// TestEncoderMatchesEncodingJSON keeps the fast encoder honest: for every
// vector and for fuzz-shaped values it must spell entries as encoding/json.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	for _, leaf := range entryVectors(t) {
		e, err := Parse(leaf)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(e)
		got, err := appendEntry(nil, e)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", e.Kind, got, want)
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

// TestOlderSpellings: entries written before the typed schema carried
// some zero values explicitly ("emergency": false, "wildcard": false),
// which writers now omit. They still parse, and read as the current
// vectors of their kind read.
func TestOlderSpellings(t *testing.T) {
	for old, current := range map[string]string{
		"access-emergency-false.json":       "access.json",
		"authorization-wildcard-false.json": "authorization.json",
	} {
		ob, err := os.ReadFile(filepath.Join("..", "testdata", "entries", "older", old))
		if err != nil {
			t.Fatal(err)
		}
		cb, err := os.ReadFile(filepath.Join("..", "testdata", "entries", current))
		if err != nil {
			t.Fatal(err)
		}
		oe, err := Parse(ob)
		if err != nil {
			t.Fatalf("%s: %v", old, err)
		}
		ce, err := Parse(cb)
		if err != nil {
			t.Fatal(err)
		}
		obody, _ := oe.Body()
		cbody, _ := ce.Body()
		if !sameBody(obody, cbody) {
			t.Errorf("%s reads %+v, %s reads %+v", old, obody, current, cbody)
		}
	}
}

// TestErrorsQuoteLittle: an error about a long input quotes at most its
// first 40 characters, cut between characters, never all of it.
func TestErrorsQuoteLittle(t *testing.T) {
	valid, _ := os.ReadFile(filepath.Join("..", "testdata", "entries", "access.json"))
	long := strings.Repeat("é", 5000) // two bytes a character: a cut by bytes could split one
	for _, tc := range []struct{ name, in string }{
		{"unknown envelope key", strings.Replace(string(valid), `"v":1`, `"v":1,"`+long+`":1`, 1)},
		{"time", strings.Replace(string(valid), `"kind":"access"`, `"kind":"access","time":"`+long+`"`, 1)},
		{"code", strings.Replace(string(valid), `"class":"location"`, `"class":"`+long+`"`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if len(msg) > 300 || !utf8.ValidString(msg) || !strings.Contains(msg, strings.Repeat("é", 40)) {
				t.Fatalf("error of %d bytes (valid UTF-8: %v): %.300s", len(msg), utf8.ValidString(msg), msg)
			}
		})
	}
}
