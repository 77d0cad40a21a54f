package api

import "testing"

func TestParseRange(t *testing.T) {
	t.Parallel()
	const size = 1000
	for _, tc := range []struct {
		h         string
		r         byteRange
		ok, unsat bool
	}{
		{"", byteRange{}, false, false},
		{"bytes=0-0", byteRange{0, 0}, true, false},
		{"bytes=10-19", byteRange{10, 19}, true, false},
		{"bytes=990-", byteRange{990, 999}, true, false},
		{"bytes=990-5000", byteRange{990, 999}, true, false},
		{"bytes=-10", byteRange{990, 999}, true, false},
		{"bytes=-5000", byteRange{0, 999}, true, false},
		{"bytes=1000-", byteRange{}, true, true},
		{"bytes=-0", byteRange{}, true, true},
		{"bytes=5-1", byteRange{}, false, false},
		{"bytes=0-1,5-6", byteRange{}, false, false},
		{"bytes=a-b", byteRange{}, false, false},
		{"items=0-1", byteRange{}, false, false},
		{"bytes=+1-2", byteRange{}, false, false},
		{"bytes=99999999999999999999-", byteRange{}, false, false},
	} {
		r, ok, unsat := parseRange(tc.h, size)
		if r != tc.r || ok != tc.ok || unsat != tc.unsat {
			t.Errorf("parseRange(%q) = %v %v %v, want %v %v %v", tc.h, r, ok, unsat, tc.r, tc.ok, tc.unsat)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-10", int64(100))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		r, ok, unsat := parseRange(h, size)
		if ok && !unsat && (r.start < 0 || r.end >= size || r.start > r.end) {
			t.Fatalf("parseRange(%q, %d) = %+v", h, size, r)
		}
	})
}
