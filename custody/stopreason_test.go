package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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

// largeCiphertext is a ciphertext of n zero bytes under a new key, for
// object obj-1, with its SHA-256.
func largeCiphertext(t *testing.T, n int) (*keys.ObjectKey, []byte, []byte) {
	t.Helper()
	k, err := keys.NewObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, _ := k.Encrypter(&ct, "obj-1")
	w.Write(make([]byte, n))
	w.Close()
	sum := sha256.Sum256(ct.Bytes())
	return k, ct.Bytes(), sum[:]
}

// TestStopOfAStoreOverHTTP: behind a store read over HTTP, as a cloud
// bucket's is, a connection the store drops mid-body is logged as
// unavailable, not as damage; and a client that hangs up while the
// release waits on the store (which cancels the request's context, and
// with it the store's read) is logged as neither.
func TestStopOfAStoreOverHTTP(t *testing.T) {
	k, ct, sum := largeCiphertext(t, 8<<20)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(ct)))
		w.Write(ct[:3<<20])
		w.(http.Flusher).Flush()
		if r.URL.Path == "/drop" {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		<-r.Context().Done() // a store slower than its client
	}))
	defer store.Close()
	release := func(ctx context.Context, path string, hangUp func()) []string {
		req, _ := http.NewRequestWithContext(ctx, "GET", store.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		st, err := k.NewStream(resp.Body, int64(len(ct)), sum, "obj-1")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var logged []string
		f := &failureLogged{ctx: ctx, r: st, log: func(cause error) { logged = append(logged, stopReason(st, cause)+": "+cause.Error()) }}
		if hangUp != nil {
			time.AfterFunc(300*time.Millisecond, hangUp)
		}
		if _, err := f.WriteTo(io.Discard); err == nil {
			t.Fatalf("%s: the release ended cleanly", path)
		}
		return logged
	}
	if got := release(context.Background(), "/drop", nil); len(got) != 1 || !strings.HasPrefix(got[0], reason.Unavailable+":") {
		t.Errorf("a store that drops its connection: logged %q, want one %s", got, reason.Unavailable)
	}
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	if got := release(ctx, "/slow", hangUp); len(got) != 0 {
		t.Errorf("a client that hangs up: logged %q, want nothing", got)
	}
}
