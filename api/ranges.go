package api

import (
	"strconv"
	"strings"
)

// byteRange is one satisfiable range [start, end] of an object.
type byteRange struct{ start, end int64 }

// parseRange reads a Range header for an object of size bytes. It supports
// one range ("bytes=a-b", "bytes=a-", "bytes=-n"). ok is false when the
// header should be ignored (absent, malformed, several ranges: RFC 9110
// lets a server answer those with the whole object); unsat is true when
// the range cannot be satisfied (416).
func parseRange(h string, size int64) (r byteRange, ok, unsat bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return r, false, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 {
			return 0, false
		}
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	switch {
	case a == "": // suffix: the last n bytes
		n, good := num(b)
		if !good {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, true, true
		}
		return byteRange{max(0, size-n), size - 1}, true, false
	default:
		start, good := num(a)
		if !good {
			return r, false, false
		}
		end := size - 1
		if b != "" {
			e, good := num(b)
			if !good || e < start {
				return r, false, false
			}
			end = min(e, size-1)
		}
		if start >= size {
			return r, true, true
		}
		return byteRange{start, end}, true, false
	}
}
