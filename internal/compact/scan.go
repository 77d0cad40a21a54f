// Package compact reads and writes the compact JSON of ombud's log
// entries, without maps and with few allocations: every decision writes an
// entry, and the auditor and the report read every entry of a log. The
// reader takes only the compact form (no whitespace, no escapes); a caller
// that meets anything else falls back to encoding/json, which then accepts
// or refuses it. The writer spells values exactly as encoding/json does.
package compact

import (
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"
)

// New scans b. Its strings are substrings of one copy of b, which they
// keep alive: they stay valid whatever becomes of b.
func New(b []byte) Scanner {
	return Scanner{b: b, s: string(b)}
}

// Aliasing scans b without copying it, and reads a string up to its
// closing quote without looking at its bytes: for a reader of whole logs
// that checks every string it reads against a rule no escape passes. Its
// strings alias b: they are valid only while b is unchanged.
func Aliasing(b []byte) Scanner {
	return Scanner{b: b, s: unsafe.String(unsafe.SliceData(b), len(b)), loose: true}
}

// Pos is how many bytes of b the scanner has read.
func (p *Scanner) Pos() int { return p.i }

// Done reports whether the scanner has read all of b.
func (p *Scanner) Done() bool { return p.i == len(p.b) }

// Object walks {"key":value,…}: member reads each value after its key.
func (p *Scanner) Object(member func(key string) bool) bool {
	if !p.Byte('{') {
		return false
	}
	if p.Byte('}') {
		return true
	}
	for {
		k, ok := p.Str()
		if !ok || !p.Byte(':') || !member(k) {
			return false
		}
		switch p.Next() {
		case ',':
		case '}':
			return true
		default:
			return false
		}
	}
}

// Array walks [value,…]: elem reads each value.
func (p *Scanner) Array(elem func() bool) bool {
	if !p.Byte('[') {
		return false
	}
	if p.Byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch p.Next() {
		case ',':
		case ']':
			return true
		default:
			return false
		}
	}
}

type Scanner struct {
	b []byte
	s string // b as a string
	i int
	// loose reads a string up to the next quote without looking at its
	// bytes: for the Reader, which checks every string it reads against
	// a rule (a code, a pseudonym, a known name) that no escape passes.
	loose bool
}

func (p *Scanner) Peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *Scanner) Next() byte {
	if p.i < len(p.b) {
		p.i++
		return p.b[p.i-1]
	}
	return 0
}

func (p *Scanner) Byte(c byte) bool {
	if p.Peek() != c {
		return false
	}
	p.i++
	return true
}

// Str reads a string of printable ASCII without escapes.
func (p *Scanner) Str() (string, bool) {
	if !p.Byte('"') {
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

// Uint reads a non-negative integer without leading zeros that fits an int.
func (p *Scanner) Uint() (int, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	s := p.b[start:p.i]
	if len(s) == 0 || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	switch p.Peek() {
	case '.', 'e', 'E':
		return 0, false
	}
	n, _ := strconv.Atoi(p.s[start:p.i])
	return n, true
}

// Number reads a JSON number and returns its literal text.
func (p *Scanner) Number() (json.Number, bool) {
	start := p.i
	p.Byte('-')
	switch {
	case p.Byte('0'):
	case p.Peek() >= '1' && p.Peek() <= '9':
		for p.Peek() >= '0' && p.Peek() <= '9' {
			p.i++
		}
	default:
		return "", false
	}
	if p.Byte('.') {
		if !p.Digits() {
			return "", false
		}
	}
	if c := p.Peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.Peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.Digits() {
			return "", false
		}
	}
	return json.Number(p.s[start:p.i]), true
}

func (p *Scanner) Digits() bool {
	start := p.i
	for p.Peek() >= '0' && p.Peek() <= '9' {
		p.i++
	}
	return p.i > start
}

// Scalar reads a string, number or boolean.
func (p *Scanner) Scalar() (any, bool) {
	switch c := p.Peek(); {
	case c == '"':
		return p.Str()
	case c == 't':
		return true, p.Lit("true")
	case c == 'f':
		return false, p.Lit("false")
	default:
		return p.Number()
	}
}

func (p *Scanner) Lit(s string) bool {
	if len(p.s)-p.i < len(s) || p.s[p.i:p.i+len(s)] != s {
		return false
	}
	p.i += len(s)
	return true
}
