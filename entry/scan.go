package entry

import "github.com/ombud/ombud/internal/compact"

// parseCompact decodes the compact form ombud's encoder writes (no
// whitespace, no escapes, ASCII strings) into e, with exactly the values
// encoding/json would produce: json.Number for numbers, []any for arrays in
// fields. It reports ok=false for anything else (whitespace, escapes,
// non-ASCII bytes, duplicate or unknown keys, nulls, nested objects, bad
// syntax), and the caller falls back to encoding/json, which then accepts
// or refuses it. It never accepts what encoding/json would refuse or read
// differently: FuzzParseCompact checks that against encoding/json.
//
// It exists for the auditor and the report, which parse every entry of a
// log: encoding/json with a map per entry costs about 15 µs an entry.
func parseCompact(b []byte, e *Entry) bool {
	// One string for the whole entry: every key and value is a substring
	// of it, not an allocation of its own.
	p := compact.New(b)
	ok := envelope(&p, func(key string) bool {
		switch key {
		case "v":
			n, ok := p.Uint()
			e.V = n
			return ok
		case "kind":
			s, ok := p.Str()
			e.Kind = Kind(s)
			return ok
		case "time":
			s, ok := p.Str()
			if ok {
				e.Time, ok = timeOf(s)
			}
			return ok
		case "fields":
			return fields(&p, e)
		case "refs":
			return refs(&p, e)
		case "detail":
			s, ok := p.Str()
			e.Detail = s
			return ok && s != ""
		}
		return false
	})
	return ok && p.Done()
}

// envelopeBit numbers the envelope's members, each allowed once; 0 for
// any other key.
func envelopeBit(key string) uint8 {
	switch key {
	case "v":
		return 1
	case "kind":
		return 2
	case "time":
		return 4
	case "fields":
		return 8
	case "refs":
		return 16
	case "detail":
		return 32
	}
	return 0
}

// envelope walks the top-level object: member reads each value; a key
// outside the envelope, or one seen twice, ends the walk with false.
func envelope(p *compact.Scanner, member func(key string) bool) bool {
	var seen uint8
	return p.Object(func(key string) bool {
		bit := envelopeBit(key)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return member(key)
	})
}

func fields(p *compact.Scanner, e *Entry) bool {
	m := make(map[string]any, 8)
	e.Fields = m
	return p.Object(func(k string) bool {
		if _, dup := m[k]; dup {
			return false
		}
		if p.Peek() != '[' {
			v, ok := p.Scalar()
			m[k] = v
			return ok
		}
		arr := make([]any, 0, 4)
		ok := p.Array(func() bool {
			v, ok := p.Scalar()
			arr = append(arr, v)
			return ok
		})
		m[k] = arr
		return ok && len(arr) > 0
	}) && len(m) > 0
}

func refs(p *compact.Scanner, e *Entry) bool {
	m := make(map[string][]string, 4)
	e.Refs = m
	return p.Object(func(k string) bool {
		if _, dup := m[k]; dup {
			return false
		}
		arr := make([]string, 0, 1)
		ok := p.Array(func() bool {
			s, ok := p.Str()
			arr = append(arr, s)
			return ok
		})
		m[k] = arr
		return ok && len(arr) > 0
	}) && len(m) > 0
}
