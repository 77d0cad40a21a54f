package entry

import (
	"encoding/json"
	"strconv"
	"strings"
)

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
	p := scanner{b: b, s: string(b)}
	ok := p.envelope(func(key string) bool {
		switch key {
		case "v":
			n, ok := p.uint()
			e.V = n
			return ok
		case "kind":
			s, ok := p.str()
			e.Kind = Kind(s)
			return ok
		case "time":
			start := p.i
			if _, ok := p.str(); !ok {
				return false
			}
			return e.Time.UnmarshalJSON(b[start:p.i]) == nil
		case "fields":
			return p.fields(e)
		case "refs":
			return p.refs(e)
		case "detail":
			s, ok := p.str()
			e.Detail = s
			return ok
		}
		return false
	})
	return ok && p.i == len(b)
}

// envelopeKeys are the envelope's members, each allowed once.
var envelopeKeys = map[string]uint8{"v": 1, "kind": 2, "time": 4, "fields": 8, "refs": 16, "detail": 32}

// envelope walks the top-level object: member reads each value; a key
// outside the envelope, or one seen twice, ends the walk with false.
func (p *scanner) envelope(member func(key string) bool) bool {
	var seen uint8
	return p.object(func(key string) bool {
		bit := envelopeKeys[key]
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return member(key)
	})
}

// object walks {"key":value,…}: member reads each value after its key.
func (p *scanner) object(member func(key string) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.byte(':') || !member(k) {
			return false
		}
		switch p.next() {
		case ',':
		case '}':
			return true
		default:
			return false
		}
	}
}

// array walks [value,…]: elem reads each value.
func (p *scanner) array(elem func() bool) bool {
	if !p.byte('[') {
		return false
	}
	if p.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch p.next() {
		case ',':
		case ']':
			return true
		default:
			return false
		}
	}
}

type scanner struct {
	b []byte
	s string // b as a string
	i int
	// loose reads a string up to the next quote without looking at its
	// bytes: for the Reader, which checks every string it reads against
	// a rule (a code, a pseudonym, a known name) that no escape passes.
	loose bool
}

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *scanner) next() byte {
	if p.i < len(p.b) {
		p.i++
		return p.b[p.i-1]
	}
	return 0
}

func (p *scanner) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// str reads a string of printable ASCII without escapes.
func (p *scanner) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	n := strings.IndexByte(p.s[start:], '"')
	if n < 0 {
		return "", false
	}
	s := p.s[start : start+n]
	if !p.loose {
		for i := 0; i < len(s); i++ {
			if !plainChars[s[i]] {
				return "", false
			}
		}
	}
	p.i = start + n + 1
	return s, true
}

// plainChars are the bytes a string may hold on the fast path: printable
// ASCII but the backslash (and the quote, which ends it).
var plainChars = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '\\'
	}
	return
}()

// uint reads a non-negative integer without leading zeros that fits an int.
func (p *scanner) uint() (int, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	s := p.b[start:p.i]
	if len(s) == 0 || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	switch p.peek() {
	case '.', 'e', 'E':
		return 0, false
	}
	n, _ := strconv.Atoi(p.s[start:p.i])
	return n, true
}

// number reads a JSON number and returns its literal text.
func (p *scanner) number() (json.Number, bool) {
	start := p.i
	p.byte('-')
	switch {
	case p.byte('0'):
	case p.peek() >= '1' && p.peek() <= '9':
		for p.peek() >= '0' && p.peek() <= '9' {
			p.i++
		}
	default:
		return "", false
	}
	if p.byte('.') {
		if !p.digits() {
			return "", false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return "", false
		}
	}
	return json.Number(p.s[start:p.i]), true
}

func (p *scanner) digits() bool {
	start := p.i
	for p.peek() >= '0' && p.peek() <= '9' {
		p.i++
	}
	return p.i > start
}

// scalar reads a string, number or boolean.
func (p *scanner) scalar() (any, bool) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	default:
		return p.number()
	}
}

func (p *scanner) lit(s string) bool {
	if len(p.s)-p.i < len(s) || p.s[p.i:p.i+len(s)] != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *scanner) fields(e *Entry) bool {
	m := make(map[string]any, 8)
	e.Fields = m
	return p.object(func(k string) bool {
		if _, dup := m[k]; dup {
			return false
		}
		if p.peek() != '[' {
			v, ok := p.scalar()
			m[k] = v
			return ok
		}
		arr := make([]any, 0, 4)
		ok := p.array(func() bool {
			v, ok := p.scalar()
			arr = append(arr, v)
			return ok
		})
		m[k] = arr
		return ok
	})
}

func (p *scanner) refs(e *Entry) bool {
	m := make(map[string][]string, 4)
	e.Refs = m
	return p.object(func(k string) bool {
		if _, dup := m[k]; dup {
			return false
		}
		arr := make([]string, 0, 1)
		ok := p.array(func() bool {
			s, ok := p.str()
			arr = append(arr, s)
			return ok
		})
		m[k] = arr
		return ok
	})
}
