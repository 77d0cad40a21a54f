package entry

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// sameBody compares two bodies, reading a nil list as an empty one (the
// Reader keeps its lists' storage between entries).
func sameBody(a, b Body) bool {
	va, vb := reflect.Indirect(reflect.ValueOf(a)), reflect.Indirect(reflect.ValueOf(b))
	if va.Type() != vb.Type() {
		return false
	}
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Kind() == reflect.Slice {
			if fa.Len() != fb.Len() {
				return false
			}
			for j := range fa.Len() {
				if fa.Index(j).String() != fb.Index(j).String() {
					return false
				}
			}
			continue
		}
		if !fa.Equal(fb) {
			return false
		}
	}
	return true
}

// readBoth reads b with a Reader and with Parse, and fails t when they
// disagree: on whether b is an entry, or on what it says.
func readBoth(t *testing.T, r *Reader, b []byte) (fast bool) {
	t.Helper()
	h, body, err := r.Read(b)
	_, _, fast = r.compact(b)
	e, perr := Parse(b)
	if (err == nil) != (perr == nil) {
		t.Fatalf("Reader error %v, Parse error %v, on %q", err, perr, b)
	}
	if perr != nil {
		return fast
	}
	want, err := e.Body()
	if err != nil {
		t.Fatalf("a parsed entry has no body: %v: %q", err, b)
	}
	if h.Kind != e.Kind || !h.Time.Equal(e.Time) || h.Detail != e.Detail {
		t.Fatalf("head %+v, entry %s %s %s, on %q", h, e.Kind, e.Time, e.Detail, b)
	}
	if !sameBody(body, want) {
		t.Fatalf("Reader %+v\nParse  %+v\non %q", body, want, b)
	}
	return fast
}

// TestReaderVectors: every documented entry takes the Reader's fast path,
// and reads as Parse reads it, also after entries of other kinds.
func TestReaderVectors(t *testing.T) {
	var r Reader
	keep := Reader{Keep: true}
	var kept []Body
	for range 2 {
		for _, b := range entryVectors(t) {
			if !readBoth(t, &r, b) || !readBoth(t, &keep, b) {
				t.Errorf("the fast path refused a vector: %s", b)
			}
			leaf := bytes.Clone(b)
			_, body, _ := keep.Read(leaf)
			kept = append(kept, body)
			for j := range leaf {
				leaf[j] = 'x' // a reused buffer
			}
		}
	}
	// Kept bodies share nothing with later reads or with their leaves.
	vectors := entryVectors(t)
	for i, body := range kept {
		e, _ := Parse(vectors[i%len(vectors)])
		want, _ := e.Body()
		if !sameBody(body, want) {
			t.Errorf("a kept body changed: %+v, want %+v", body, want)
		}
	}
}

// TestReaderRefusesWhatParseRefuses: the cases the fast path once let
// through (an unknown kind, a field or ref its kind may not carry, a ref
// that is not a pseudonym, a free-text value) are refused by both.
func TestReaderRefusesWhatParseRefuses(t *testing.T) {
	valid := entryVectors(t)[0]
	for _, b := range entryVectors(t) {
		if strings.Contains(string(b), `"kind":"access"`) {
			valid = b
		}
	}
	var r Reader
	for _, c := range []struct{ old, new string }{
		{`"kind":"access"`, `"kind":"peek"`},
		{`"fields":{`, `"fields":{"name":"Ada",`},
		{`"refs":{`, `"refs":{"tip":["ps1:AAAAAAAAAAAAAAAAAAAAAA"],`},
		{`"subject":["`, `"subject":["alice","`},
		{`"purpose":"criminal_investigation"`, `"purpose":"find Ada"`},
		{`"use":3`, `"use":"3"`},
		{`"use":3`, `"use":3.5`},
		{`"by":["`, `"by":["ps1:AAAAAAAAAAAAAAAAAAAAAA","`},
		{`"reasons":["`, `"reasons":[true,"`},
		{`"time":"2026-11-27T06:30:00.123Z"`, `"time":"0001-01-01T00:00:00Z"`},
		{`"v":1`, `"v":2`},
		{`"detail":"sha256:`, `"detail":"md5:`},
	} {
		b := []byte(strings.Replace(string(valid), c.old, c.new, 1))
		readBoth(t, &r, b)
		if _, _, err := r.Read(b); err == nil {
			t.Errorf("accepted: %s", b)
		}
	}
}

// FuzzReader is the differential check of the one acceptance rule: the
// Reader accepts exactly the leaves Parse accepts, and reads them alike.
func FuzzReader(f *testing.F) {
	for _, b := range entryVectors(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"kind":"access","time":"2026-11-27T06:30:00Z","fields":{"reasons":[1,true,"x"],"emergency":true}}`))
	f.Add([]byte(`{"v":1,"kind":"tip","time":"2026-11-27T06:30:00Z","fields":{"op":"filed","op":"x"}}`))
	f.Add([]byte(`{"kind":"tip","v":1,"time":"2026-11-27T06:30:00+00:00","detail":""}`))
	var r Reader
	keep := Reader{Keep: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		readBoth(t, &r, b)
		readBoth(t, &keep, b)
	})
}

func BenchmarkReader(b *testing.B) {
	raw := entryVectors(b)[0]
	for _, v := range entryVectors(b) {
		if strings.Contains(string(v), `"kind":"access"`) {
			raw = v
		}
	}
	var r Reader
	for b.Loop() {
		if _, _, err := r.Read(raw); err != nil {
			b.Fatal(err)
		}
	}
}
