package web

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/tips"
)

// FuzzTipForm: the intake's form reader takes any body under any
// multipart boundary without panicking, never holds more than the limit,
// at most maxTipFiles files, and a message only as valid UTF-8.
func FuzzTipForm(f *testing.F) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary("xyz")
	mw.WriteField("message", "hello")
	mw.WriteField("codename", "a b c")
	w, _ := mw.CreateFormFile("files", "a.pdf")
	w.Write([]byte("%PDF"))
	mw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n--xyz--\r\n"))
	s := &Site{Tips: &tips.Service{MaxBytes: 4096}}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/tips", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
		sub, codename, err := s.readSubmission(httptest.NewRecorder(), r)
		if err != nil {
			if _, ok := err.(errTipForm); !ok {
				t.Fatalf("an error that is not the form's: %v", err)
			}
			return
		}
		total := len(sub.Message)
		for _, fl := range sub.Files {
			n, _ := io.Copy(io.Discard, fl.Body)
			total += int(n)
		}
		if total > 4096 || len(sub.Files) > maxTipFiles || len(codename) > tips.MaxCodename+1 || !utf8.ValidString(sub.Message) {
			t.Fatalf("read %d bytes, %d files, a codename of %d bytes", total, len(sub.Files), len(codename))
		}
	})
}

// noSessions is a session store the intake's busy answer never reaches.
type noSessions struct{ ombud.SessionStore }

// TestTipUploadsBounded: when every upload slot of the gateway is taken,
// a submission is answered busy at once, before its body is read, and
// nothing reaches the intake.
func TestTipUploadsBounded(t *testing.T) {
	if n := tipUploadSlots(16 << 20); n != 16 {
		t.Fatalf("slots for 16 MiB submissions: %d", n)
	}
	if n := tipUploadSlots(64 << 20); n != 4 {
		t.Fatalf("slots for 64 MiB submissions: %d", n)
	}
	s := &Site{Tips: &tips.Service{MaxBytes: 4096}, Sessions: noSessions{}}
	h := s.Handler()
	for range cap(s.tipUploads) {
		s.tipUploads <- struct{}{}
	}
	for _, path := range []string{"/tips", "/tips/followup"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader("--xyz--\r\n")))
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Nothing was kept") {
			t.Fatalf("%s with every slot taken: %d %q", path, rec.Code, rec.Header())
		}
	}
}

// TestStalledUploadFreesItsSlot: a connection that sends its headers and
// a few bytes, then nothing, is cut after the stall time, answered, and
// gives its upload slot back; a trickle is cut as too slow.
func TestStalledUploadFreesItsSlot(t *testing.T) {
	s := &Site{Tips: &tips.Service{MaxBytes: 1 << 20}, Sessions: noSessions{}, uploadStall: 300 * time.Millisecond}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, trickle := range []bool{false, true} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /tips HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 100000\r\n\r\n--xyz\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhello")
		start := time.Now()
		done := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn)
			done <- string(b)
		}()
		if trickle {
			go func() {
				for range 20 {
					time.Sleep(100 * time.Millisecond)
					if _, err := conn.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
		}
		select {
		case got := <-done:
			if !strings.Contains(got, "400 Bad Request") || !strings.Contains(got, "too slowly") || time.Since(start) > 2*time.Second {
				t.Fatalf("trickle %v: after %v: %.300s", trickle, time.Since(start), got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("trickle %v: the stalled upload was not cut", trickle)
		}
		conn.Close()
		for deadline := time.Now().Add(time.Second); len(s.tipUploads) > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if len(s.tipUploads) != 0 {
			t.Fatalf("trickle %v: the upload slot was not given back", trickle)
		}
	}
}
