package entry

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func entryVectors(t testing.TB) [][]byte {
	paths, _ := filepath.Glob("../testdata/entries/*.json") // not older/
	var out [][]byte
	for _, p := range paths {
		if strings.HasSuffix(p, ".detail.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(strings.TrimSpace(string(b))))
	}
	if len(out) < 10 {
		t.Fatalf("only %d entry vectors", len(out))
	}
	return out
}

// TestParseCompactVectors: every documented entry takes the fast path and
// reads exactly as encoding/json reads it.
func TestParseCompactVectors(t *testing.T) {
	for _, b := range entryVectors(t) {
		var fast, slow Entry
		if !parseCompact(b, &fast) {
			t.Errorf("fast path refused a vector: %s", b)
			continue
		}
		if err := decodeEntry(b, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("fast %#v\nslow %#v", fast, slow)
		}
	}
}

// FuzzParseCompact: whatever the fast path accepts, encoding/json accepts
// too and reads identically.
func FuzzParseCompact(f *testing.F) {
	for _, b := range entryVectors(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"v":2}`))
	f.Add([]byte(`{"fields":{"a":[1,-0.5e+3,true,"x"]},"refs":{"r":[]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Entry
		if !parseCompact(b, &fast) {
			return
		}
		var slow Entry
		if err := decodeEntry(b, &slow); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast and encoding/json differ on %q:\nfast %#v\nslow %#v", b, fast, slow)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw := entryVectors(b)[0]
	for _, v := range entryVectors(b) {
		if strings.Contains(string(v), `"kind":"access"`) {
			raw = v
		}
	}
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var e Entry
			if err := decodeEntry(raw, &e); err != nil {
				b.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
