package custody

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/reason"
)

// TestStopReason: a release that stops midway is logged as an integrity
// failure when the ciphertext was seen to differ, and as unavailable when
// the store failed to deliver it; the log claims no damage it did not see.
func TestStopReason(t *testing.T) {
	k, err := keys.NewObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, _ := k.Encrypter(&ct, "obj-1")
	w.Write(make([]byte, 3<<20))
	w.Close()
	sum := sha256.Sum256(ct.Bytes())
	st, err := k.NewStream(bytes.NewReader(ct.Bytes()), int64(ct.Len()), sum[:], "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	netErr := errors.New("connection reset by peer")
	for _, c := range []struct {
		name  string
		body  io.Reader
		cause error
		want  string
	}{
		{"a stream, a segment that fails", st, fmt.Errorf("x: %w", keys.ErrSegment), reason.Integrity},
		{"a stream, another ciphertext", st, keys.ErrDigest, reason.Integrity},
		{"a stream, the store failing", st, netErr, reason.Unavailable},
		{"Tink's reader, any failure", bytes.NewReader(nil), netErr, reason.Integrity},
	} {
		if got := stopReason(c.body, c.cause); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
