package entry

import (
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/ombud/ombud/internal/compact"
)

// Head is an entry's envelope without its content.
type Head struct {
	Kind   Kind
	Time   time.Time
	Detail string
}

// A Reader reads the entries of a whole log into typed bodies without
// building maps: the report reads a million entries a second with it.
// It accepts exactly what Parse accepts (FuzzReader checks both
// directions); ombud's compact form takes a fast path and anything else
// goes through Parse.
//
// The body Read returns, and the strings in it, are valid only until the
// next Read and only while leaf is unchanged: they alias both. Clone what
// you keep, or set Keep.
type Reader struct {
	// Keep makes every Read return a body of its own, whose strings are
	// copies: safe to keep, at the price of an allocation or two an entry.
	Keep   bool
	bodies map[Kind]*reused
	last   *reused
}

// reused is one kind's body, reused from entry to entry, with a pointer
// to each of its fields for the scanner to fill.
type reused struct {
	s    *spec
	body Body
	ptrs []any // by struct field index: *string, *[]string, *int64, *float64, *bool
}

func (r *Reader) body(k Kind) *reused {
	if r.last != nil && r.last.s.kind == k {
		return r.last // logs run in streaks of one kind
	}
	if b := r.bodies[k]; b != nil {
		r.last = b
		return b
	}
	s := specs[k]
	if s == nil {
		return nil
	}
	p := reflect.New(s.typ)
	b := &reused{s: s, body: p.Interface().(Body), ptrs: make([]any, s.typ.NumField())}
	for i := range b.ptrs {
		b.ptrs[i] = p.Elem().Field(i).Addr().Interface()
	}
	if r.bodies == nil {
		r.bodies = map[Kind]*reused{}
	}
	// Keyed by the spec's own kind: k may alias the leaf (a Reader that
	// does not keep reads strings in place), whose bytes the caller reuses
	// for the next leaf, which would change the key inside the map.
	r.bodies[s.kind] = b
	r.last = b
	return b
}

// clone returns a copy of the body that shares nothing with b.
func (b *reused) clone() Body {
	v := reflect.New(b.s.typ)
	v.Elem().Set(reflect.ValueOf(b.body).Elem())
	for i, p := range b.ptrs {
		if ss, ok := p.(*[]string); ok {
			var c []string
			if len(*ss) > 0 {
				c = slices.Clone(*ss)
			}
			v.Elem().Field(i).Set(reflect.ValueOf(c))
		}
	}
	return v.Interface().(Body)
}

func (b *reused) reset() {
	for _, p := range b.ptrs {
		switch p := p.(type) {
		case *string:
			*p = ""
		case *[]string:
			*p = (*p)[:0]
		case *int64:
			*p = 0
		case *float64:
			*p = 0
		case *bool:
			*p = false
		}
	}
}

// Read reads one leaf. An error means the leaf is not a valid entry, for
// the same reason Parse would give.
func (r *Reader) Read(leaf []byte) (Head, Body, error) {
	if h, b, ok := r.compact(leaf); ok {
		if r.Keep {
			b = r.bodies[h.Kind].clone()
		}
		return h, b, nil
	}
	e, err := Parse(leaf)
	if err != nil {
		return Head{}, nil, err
	}
	b, err := e.Body()
	if err != nil {
		return Head{}, nil, err
	}
	return Head{Kind: e.Kind, Time: e.Time, Detail: e.Detail}, b, nil
}

// compact reads ombud's compact form with every check Validate makes;
// false means "let Parse decide".
func (r *Reader) compact(leaf []byte) (Head, Body, bool) {
	if len(leaf) > MaxSize {
		return Head{}, nil, false
	}
	sc := compact.Aliasing(leaf)
	if r.Keep {
		sc = compact.New(leaf) // strings that outlive leaf
	}
	p := &sc
	var h Head
	var b *reused
	var versioned bool
	ok := envelope(p, func(key string) bool {
		switch key {
		case "v":
			n, ok := p.Uint()
			versioned = ok && n == Version
			return versioned
		case "kind":
			s, ok := p.Str()
			if ok {
				h.Kind = Kind(s)
				b = r.body(h.Kind)
			}
			if b == nil {
				return false
			}
			b.reset()
			return true
		case "time":
			s, ok := p.Str()
			if ok {
				h.Time, ok = timeOf(s)
			}
			return ok
		case "fields":
			return b != nil && r.fields(p, b)
		case "refs":
			return b != nil && r.refs(p, b)
		case "detail":
			s, ok := p.Str()
			h.Detail = s
			return ok && IsCommitment(s)
		}
		return false
	})
	if !ok || !p.Done() || !versioned || b == nil || h.Time.IsZero() {
		return Head{}, nil, false
	}
	return h, b.body, true
}

func (r *Reader) fields(p *compact.Scanner, b *reused) bool {
	var seen uint32
	ok := p.Object(func(k string) bool {
		f := b.s.fieldNamed(k)
		if f == nil {
			return false
		}
		bit := uint32(1) << (f.index & 31)
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch f.typ {
		case tCode:
			s, ok := p.Str()
			*b.ptrs[f.index].(*string) = s
			return ok && IsCode(s)
		case tCodes:
			ss := b.ptrs[f.index].(*[]string)
			return p.Array(func() bool {
				s, ok := p.Str()
				*ss = append(*ss, s)
				return ok && IsCode(s) && len(*ss) <= maxArray
			}) && len(*ss) > 0
		case tInt:
			lit, ok := p.Number()
			if !ok {
				return false
			}
			n, err := strconv.ParseInt(string(lit), 10, 64)
			*b.ptrs[f.index].(*int64) = n
			return err == nil
		case tNum:
			lit, ok := p.Number()
			if !ok {
				return false
			}
			x, err := strconv.ParseFloat(string(lit), 64)
			*b.ptrs[f.index].(*float64) = x
			return err == nil
		case tBool:
			switch p.Peek() {
			case 't':
				*b.ptrs[f.index].(*bool) = true
				return p.Lit("true")
			case 'f':
				return p.Lit("false")
			}
		}
		return false
	})
	return ok && seen != 0 // an empty object is left out
}

func (r *Reader) refs(p *compact.Scanner, b *reused) bool {
	var seen uint32
	ok := p.Object(func(k string) bool {
		ref := b.s.refNamed(k)
		if ref == nil {
			return false
		}
		bit := uint32(1) << (ref.index & 31)
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		n := 0
		ok := p.Array(func() bool {
			s, ok := p.Str()
			n++
			if ref.list {
				ss := b.ptrs[ref.index].(*[]string)
				*ss = append(*ss, s)
			} else {
				*b.ptrs[ref.index].(*string) = s
			}
			return ok && IsPseudonym(s) && n <= maxRefItems
		})
		return ok && n >= 1 && (ref.list || n == 1)
	})
	return ok && seen != 0 // an empty object is left out
}

// timeOf reads "2026-11-27T06:30:00.123Z", RFC 3339 in UTC with at most
// nine digits of fraction (the form ombud writes), as encoding/json reads
// it; anything else is left to Parse.
func timeOf(s string) (time.Time, bool) {
	if len(s) < 20 || len(s) > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	d := func(i, n int) (int, bool) {
		x := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int(c-'0')
		}
		return x, true
	}
	y, ok1 := d(0, 4)
	mo, ok2 := d(5, 2)
	day, ok3 := d(8, 2)
	h, ok4 := d(11, 2)
	mi, ok5 := d(14, 2)
	sec, ok6 := d(17, 2)
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := d(20, len(frac)-1)
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || day < 1 || day > daysIn(y, time.Month(mo)) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), day, h, mi, sec, nsec, time.UTC), true
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y int, m time.Month) int {
	if m == time.February && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 29
	}
	return monthDays[m]
}
