package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/internal/ombudtest"
)

func doObj(t *testing.T, e *ombudtest.Env, method, path, token string, hdr map[string]string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestObjectsEndToEnd(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
	ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
	data := bytes.Repeat([]byte("record "), 200000)
	resp := doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general", "Ombud-Source": "scanner 4", "Ombud-Collected-At": "2026-11-01T10:00:00Z"}, bytes.NewReader(data))
	if resp.StatusCode != 201 || resp.Header.Get("Ombud-Receipt") == "" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("put: %d %s", resp.StatusCode, b)
	}
	o := decode[apiv1.Object](t, resp)
	if o.Size != int64(len(data)) || o.RetainUntil.Year() != 2027 {
		t.Fatalf("object %+v", o)
	}
	get := doObj(t, e, "GET", "/v1/objects/"+o.ID, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	got, _ := io.ReadAll(get.Body)
	if get.StatusCode != 200 || !bytes.Equal(got, data) || get.Header.Get("Ombud-Receipt") == "" || get.ContentLength != int64(len(data)) {
		t.Fatalf("get: %d, %d bytes, receipt %q", get.StatusCode, len(got), get.Header.Get("Ombud-Receipt"))
	}
	// The permit was logged before the bytes left: its index is below the
	// log size the moment the response headers arrived.
	// Hold, erase and 410.
	admin := e.AdminToken
	js := map[string]string{"Content-Type": "application/json"}
	if r := doObj(t, e, "POST", "/v1/objects/"+o.ID+"/hold", admin, js, strings.NewReader(`{"reason":"litigation","authorization":"order 1"}`)); r.StatusCode != 200 {
		t.Fatalf("hold: %d", r.StatusCode)
	}
	if r := doObj(t, e, "POST", "/v1/objects/"+o.ID+"/erase", admin, js, strings.NewReader(`{"reason":"court_order","authorization":"order 2"}`)); r.StatusCode != 409 {
		t.Fatalf("erase under hold: %d", r.StatusCode)
	}
	if r := doObj(t, e, "POST", "/v1/objects/"+o.ID+"/hold/release", admin, js, strings.NewReader(`{"reason":"case_closed","authorization":"order 3"}`)); r.StatusCode != 200 {
		t.Fatalf("release: %d", r.StatusCode)
	}
	if r := doObj(t, e, "POST", "/v1/objects/"+o.ID+"/erase", admin, js, strings.NewReader(`{"reason":"court_order","authorization":"order 4"}`)); r.StatusCode != 200 {
		t.Fatalf("erase: %d", r.StatusCode)
	}
	gone := doObj(t, e, "GET", "/v1/objects/"+o.ID, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	if gone.StatusCode != 410 || gone.Header.Get("Ombud-Receipt") == "" || decode[apiv1.ErrorBody](t, gone).Error.Code != ombud.CodeGone {
		t.Fatalf("get after erase: %d", gone.StatusCode)
	}
	st := decode[apiv1.Object](t, doObj(t, e, "GET", "/v1/objects/"+o.ID+"/status", admin, nil, nil))
	if st.Erased == nil || st.Erased.Reason != "court_order" {
		t.Fatalf("status %+v", st)
	}
	if r := doObj(t, e, "POST", "/v1/sweep", admin, nil, nil); r.StatusCode != 200 {
		t.Fatalf("sweep: %d", r.StatusCode)
	}
	if r := doObj(t, e, "POST", "/v1/keys/rotate", admin, nil, nil); r.StatusCode != 200 || r.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("rotate: %d", r.StatusCode)
	}
}

func TestObjectsBadInput(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
	ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
	aud := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	rev := e.AddPrincipal(t, "reviewer", ombud.RoleReviewer)
	put := doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general"}, strings.NewReader("x"))
	id := decode[apiv1.Object](t, put).ID
	js := "application/json"
	for _, tc := range []struct {
		name, method, path, token string
		hdr                       map[string]string
		body                      string
		status                    int
		code                      ombud.Code
		logged                    bool
	}{
		{"no class", "PUT", "/v1/objects", ing, nil, "x", 400, ombud.CodeInvalid, false},
		{"unknown class", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "secrets"}, "x", 400, ombud.CodeInvalid, false},
		{"sensitive without subjects", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "biometric"}, "x", 400, ombud.CodeInvalid, false},
		{"subject with control char", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "biometric", "Ombud-Subjects": "a\tb"}, "x", 400, ombud.CodeInvalid, false},
		{"empty subject", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "biometric", "Ombud-Subjects": "a,,b"}, "x", 400, ombud.CodeInvalid, false},
		{"bad collected-at", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general", "Ombud-Collected-At": "yesterday"}, "x", 400, ombud.CodeInvalid, false},
		{"future collected-at", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general", "Ombud-Collected-At": "2099-01-01T00:00:00Z"}, "x", 400, ombud.CodeInvalid, false},
		{"bad region", "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general", "Ombud-Region": "EU Central!"}, "x", 400, ombud.CodeInvalid, false},
		{"put without token", "PUT", "/v1/objects", "", map[string]string{"Ombud-Class": "general"}, "x", 401, ombud.CodeUnauthenticated, false},
		{"put as analyst", "PUT", "/v1/objects", ana, map[string]string{"Ombud-Class": "general"}, "x", 403, ombud.CodeForbidden, false},
		// A read attempt by a principal of another role is a decision,
		// logged as a denial.
		{"get as ingestor", "GET", "/v1/objects/" + id, ing, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 403, ombud.CodeForbidden, true},
		{"get as admin", "GET", "/v1/objects/" + id, e.AdminToken, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 403, ombud.CodeForbidden, true},
		{"get as auditor", "GET", "/v1/objects/" + id, aud, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 403, ombud.CodeForbidden, true},
		{"get as reviewer", "GET", "/v1/objects/" + id, rev, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 403, ombud.CodeForbidden, true},
		// HEAD releases nothing, so it is no read: refused, unlogged.
		{"head", "HEAD", "/v1/objects/" + id, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 405, "", false},
		// An unsatisfiable range is a logged denial; it spends no use.
		{"unsatisfiable range", "GET", "/v1/objects/" + id, ana, map[string]string{"Ombud-Purpose": "audit_sample", "Range": "bytes=900000-"}, "", 416, ombud.CodeRangeNotSatisfiable, true},
		{"get without purpose", "GET", "/v1/objects/" + id, ana, nil, "", 400, ombud.CodeInvalid, false},
		{"get with free-text purpose", "GET", "/v1/objects/" + id, ana, map[string]string{"Ombud-Purpose": "find Ada"}, "", 400, ombud.CodeInvalid, false},
		{"get missing object", "GET", "/v1/objects/nosuchobject0000", ana, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 404, ombud.CodeNotFound, true},
		// An id no object can have is bad input, whatever the store.
		{"get id with NUL", "GET", "/v1/objects/%00", ana, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 400, ombud.CodeInvalid, false},
		{"get id not UTF-8", "GET", "/v1/objects/%ff", ana, map[string]string{"Ombud-Purpose": "audit_sample"}, "", 400, ombud.CodeInvalid, false},
		{"disable id not UTF-8", "DELETE", "/v1/principals/%c3%28", e.AdminToken, nil, "", 400, ombud.CodeInvalid, false},
		// An action that takes no body refuses one, and does nothing.
		{"sweep with a body", "POST", "/v1/sweep", e.AdminToken, nil, "{", 400, ombud.CodeInvalid, false},
		{"rotation with a body", "POST", "/v1/keys/rotate", e.AdminToken, map[string]string{"Content-Type": "text/plain"}, "rotate", 400, ombud.CodeInvalid, false},
		{"reload with a body it does not take", "POST", "/v1/policy/reload", e.AdminToken, map[string]string{"Content-Type": "application/json"}, `{"force":true}`, 400, ombud.CodeUnknownField, false},
		{"hold as analyst", "POST", "/v1/objects/" + id + "/hold", ana, map[string]string{"Content-Type": js}, `{"reason":"x","authorization":"y"}`, 403, ombud.CodeForbidden, false},
		{"hold bad reason", "POST", "/v1/objects/" + id + "/hold", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"Because I said so","authorization":"y"}`, 400, ombud.CodeInvalid, false},
		{"hold no authorization", "POST", "/v1/objects/" + id + "/hold", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"litigation"}`, 400, ombud.CodeInvalid, false},
		{"hold unknown field", "POST", "/v1/objects/" + id + "/hold", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"litigation","authorization":"y","until":"never"}`, 400, ombud.CodeUnknownField, false},
		{"release without hold", "POST", "/v1/objects/" + id + "/hold/release", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"case_closed","authorization":"y"}`, 409, ombud.CodeConflict, false},
		{"hold unregistered reason", "POST", "/v1/objects/" + id + "/hold", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"maria-gonzalez-1987","authorization":"y"}`, 400, ombud.CodeInvalid, false},
		{"erase bad reason", "POST", "/v1/objects/" + id + "/erase", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"retention_expired","authorization":"y"}`, 400, ombud.CodeInvalid, false},
		{"erase missing", "POST", "/v1/objects/nosuchobject0000/erase", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":"court_order","authorization":"y"}`, 404, ombud.CodeNotFound, false},
		{"erase malformed", "POST", "/v1/objects/" + id + "/erase", e.AdminToken, map[string]string{"Content-Type": js}, `{"reason":`, 400, ombud.CodeMalformedJSON, false},
		{"sweep as analyst", "POST", "/v1/sweep", ana, nil, "", 403, ombud.CodeForbidden, false},
		{"rotate as ingestor", "POST", "/v1/keys/rotate", ing, nil, "", 403, ombud.CodeForbidden, false},
		{"status as analyst", "GET", "/v1/objects/" + id + "/status", ana, nil, "", 403, ombud.CodeForbidden, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Size(t)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp := doObj(t, e, tc.method, tc.path, tc.token, tc.hdr, body)
			if resp.StatusCode != tc.status {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.method == "HEAD" {
				if resp.Header.Get("Allow") != "GET" {
					t.Fatalf("Allow %q", resp.Header.Get("Allow"))
				}
			} else if c := decode[apiv1.ErrorBody](t, resp).Error.Code; c != tc.code {
				t.Fatalf("code %s, want %s", c, tc.code)
			}
			grew := e.Size(t) != before
			if grew != tc.logged {
				t.Fatalf("log grew: %v, want %v", grew, tc.logged)
			}
			if tc.logged && resp.Header.Get("Ombud-Receipt") == "" {
				t.Fatal("a logged denial without a receipt")
			}
		})
	}
}

func TestObjectTooLarge(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	e.Custody.MaxObjectBytes = 1 << 20
	ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
	before := e.Size(t)
	resp := doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general"}, bytes.NewReader(make([]byte, 2<<20)))
	if resp.StatusCode != 413 || decode[apiv1.ErrorBody](t, resp).Error.Code != ombud.CodeTooLarge {
		t.Fatalf("oversized object: %d", resp.StatusCode)
	}
	if e.Size(t) != before {
		t.Fatal("an oversized object was logged")
	}
}

// TestReadFailsClosed: with the log's appender stopped, or its storage
// unwritable, a read is denied with 503 and no byte of the object leaves.
func TestReadFailsClosed(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"appender stopped", "storage unwritable"} {
		t.Run(how, func(t *testing.T) {
			e := ombudtest.New(t)
			ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
			ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
			secret := "the bytes that must not leave"
			put := doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general"}, strings.NewReader(secret))
			id := decode[apiv1.Object](t, put).ID
			if how == "appender stopped" {
				e.Log.Close(context.Background())
			} else {
				entries := filepath.Join(e.Log.Dir(), "tile", "entries")
				os.RemoveAll(entries)
				os.WriteFile(entries, []byte("x"), 0o644)
			}
			resp := doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 503 || strings.Contains(string(body), secret) {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			if c := decode[apiv1.ErrorBody](t, &http.Response{StatusCode: resp.StatusCode, Body: io.NopCloser(bytes.NewReader(body))}).Error.Code; c != ombud.CodeLogUnavailable {
				t.Fatalf("code %s", c)
			}
		})
	}
}

func TestRangeReads(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
	ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
	data := make([]byte, 5<<19+123) // 2.5 MiB: three Tink segments
	for i := range data {
		data[i] = byte(i * 7)
	}
	id := decode[apiv1.Object](t, doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general"}, bytes.NewReader(data))).ID
	size := int64(len(data))
	for _, tc := range []struct {
		rng    string
		status int
		lo, hi int64 // expected bytes [lo, hi)
	}{
		{"bytes=0-0", 206, 0, 1},
		{"bytes=1048570-1048600", 206, 1048570, 1048601}, // across a segment boundary
		{"bytes=2000000-", 206, 2000000, size},
		{"bytes=-100", 206, size - 100, size},
		{"bytes=0-1,5-6", 200, 0, size},
		{"garbage", 200, 0, size},
		{"bytes=99999999-", 416, 0, 0},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			before := e.Size(t)
			resp := doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "audit_sample", "Range": tc.rng}, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 416 {
				if resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
					t.Fatalf("Content-Range %q", resp.Header.Get("Content-Range"))
				}
			} else if !bytes.Equal(body, data[tc.lo:tc.hi]) {
				t.Fatalf("got %d bytes, want [%d,%d)", len(body), tc.lo, tc.hi)
			}
			if tc.status == 206 && resp.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", tc.lo, tc.hi-1, size) {
				t.Fatalf("Content-Range %q", resp.Header.Get("Content-Range"))
			}
			if e.Size(t) != before+1 {
				t.Fatal("the read was not logged")
			}
		})
	}
}

// TestUnsatisfiableRangeSpendsNoUse: a range outside the object is a
// logged denial that leaves the authorization's uses untouched, and says
// nothing of the object's size to a caller who may not read it.
func TestUnsatisfiableRangeSpendsNoUse(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	court := e.Court(t)
	e.Authorize(t, court, ombudtest.Authorization("one-read", 1))
	ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
	ing := e.AddPrincipal(t, "ingestor", ombud.RoleIngestor)
	put := doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "location", "Ombud-Subjects": "plate:B-XY-123"}, strings.NewReader("0123456789"))
	id := decode[apiv1.Object](t, put).ID
	hdr := map[string]string{"Ombud-Purpose": "criminal_investigation", "Ombud-Authorization": "one-read", "Range": "bytes=10-"}
	// Without the authorization: denied for that, before the range.
	resp := doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "criminal_investigation", "Range": "bytes=10-"}, nil)
	if resp.StatusCode != 403 || resp.Header.Get("Content-Range") != "" {
		t.Fatalf("unauthorized ranged read: %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	for range 2 {
		resp = doObj(t, e, "GET", "/v1/objects/"+id, ana, hdr, nil)
		if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != "bytes */10" || resp.Header.Get("Ombud-Receipt") == "" {
			t.Fatalf("unsatisfiable range: %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
		}
	}
	if a, _ := e.Store.Authorization(context.Background(), "one-read"); a.Uses != 0 {
		t.Fatalf("an unsatisfiable range spent %d uses", a.Uses)
	}
	hdr["Range"] = "bytes=2-4"
	resp = doObj(t, e, "GET", "/v1/objects/"+id, ana, hdr, nil)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 206 || string(b) != "234" {
		t.Fatalf("ranged read: %d %q", resp.StatusCode, b)
	}
	if a, _ := e.Store.Authorization(context.Background(), "one-read"); a.Uses != 1 {
		t.Fatalf("uses after one read: %d", a.Uses)
	}
}

// TestLargeReadStopsAtDamage: an object of many segments goes out a
// segment at a time. A segment damaged in storage stops the release there
// (the client sees a cut connection and only the bytes before it) and the
// failure is logged as a denial; a client that hangs up midway is no
// integrity failure and logs none.
func TestLargeReadStopsAtDamage(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ing := e.AddPrincipal(t, "ingest", ombud.RoleIngestor)
	ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst)
	data := make([]byte, 4<<20+5)
	for i := range data {
		data[i] = byte(i * 13)
	}
	put := func() string {
		return decode[apiv1.Object](t, doObj(t, e, "PUT", "/v1/objects", ing, map[string]string{"Ombud-Class": "general"}, bytes.NewReader(data))).ID
	}
	lastReasons := func() (string, string) {
		en := e.Entry(t, e.Size(t)-1)
		return fmt.Sprint(en.Fields["decision"]), fmt.Sprint(en.Fields["reasons"])
	}

	id := put()
	p := e.BlobFile(id)
	ct, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ct[2<<20+10] ^= 1 // in the third segment
	if err := os.WriteFile(p, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	resp := doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	got, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, %d bytes, %v: want a cut body", resp.StatusCode, len(got), err)
	}
	if len(got) >= 2<<20 || !bytes.HasPrefix(data, got) {
		t.Fatalf("%d bytes out, or bytes not the object's: only the two segments before the damage may leave", len(got))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, r := lastReasons()
		if d == "deny" && r == "[integrity_failure]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last entry %s %s: want the integrity failure logged", d, r)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Damage in the first segment is found before the release is
	// logged: the read is refused with one denial, and no permit.
	id = put()
	p = e.BlobFile(id)
	if ct, err = os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	ct[100] ^= 1
	if err := os.WriteFile(p, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	size := e.Size(t)
	resp = doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 500 || body.Error.Code != ombud.CodeInternal {
		t.Fatalf("damage in the first segment: %d %+v, want a refusal before any byte", resp.StatusCode, body.Error)
	}
	if d, r := lastReasons(); e.Size(t) != size+1 || d != "deny" || r != "[integrity_failure]" {
		t.Fatalf("damage in the first segment: %d entries, the last %s %s; want one denial", e.Size(t)-size, d, r)
	}

	// Large enough that the socket's buffers cannot take the rest.
	data = make([]byte, 32<<20)
	id = put()
	resp = doObj(t, e, "GET", "/v1/objects/"+id, ana, map[string]string{"Ombud-Purpose": "audit_sample"}, nil)
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	size = e.Size(t)
	time.Sleep(500 * time.Millisecond)
	if d, r := lastReasons(); e.Size(t) != size || d != "permit" {
		t.Fatalf("after a client hung up: %s %s logged", d, r)
	}
}
