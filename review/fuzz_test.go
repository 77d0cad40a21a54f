package review

import (
	"strings"
	"testing"
)

// FuzzNotice: any text typed as a notice code is read without panicking;
// a well-formed code hashes as its normal form does, whatever the case,
// dashes and spaces, and a fresh code is always well formed.
func FuzzNotice(f *testing.F) {
	for _, s := range []string{NewNotice(), "7k2m 9qxa 4t8d r3vw", "oooo-iiii-llll-0000", "", "-", strings.Repeat("A", 17), "ü0000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		ok := WellFormedNotice(code)
		h := NoticeHash(code)
		if ok {
			n := normalizeNotice(code)
			if len(n) != 16 || NoticeHash(n) != h || NoticeHash(strings.ToLower(code)) != h {
				t.Fatalf("%q: normal form %q hashes differently", code, n)
			}
		}
		if c := NewNotice(); !WellFormedNotice(c) || len(c) != 19 {
			t.Fatalf("a fresh code %q is not well formed", c)
		}
	})
}
