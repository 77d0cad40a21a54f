package entry

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// appendEntry writes e as the JSON object docs/LOG-FORMAT.md specifies:
// envelope keys in the order v, kind, time, fields, refs, detail; field and
// ref names sorted. It produces the same bytes as encoding/json would, with
// a fraction of the allocations, because every decision writes an entry.
// The caller has validated e, so every string is a code, a pseudonym or a
// commitment and needs no escaping.
func appendEntry(b []byte, e *Entry) ([]byte, error) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, `,"kind":"`...)
	b = append(b, e.Kind...)
	b = append(b, `","time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if len(e.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		for i, k := range sortedKeys(e.Fields) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, e.Fields[k]); err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
		}
		b = append(b, '}')
	}
	if len(e.Refs) > 0 {
		b = append(b, `,"refs":{`...)
		for i, k := range sortedKeys(e.Refs) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ":["...)
			for j, p := range e.Refs[k] {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, p)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if e.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendString(b, e.Detail)
	}
	return append(b, '}'), nil
}

// appendString quotes s; validated strings hold only characters that JSON
// does not escape, and anything else is left to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case json.Number:
		return append(b, v...), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, x); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	default: // float64 and anything rarer: encoding/json's spelling
		q, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return append(b, q...), nil
	}
}
