package entry

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Body is the typed content of an entry: one of the types in kinds.go,
// as a value (to write) or a pointer (as Entry.Body returns it).
type Body interface{ Kind() Kind }

// valueType is the type of a public field's value.
type valueType uint8

const (
	tCode  valueType = iota + 1 // string: a code
	tCodes                      // []string: a list of codes
	tInt                        // int64
	tNum                        // float64
	tBool                       // bool
)

func (t valueType) String() string {
	return [...]string{"", "a code", "a list of codes", "an integer", "a number", "a boolean"}[t]
}

type fieldSpec struct {
	name   string
	typ    valueType
	index  int  // of the struct field
	always bool // written even when zero
}

type refSpec struct {
	name  string
	index int
	list  bool // []string: 1 to maxRefItems; string: exactly one
	keyed bool // holds keyed pseudonyms already when written
}

// spec is what one kind may carry, read from its type's tags.
type spec struct {
	kind   Kind
	typ    reflect.Type
	fields []fieldSpec
	refs   []refSpec
}

var specs = func() map[Kind]*spec {
	m := make(map[Kind]*spec, len(bodies))
	types := map[string]valueType{} // a field name has one type in every kind
	for _, b := range bodies {
		s := newSpec(b)
		if m[s.kind] != nil {
			panic("entry: two types for kind " + string(s.kind))
		}
		for _, f := range s.fields {
			if t, ok := types[f.name]; ok && t != f.typ {
				panic(fmt.Sprintf("entry: field %q is %v in %s and %v elsewhere", f.name, f.typ, s.kind, t))
			}
			types[f.name] = f.typ
		}
		m[s.kind] = s
	}
	return m
}()

func newSpec(b Body) *spec {
	t := reflect.TypeOf(b)
	s := &spec{kind: b.Kind(), typ: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("log")
		if !ok {
			panic(fmt.Sprintf("entry: %s.%s has no log tag", t.Name(), sf.Name))
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.HasPrefix(opts, "ref") {
			r := refSpec{name: name, index: i, keyed: opts == "ref,keyed"}
			switch sf.Type {
			case reflect.TypeFor[string]():
			case reflect.TypeFor[[]string]():
				r.list = true
			default:
				panic(fmt.Sprintf("entry: ref %s.%s is %v", t.Name(), sf.Name, sf.Type))
			}
			s.refs = append(s.refs, r)
			continue
		}
		f := fieldSpec{name: name, index: i, always: opts == "always"}
		switch sf.Type {
		case reflect.TypeFor[string]():
			f.typ = tCode
		case reflect.TypeFor[[]string]():
			f.typ = tCodes
		case reflect.TypeFor[int64]():
			f.typ = tInt
		case reflect.TypeFor[float64]():
			f.typ = tNum
		case reflect.TypeFor[bool]():
			f.typ = tBool
		default:
			panic(fmt.Sprintf("entry: field %s.%s is %v", t.Name(), sf.Name, sf.Type))
		}
		s.fields = append(s.fields, f)
	}
	if len(s.fields) > maxFields || len(s.refs) > maxRefs {
		panic("entry: kind " + string(s.kind) + " has too many fields or refs")
	}
	return s
}

// fieldNamed and refNamed find a field or ref by name: a kind has a dozen
// at most, and comparing is cheaper than hashing.
func (s *spec) fieldNamed(name string) *fieldSpec {
	for i := range s.fields {
		if s.fields[i].name == name {
			return &s.fields[i]
		}
	}
	return nil
}

func (s *spec) refNamed(name string) *refSpec {
	for i := range s.refs {
		if s.refs[i].name == name {
			return &s.refs[i]
		}
	}
	return nil
}

// Kinds returns every known entry kind, sorted.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(specs))
	for k := range specs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// RefNamespace returns the pseudonym namespace of a ref name: the name
// itself, but "principal" for "by", and "object" for a flag's "input" and
// "reference" (so that an auditor can tie a viewing of a flag's evidence,
// whose "object" ref names it, to the flag).
func RefNamespace(ref string) string {
	switch ref {
	case "by":
		return "principal"
	case "input", "reference":
		return "object"
	}
	return ref
}

// New returns the entry of body b at time t. Its refs hold identifiers,
// which pseudonym turns into keyed pseudonyms (of namespace RefNamespace),
// but for keyed refs, which are copied. Marshal validates the result.
func New(t time.Time, b Body, pseudonym func(namespace, id string) string) (*Entry, error) {
	v := reflect.Indirect(reflect.ValueOf(b))
	s := specs[b.Kind()]
	if s == nil || v.Type() != s.typ {
		return nil, entryErr("%T is not an entry type", b)
	}
	e := &Entry{V: Version, Kind: s.kind, Time: t.UTC().Truncate(time.Millisecond)}
	for _, f := range s.fields {
		fv := v.Field(f.index)
		if fv.IsZero() && !f.always {
			continue
		}
		if e.Fields == nil {
			e.Fields = make(map[string]any, len(s.fields))
		}
		switch f.typ {
		case tCode:
			e.Fields[f.name] = fv.String()
		case tCodes:
			if fv.Len() == 0 {
				continue
			}
			e.Fields[f.name] = fv.Interface().([]string)
		case tInt:
			e.Fields[f.name] = fv.Int()
		case tNum:
			e.Fields[f.name] = fv.Float()
		case tBool:
			e.Fields[f.name] = fv.Bool()
		}
	}
	for _, r := range s.refs {
		var ids []string
		if r.list {
			ids = v.Field(r.index).Interface().([]string)
		} else if id := v.Field(r.index).String(); id != "" {
			ids = []string{id}
		}
		if len(ids) == 0 {
			continue
		}
		ps := make([]string, len(ids))
		for i, id := range ids {
			if r.keyed {
				ps[i] = id
			} else {
				ps[i] = pseudonym(RefNamespace(r.name), id)
			}
		}
		if e.Refs == nil {
			e.Refs = make(map[string][]string, len(s.refs))
		}
		e.Refs[r.name] = ps
	}
	return e, nil
}

// Body returns the typed content of a valid entry, as a pointer to its
// kind's type (*Access for an access entry), with pseudonyms in its refs.
func (e *Entry) Body() (Body, error) {
	s := specs[e.Kind]
	if s == nil {
		return nil, entryErr("unknown kind %q", e.Kind)
	}
	p := reflect.New(s.typ)
	v := p.Elem()
	for name, x := range e.Fields {
		f := s.fieldNamed(name)
		if f == nil {
			return nil, entryErr("kind %s has no public field %q", e.Kind, name)
		}
		if err := setValue(v.Field(f.index), f.typ, x); err != nil {
			return nil, entryErr("field %q: %v", name, err)
		}
	}
	for name, ps := range e.Refs {
		r := s.refNamed(name)
		if r == nil {
			return nil, entryErr("kind %s has no ref %q", e.Kind, name)
		}
		if r.list {
			v.Field(r.index).Set(reflect.ValueOf(slices.Clone(ps)))
		} else if len(ps) > 0 {
			v.Field(r.index).SetString(ps[0])
		}
	}
	return p.Interface().(Body), nil
}

// checkValue checks x, a field's value as the encoder or a parser holds it,
// against the field's type.
func checkValue(t valueType, x any) error {
	switch t {
	case tCode:
		s, ok := x.(string)
		if !ok {
			break
		}
		if !IsCode(s) {
			return fmt.Errorf("string %.40q is not a code (1-128 of A-Z a-z 0-9 . _ : + / = @ -)", s)
		}
		return nil
	case tCodes:
		var n int
		switch a := x.(type) {
		case []string:
			n = len(a)
			for _, s := range a {
				if err := checkValue(tCode, s); err != nil {
					return err
				}
			}
		case []any:
			n = len(a)
			for _, s := range a {
				if _, ok := s.(string); !ok {
					return fmt.Errorf("a list of codes holds %s", jsonType(s))
				}
				if err := checkValue(tCode, s); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%s, want %v", jsonType(x), t)
		}
		if n > maxArray {
			return fmt.Errorf("list of %d, at most %d", n, maxArray)
		}
		return nil
	case tInt:
		switch x := x.(type) {
		case int64, int:
			return nil
		case json.Number:
			if !isInt(string(x)) {
				return fmt.Errorf("%.40s is not an integer", string(x))
			}
			return nil
		}
	case tNum:
		switch x := x.(type) {
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return fmt.Errorf("%v is not a number", x)
			}
			return nil
		case int64, int:
			return nil
		case json.Number:
			if !isNum(string(x)) {
				return fmt.Errorf("%.40s is out of range", string(x))
			}
			return nil
		}
	case tBool:
		if _, ok := x.(bool); ok {
			return nil
		}
	}
	return fmt.Errorf("%s, want %v", jsonType(x), t)
}

// isInt and isNum are the one reading of a number literal for both
// parsers: an int64, and a finite float64.
func isInt(lit string) bool {
	_, err := strconv.ParseInt(lit, 10, 64)
	return err == nil
}

func isNum(lit string) bool {
	_, err := strconv.ParseFloat(lit, 64)
	return err == nil
}

func jsonType(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, int, int64, float64:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a value of type %T", x)
}

// setValue stores a checked value into a struct field.
func setValue(fv reflect.Value, t valueType, x any) error {
	if err := checkValue(t, x); err != nil {
		return err
	}
	switch t {
	case tCode:
		fv.SetString(x.(string))
	case tCodes:
		var ss []string
		switch a := x.(type) {
		case []string:
			ss = slices.Clone(a)
		case []any:
			ss = make([]string, len(a))
			for i, s := range a {
				ss[i] = s.(string)
			}
		}
		fv.Set(reflect.ValueOf(ss))
	case tInt:
		switch x := x.(type) {
		case int64:
			fv.SetInt(x)
		case int:
			fv.SetInt(int64(x))
		case json.Number:
			n, _ := strconv.ParseInt(string(x), 10, 64)
			fv.SetInt(n)
		}
	case tNum:
		switch x := x.(type) {
		case float64:
			fv.SetFloat(x)
		case int64:
			fv.SetFloat(float64(x))
		case int:
			fv.SetFloat(float64(x))
		case json.Number:
			f, _ := strconv.ParseFloat(string(x), 64)
			fv.SetFloat(f)
		}
	case tBool:
		fv.SetBool(x.(bool))
	}
	return nil
}

// WithApproval returns b citing the approved proposal it carries out and
// its approvers (keyed pseudonyms, as their votes' by refs): b's kind must
// have the proposal and approver refs of a privileged change.
func WithApproval(b Body, proposal string, approvers []string) (Body, error) {
	s := specs[b.Kind()]
	if s == nil {
		return nil, fmt.Errorf("entry: unknown kind %s", b.Kind())
	}
	p, a := s.refNamed("proposal"), s.refNamed("approver")
	if p == nil || a == nil || !a.keyed {
		return nil, fmt.Errorf("entry: a %s entry cannot cite a proposal", b.Kind())
	}
	v := reflect.New(s.typ).Elem()
	v.Set(reflect.ValueOf(b))
	v.Field(p.index).SetString(proposal)
	v.Field(a.index).Set(reflect.ValueOf(slices.Clone(approvers)))
	return v.Interface().(Body), nil
}

// ApprovalOf returns the proposal and approvers a privileged entry's body
// cites (WithApproval), "" and nil for one that cites none or a kind that
// cannot.
func ApprovalOf(b Body) (proposal string, approvers []string) {
	v := reflect.Indirect(reflect.ValueOf(b))
	s := specs[b.Kind()]
	if s == nil {
		return "", nil
	}
	p, a := s.refNamed("proposal"), s.refNamed("approver")
	if p == nil || a == nil || !a.keyed {
		return "", nil
	}
	return v.Field(p.index).String(), v.Field(a.index).Interface().([]string)
}
