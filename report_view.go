package ombud

import (
	"time"
	"unsafe"
)

// The public fields a report reads.
const (
	fClass = iota
	fPurpose
	fDecision
	fOp
	fAuthKind
	fIssuer
	fReason
	fRecipientCategory
	fModelVersion
	fOutcome
	fActionKind
	nViewFields
)

// entryView is what the report reads of one entry, without building maps:
// a report reads every entry of a period, at a million entries a second.
type entryView struct {
	kind          string
	unix          int64 // the entry's time, in seconds
	f             [nViewFields]string
	emergency     bool
	crossBorder   bool
	reasons       []string
	clauses       []string
	authorization string // first "authorization" ref
	flag          string // first "flag" ref
}

func (v *entryView) reset() {
	v.kind, v.unix, v.f, v.emergency, v.crossBorder = "", 0, [nViewFields]string{}, false, false
	v.reasons, v.clauses, v.authorization, v.flag = v.reasons[:0], v.clauses[:0], "", ""
}

// parse reads b: ombud's compact form through the scanner, anything else
// through ParseEntry. It reports false for a leaf that is not an entry.
func (v *entryView) parse(b []byte) bool {
	v.reset()
	if v.compact(b) {
		return true
	}
	v.reset()
	e, err := ParseEntry(b)
	if err != nil {
		return false
	}
	v.kind, v.unix = string(e.Kind), e.Time.Unix()
	for k, x := range e.Fields {
		switch x := x.(type) {
		case string:
			if i := viewField(k); i >= 0 {
				v.f[i] = x
			}
		case bool:
			v.flagField(k, x)
		case []any:
			for _, s := range x {
				if s, ok := s.(string); ok {
					v.listField(k, s)
				}
			}
		}
	}
	if r := e.Refs["authorization"]; len(r) > 0 {
		v.authorization = r[0]
	}
	if r := e.Refs["flag"]; len(r) > 0 {
		v.flag = r[0]
	}
	return true
}

func viewField(k string) int {
	switch k {
	case "class":
		return fClass
	case "purpose":
		return fPurpose
	case "decision":
		return fDecision
	case "op":
		return fOp
	case "auth_kind":
		return fAuthKind
	case "issuer":
		return fIssuer
	case "reason":
		return fReason
	case "recipient_category":
		return fRecipientCategory
	case "model_version":
		return fModelVersion
	case "outcome":
		return fOutcome
	case "action_kind":
		return fActionKind
	}
	return -1
}

func (v *entryView) flagField(k string, b bool) {
	switch k {
	case "emergency":
		v.emergency = b
	case "cross_border":
		v.crossBorder = b
	}
}

func (v *entryView) listField(k, s string) {
	switch k {
	case "reasons":
		v.reasons = append(v.reasons, s)
	case "missing_clauses":
		v.clauses = append(v.clauses, s)
	}
}

// compact reads the compact form; false means "use ParseEntry".
func (v *entryView) compact(b []byte) bool {
	// The view's strings alias b (no copy): they live until the next
	// parse, and the builder clones any it keeps.
	p := scanner{b: b, s: unsafe.String(unsafe.SliceData(b), len(b)), loose: true}
	var timed, versioned bool
	ok := p.envelope(func(key string) bool {
		switch key {
		case "v":
			n, ok := p.uint()
			versioned = ok && n == EntryVersion
			return versioned
		case "kind":
			var ok bool
			v.kind, ok = p.str()
			return ok
		case "time":
			s, ok := p.str()
			if ok {
				v.unix, ok = unixOf(s)
			}
			timed = ok
			return ok
		case "fields":
			return v.fields(&p)
		case "refs":
			return v.refs(&p)
		case "detail":
			_, ok := p.str()
			return ok
		}
		return false
	})
	return ok && p.i == len(b) && v.kind != "" && timed && versioned
}

func (v *entryView) fields(p *scanner) bool {
	return p.object(func(k string) bool {
		if p.peek() == '[' {
			return p.array(func() bool {
				x, ok := p.scalar()
				if s, isStr := x.(string); ok && isStr {
					v.listField(k, s)
				}
				return ok
			})
		}
		switch c := p.peek(); {
		case c == '"':
			s, ok := p.str()
			if i := viewField(k); ok && i >= 0 {
				v.f[i] = s
			}
			return ok
		case c == 't' || c == 'f':
			x, ok := p.scalar()
			if ok {
				v.flagField(k, x.(bool))
			}
			return ok
		}
		_, ok := p.number()
		return ok
	})
}

func (v *entryView) refs(p *scanner) bool {
	return p.object(func(k string) bool {
		first := true
		return p.array(func() bool {
			s, ok := p.str()
			if ok && first {
				switch k {
				case "authorization":
					v.authorization = s
				case "flag":
					v.flag = s
				}
				first = false
			}
			return ok
		})
	})
}

// unixOf reads "2026-11-27T06:30:00.123Z" (RFC 3339, UTC, the form ombud
// writes) without time.Parse; anything else goes through time.Parse.
func unixOf(s string) (int64, bool) {
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z' {
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
		frac := s[19 : len(s)-1]
		okFrac := frac == "" || frac[0] == '.' && len(frac) > 1
		for i := 1; i < len(frac); i++ {
			okFrac = okFrac && frac[i] >= '0' && frac[i] <= '9'
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && okFrac && mo >= 1 && mo <= 12 && day >= 1 && day <= daysIn(y, mo) && h < 24 && mi < 60 && sec < 60 {
			return daysFromCivil(y, mo, day)*86400 + int64(h*3600+mi*60+sec), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y, m int) int {
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 29
	}
	return monthDays[m]
}

// daysFromCivil is the days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
