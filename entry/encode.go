package entry

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ombud/ombud/internal/compact"
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
			b = compact.AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = compact.AppendValue(b, e.Fields[k]); err != nil {
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
			b = compact.AppendString(b, k)
			b = append(b, ":["...)
			for j, p := range e.Refs[k] {
				if j > 0 {
					b = append(b, ',')
				}
				b = compact.AppendString(b, p)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if e.Detail != "" {
		b = append(b, `,"detail":`...)
		b = compact.AppendString(b, e.Detail)
	}
	return append(b, '}'), nil
}
