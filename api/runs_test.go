package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
)

const plateReader = `{"name":"plate-reader","vendor":"vendor-y","task":"plate_reading","classes":["location","general"],"model":"anpr","version":"2.0",
	"accuracy":{"threshold":0.9,"source":"vendor-y-datasheet-2026"},"contract":"ocds-abc123-2026-18"}`

// runEnv is a deployment with a registered plate reader, a machine bound
// to it, an analyst, a court's authorization for location data about
// plate:B-XY-123 and objects to read.
type runEnv struct {
	*ombudtest.Env
	system   string
	machine  string // its token
	analyst  string
	location []string // objects of class location about the plate
	general  string
	bio      string       // a biometric object: a class the system may not process
	offset   atomic.Int64 // custody's clock
	logged   atomic.Int64 // the journal's clock: entries' times
	reviewed atomic.Int64 // the review service's clock
}

func newRunEnv(t *testing.T, auths ...ombud.Authorization) *runEnv {
	t.Helper()
	e := &runEnv{Env: ombudtest.New(t)}
	e.Custody.Now = func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }
	e.Journal.Now = func() time.Time { return time.Now().Add(time.Duration(e.logged.Load())) }
	e.Gateway.Review.Now = func() time.Time { return time.Now().Add(time.Duration(e.reviewed.Load())) }
	e.RegisterContract(t, "ocds-abc123-2026-18")
	resp := e.Do(t, "POST", "/v1/systems", e.AdminToken, "application/json", plateReader)
	done := decode[apiv1.SystemVersionDone](t, resp)
	e.system = done.ID
	resp = e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", `{"name":"anpr runner","roles":["system"],"system":"`+e.system+`"}`)
	e.machine = decode[apiv1.Principal](t, resp).Token
	e.analyst = e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	court := e.Court(t)
	for _, a := range auths {
		e.Authorize(t, court, a)
	}
	ingest := func(class string, subjects []string, body string) string {
		o, _, err := e.Custody.Ingest(t.Context(), custody.IngestRequest{Class: class, Source: "cam-1", Subjects: subjects, By: e.AdminID, Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	for i := range 5 {
		e.location = append(e.location, ingest("location", []string{"plate:B-XY-123"}, "position "+strconv.Itoa(i)))
	}
	e.general = ingest("general", nil, "a general record")
	e.bio = ingest("biometric", []string{"person:17"}, "a face")
	return e
}

func (e *runEnv) client(t *testing.T, token string) *client.Client {
	c, err := client.New(e.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runBody(system string, objects []string, auth string) string {
	b, _ := json.Marshal(apiv1.StartRun{System: system, Version: "2.0", Purpose: "criminal_investigation", Authorization: auth, Objects: objects})
	return string(b)
}

// entryAt parses the entry at index.
func entryAt(t *testing.T, e *ombudtest.Env, index uint64) entry.Body { return e.EntryAt(t, index) }

// TestRunRefusals: every refusal of a run has its own reason; a malformed
// request logs nothing, and every other refusal is a logged decision.
func TestRunRefusals(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-1", 5))
	const js = "application/json"
	other := decode[apiv1.SystemVersionDone](t, e.Do(t, "POST", "/v1/systems", e.AdminToken, js, replace(plateReader, `"plate-reader"`, `"plate-reader-2"`)))
	erased := e.location[4]
	if resp := e.Do(t, "POST", "/v1/objects/"+erased+"/erase", e.AdminToken, js, `{"reason":"court_order","authorization":"auth-1"}`); resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("erase: %d %s", resp.StatusCode, b)
	}
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              ombud.Code
		reason            string // "" for a malformed request, which logs nothing
	}{
		{"no token", "", runBody(e.system, e.location[:1], "auth-1"), 401, ombud.CodeUnauthenticated, ""},
		{"an admin", e.AdminToken, runBody(e.system, e.location[:1], "auth-1"), 403, ombud.CodeForbidden, ""},
		{"no objects", e.machine, runBody(e.system, nil, "auth-1"), 400, ombud.CodeInvalid, ""},
		{"an object twice", e.machine, runBody(e.system, []string{e.location[0], e.location[0]}, "auth-1"), 400, ombud.CodeInvalid, ""},
		{"a free-text purpose", e.machine, replace(runBody(e.system, e.location[:1], "auth-1"), `"criminal_investigation"`, `"find Bob"`), 400, ombud.CodeInvalid, ""},
		{"an unknown field", e.machine, replace(runBody(e.system, e.location[:1], "auth-1"), `"system"`, `"owner":"x","system"`), 400, ombud.CodeUnknownField, ""},
		{"a selection and a list", e.machine, replace(runBody(e.system, e.location[:1], "auth-1"), `"objects"`, `"selection":{"class":"location","subject":"plate:B-XY-123"},"objects"`), 400, ombud.CodeInvalid, ""},
		// The rest are decisions on the objects the run names: logged.
		{"a machine of another system", e.machine, runBody(other.ID, e.location[:1], "auth-1"), 403, ombud.CodeForbidden, reason.SystemMismatch},
		{"a class the system may not process", e.machine, runBody(e.system, []string{e.location[0], e.bio}, "auth-1"), 403, ombud.CodeForbidden, reason.ClassNotAllowed},
		{"an erased object", e.machine, runBody(e.system, []string{e.location[0], erased}, "auth-1"), 410, ombud.CodeGone, reason.ObjectErased},
		{"an unknown object", e.machine, runBody(e.system, []string{"nosuchobject0000"}, "auth-1"), 404, ombud.CodeNotFound, reason.ObjectUnknown},
		{"an unknown version", e.machine, replace(runBody(e.system, e.location[:1], "auth-1"), `"2.0"`, `"9.9"`), 404, ombud.CodeNotFound, reason.VersionUnknown},
		{"a selection without an authorization", e.machine, replace(runBody(e.system, e.location[:1], ""), `"objects":["`+e.location[0]+`"]`, `"selection":{"class":"location","subject":"plate:B-XY-123"}`), 403, ombud.CodeForbidden, reason.AuthMissing},
		{"a selection of nobody's records", e.machine, replace(runBody(e.system, e.location[:1], ""), `"objects":["`+e.location[0]+`"]`, `"selection":{"class":"general","subject":"plate:NOPE-1"}`), 404, ombud.CodeNotFound, reason.ObjectUnknown},
	} {
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/runs", tc.token, js, tc.body)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Reason != tc.reason {
			t.Errorf("%s: %d %+v, want %d %s %s", tc.name, resp.StatusCode, body.Error, tc.status, tc.code, tc.reason)
			continue
		}
		if tc.reason == "" {
			if e.Size(t) != before {
				t.Errorf("%s: a malformed request logged something", tc.name)
			}
			continue
		}
		idx, err := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
		if err != nil {
			t.Errorf("%s: no receipt", tc.name)
			continue
		}
		if b, ok := entryAt(t, e.Env, idx).(*entry.Run); !ok || b.Decision != entry.Deny || b.Reasons[0] != tc.reason || b.Use != 0 {
			t.Errorf("%s: the refusal's entry %+v", tc.name, b)
		}
	}
	// A selection's public entry says nothing of how many records a
	// subject has when the run is refused before the lookup.
	resp := e.Do(t, "POST", "/v1/runs", e.machine, js, replace(runBody(e.system, e.location[:1], ""), `"objects":["`+e.location[0]+`"]`, `"selection":{"class":"location","subject":"plate:B-XY-123"}`))
	idx, _ := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	resp.Body.Close()
	if b, ok := entryAt(t, e.Env, idx).(*entry.Run); !ok || b.Objects != 0 {
		t.Fatalf("a refused selection's entry: %+v", b)
	}
	// Sensitive objects without an authorization: a decision, logged.
	resp = e.Do(t, "POST", "/v1/runs", e.machine, js, runBody(e.system, e.location[:2], ""))
	body := decode[apiv1.ErrorBody](t, resp)
	if resp.StatusCode != 403 || body.Error.Reason != reason.AuthMissing || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("a sensitive run without authorization: %d %+v", resp.StatusCode, body.Error)
	}
	idx, _ = strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	if b, ok := entryAt(t, e.Env, idx).(*entry.Run); !ok || b.Decision != entry.Deny || b.Op != entry.OpStart || b.Objects != 2 {
		t.Fatalf("the refusal's entry: %+v", b)
	}
	// A retired version.
	if resp := e.Do(t, "POST", "/v1/systems/"+e.system+"/versions/2.0/retire", e.AdminToken, "", ""); resp.StatusCode != 200 {
		t.Fatalf("retire: %d", resp.StatusCode)
	}
	resp = e.Do(t, "POST", "/v1/runs", e.machine, js, runBody(e.system, []string{e.general}, ""))
	if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || body.Error.Reason != reason.VersionRetired || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("a run of a retired version: %d %+v", resp.StatusCode, body.Error)
	}
}

// TestRunReadsInBulk: a machine starts a run under an authorization (one
// use), streams its objects, each logged before it arrives and naming
// the run, resumes from a position without spending a use, and closes it
// with a summary; reads after the close and past the time limit are
// logged denials; only the run's machine or starter may read it.
func TestRunReadsInBulk(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-1", 1))
	ctx := t.Context()
	mc := e.client(t, e.machine)
	objects := e.location
	run, err := mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: "auth-1", Objects: objects})
	if err != nil {
		t.Fatal(err)
	}
	start, ok := entryAt(t, e.Env, run.Receipt).(*entry.Run)
	if !ok || start.Decision != entry.Permit || start.Objects != 5 || start.Use != 1 || start.ModelVersion != "2.0" || start.Until == "" ||
		strings.Join(start.Classes, ",") != "location" || start.Run == "" || start.Authorization == "" {
		t.Fatalf("the run entry: %+v", start)
	}
	// The authorization allowed one use: a second run is denied.
	if _, err := mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: "auth-1", Objects: e.location[:1]}); client.ErrorCode(err) != ombud.CodeForbidden {
		t.Fatalf("a second run on a one-use authorization: %v", err)
	}
	read := func(token string, from int) ([]*client.RunPart, [][]byte, error) {
		s, err := e.client(t, token).ReadRun(ctx, run.ID, from)
		if err != nil {
			return nil, nil, err
		}
		defer s.Close()
		var parts []*client.RunPart
		var bodies [][]byte
		for {
			p, err := s.Next()
			if errors.Is(err, io.EOF) {
				return parts, bodies, nil
			}
			if err != nil {
				return parts, bodies, err
			}
			b, err := io.ReadAll(p.Body)
			if err != nil {
				return parts, bodies, err
			}
			parts, bodies = append(parts, p), append(bodies, b)
		}
	}
	parts, bodies, err := read(e.machine, 0)
	if err != nil || len(parts) != 5 {
		t.Fatalf("the stream: %d parts, %v", len(parts), err)
	}
	for i, p := range parts {
		if p.Position != i || p.Object != objects[i] || p.Denied || p.Class != "location" {
			t.Fatalf("part %d: %+v", i, p)
		}
		if string(bodies[i]) != "position "+strconv.Itoa(i) {
			t.Fatalf("part %d holds %q", i, bodies[i])
		}
		a, ok := entryAt(t, e.Env, p.Receipt).(*entry.Access)
		if !ok || a.Decision != entry.Permit || a.Run != start.Run || a.Reasons[0] != reason.InRun || a.Use != 0 || a.Authorization != "" {
			t.Fatalf("part %d's entry: %+v", i, a)
		}
	}
	// HEAD, which would send nothing, is refused before anything is
	// decided, here and on the auditor's details.
	for _, path := range []string{"/v1/runs/" + run.ID + "/objects", "/v1/audit/details?from=0&to=1"} {
		before := e.Size(t)
		resp := e.Do(t, "HEAD", path, e.machine, "", "")
		resp.Body.Close()
		if resp.StatusCode != 405 || e.Size(t) != before {
			t.Fatalf("HEAD %s: %d, %d entries logged", path, resp.StatusCode, e.Size(t)-before)
		}
	}
	// Resuming spends no use, and reads from the position.
	parts, _, err = read(e.machine, 4)
	if err != nil || len(parts) != 1 || parts[0].Position != 4 {
		t.Fatalf("resumed at 4: %d parts, %v", len(parts), err)
	}
	if a, _ := e.Store.Authorization(ctx, "auth-1"); a.Uses != 1 {
		t.Fatalf("the authorization has %d uses spent", a.Uses)
	}
	// Nobody else reads it: another analyst, the admin.
	for _, tok := range []string{e.analyst, e.AdminToken} {
		if _, _, err := read(tok, 0); client.ErrorCode(err) != ombud.CodeNotFound && client.ErrorCode(err) != ombud.CodeForbidden {
			t.Fatalf("someone else reading the run: %v", err)
		}
	}
	// Close it twice at once: one close, logged with the counts.
	var wg sync.WaitGroup
	results := make([]error, 2)
	closed := make([]*apiv1.Run, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closed[i], results[i] = mc.CloseRun(ctx, run.ID)
		}()
	}
	wg.Wait()
	var sum *apiv1.Run
	for i, err := range results {
		switch {
		case err == nil:
			sum = closed[i]
		case client.ErrorCode(err) != ombud.CodeConflict:
			t.Fatalf("closing twice: %v", err)
		}
	}
	if sum == nil || (results[0] == nil) == (results[1] == nil) {
		t.Fatalf("closing twice at once: %v", results)
	}
	c, ok := entryAt(t, e.Env, sum.CloseReceipt).(*entry.Run)
	var size int64
	for _, b := range bodies {
		size += int64(len(b))
	}
	size += int64(len("position 4"))
	if !ok || c.Op != entry.OpClose || c.Read != 6 || c.Bytes != size || c.Reasons[0] != ombud.RunClosed || c.Run != start.Run {
		t.Fatalf("the close entry: %+v (want 6 objects, %d bytes)", c, size)
	}
	// A read after the close: a logged denial.
	_, _, err = read(e.machine, 0)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Reason != reason.RunClosed || ce.Receipt == nil {
		t.Fatalf("a read after the close: %v", err)
	}
	if a, ok := entryAt(t, e.Env, *ce.Receipt).(*entry.Access); !ok || a.Decision != entry.Deny || a.Run != start.Run {
		t.Fatalf("its entry: %+v", a)
	}
}

// TestRunTimeLimitAtTheEntry: a batch decided before the time limit whose
// entries are built after it logs no permit: the first object becomes the
// denial that ends the run.
func TestRunTimeLimitAtTheEntry(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	ac := e.client(t, e.analyst)
	objects := []string{e.general}
	for i := range 3 {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", Source: "cam-1", By: e.AdminID, Body: strings.NewReader("more " + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, o.ID)
	}
	run, err := ac.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Objects: objects})
	if err != nil {
		t.Fatal(err)
	}
	from := e.Size(t)
	e.logged.Store(int64(25 * time.Hour)) // the entries' clock only
	_, err = ac.ReadRun(ctx, run.ID, 0)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Reason != reason.RunTimeLimit || ce.Receipt == nil {
		t.Fatalf("a read whose entry is past the time limit: %v", err)
	}
	denials := 0
	for _, b := range entriesFrom(t, e.Env, from) {
		if a, ok := b.(*entry.Access); ok {
			if a.Decision == entry.Permit {
				t.Fatal("a permit logged past the run's time limit")
			}
			denials++
		}
	}
	if denials != 1 {
		t.Fatalf("%d denials for one ending decision", denials)
	}
}

// TestRunTimeLimit: a read past the run's time limit is a logged denial,
// and the run closes by itself with its summary.
func TestRunTimeLimit(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	ac := e.client(t, e.analyst)
	run, err := ac.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Objects: []string{e.general}})
	if err != nil {
		t.Fatal(err)
	}
	e.offset.Store(int64(25 * time.Hour))
	_, err = ac.ReadRun(ctx, run.ID, 0)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 410 || ce.Reason != reason.RunTimeLimit || ce.Receipt == nil {
		t.Fatalf("a read past the time limit: %v", err)
	}
	if a, ok := entryAt(t, e.Env, *ce.Receipt).(*entry.Access); !ok || a.Decision != entry.Deny || a.Reasons[0] != reason.RunTimeLimit {
		t.Fatalf("its entry: %+v", a)
	}
	// The run closes by itself, as the sweep would.
	n, err := e.Custody.CloseExpiredRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ac.Run(ctx, run.ID)
	if err != nil || got.Closed == nil || got.CloseReason != ombud.RunTimeLimit {
		t.Fatalf("after its time limit (%d closed now): %+v %v", n, got, err)
	}
}

// entriesFrom parses the log's entries from index from to its end.
func entriesFrom(t *testing.T, e *ombudtest.Env, from uint64) []entry.Body {
	t.Helper()
	size := e.Size(t)
	e.AwaitSize(t, size)
	leaves, err := e.Log.Leaves(t.Context(), from, size)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]entry.Body, len(leaves))
	for i, l := range leaves {
		en, err := entry.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = en.Body(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestRunConflicts runs each run operation against its conflicting twin
// at once: a start against the retirement of its version and against the
// revocation of its authorization; a stream against the run's close and
// against the erasure of one of its objects. Whatever the order, the log
// says what happened: no run after its version's retirement or its
// authorization's revocation, no read after the close, no read of an
// object after its erasure.
func TestRunConflicts(t *testing.T) {
	t.Parallel()
	const rounds = 4
	var auths []ombud.Authorization
	for i := range rounds {
		auths = append(auths, ombudtest.Authorization("auth-"+strconv.Itoa(i), 10))
	}
	e := newRunEnv(t, auths...)
	ctx := t.Context()
	mc := e.client(t, e.machine)
	from := e.Size(t)
	// A start against a revocation.
	for i := range rounds {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: "auth-" + strconv.Itoa(i), Objects: e.location})
		}()
		go func() {
			defer wg.Done()
			resp := e.Do(t, "POST", "/v1/authorizations/auth-"+strconv.Itoa(i)+"/revoke", e.AdminToken, "application/json", `{"reason":"order_quashed"}`)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("revoke: %d", resp.StatusCode)
			}
		}()
		wg.Wait()
	}
	revoked := map[string]bool{}
	for _, b := range entriesFrom(t, e.Env, from) {
		switch b := b.(type) {
		case *entry.Authorization:
			if b.Op == entry.OpRevoke {
				revoked[b.Authorization] = true
			}
		case *entry.Run:
			if b.Decision == entry.Permit && revoked[b.Authorization] {
				t.Fatalf("a run started after its authorization's revocation")
			}
		}
	}
	// A start against the retirement of its version (a second version
	// keeps the system in service).
	from = e.Size(t)
	resp := e.Do(t, "POST", "/v1/systems/"+e.system+"/versions", e.AdminToken, "application/json", `{"model":"anpr","version":"2.1","accuracy":{"threshold":0.9}}`)
	resp.Body.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Objects: []string{e.general}})
	}()
	go func() {
		defer wg.Done()
		resp := e.Do(t, "POST", "/v1/systems/"+e.system+"/versions/2.0/retire", e.AdminToken, "", "")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("retire: %d", resp.StatusCode)
		}
	}()
	wg.Wait()
	retired := false
	for _, b := range entriesFrom(t, e.Env, from) {
		switch b := b.(type) {
		case *entry.Analytic:
			retired = retired || (b.Op == entry.OpRetire && b.ModelVersion == "2.0")
		case *entry.Run:
			if b.Decision == entry.Permit && retired {
				t.Fatal("a run started after its version's retirement")
			}
		}
	}
	// A stream against the close, and against an erasure: the reader
	// stops after the first object while both happen, then reads on.
	const n = 128
	ids := make([]string, n)
	var next atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				// 512 KiB each, 64 MiB in all: twice the plaintext a
				// stream holds decided and not yet sent (custody's budget,
				// 32 MiB), so the paused reader holds the server back
				// midway. Fewer objects than a stream's batches would need
				// to the same end: each ingest is a durable change.
				o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", Source: "cam-1", By: e.AdminID, Body: strings.NewReader(strings.Repeat("r", 512<<10))})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	resp = e.Do(t, "POST", "/v1/systems/"+e.system+"/versions", e.AdminToken, "application/json", `{"model":"anpr","version":"3.0","accuracy":{"threshold":0.9}}`)
	resp.Body.Close()
	from = e.Size(t)
	run, err := mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "3.0", Purpose: "criminal_investigation", Objects: ids})
	if err != nil {
		t.Fatal(err)
	}
	s, err := mc.ReadRun(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, first.Body)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := mc.CloseRun(ctx, run.ID); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		resp := e.Do(t, "POST", "/v1/objects/"+ids[3]+"/erase", e.AdminToken, "application/json", `{"reason":"court_order","authorization":"auth-0"}`)
		resp.Body.Close()
	}()
	wg.Wait()
	var last *client.RunPart
	for {
		p, err := s.Next()
		if err != nil {
			break
		}
		last = p
		io.Copy(io.Discard, p.Body)
	}
	s.Close()
	closed, erasedObj := false, false
	erasedPs := e.Dir.Linkage.Pseudonym("object", ids[3])
	permits := 0
	for _, b := range entriesFrom(t, e.Env, from) {
		switch b := b.(type) {
		case *entry.Run:
			if b.Op == entry.OpClose {
				closed = true
			}
		case *entry.Erase:
			erasedObj = erasedObj || b.Object == erasedPs
		case *entry.Access:
			if b.Decision != entry.Permit {
				continue
			}
			permits++
			if closed {
				t.Fatal("a read in the run after its close entry")
			}
			if erasedObj && b.Object == erasedPs {
				t.Fatal("a read of an object after its erase entry")
			}
		}
	}
	if !closed || permits == 0 || permits > n {
		t.Fatalf("closed %v, %d reads", closed, permits)
	}
	if permits < n && (last == nil || !last.Denied || last.Reason != reason.RunClosed) {
		t.Fatalf("the stream's last part after the close: %+v", last)
	}
	t.Logf("%d of %d objects read before the close", permits, len(ids))
}

// TestRunLargeObjects: objects of several Tink segments stream through a
// run whole and verified, beside small ones.
func TestRunLargeObjects(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: three segments
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", Source: "cam-1", By: e.AdminID, Body: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	ac := e.client(t, e.analyst)
	run, err := ac.StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Objects: []string{o.ID, e.general}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ac.ReadRun(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got [][]byte
	for {
		p, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if len(got) != 2 || !bytes.Equal(got[0], big) || string(got[1]) != "a general record" {
		t.Fatalf("%d parts; the large one %d bytes", len(got), len(got[0]))
	}
}

// TestStarterDisableOrdersRunReads: an analyst's run read by its system's
// machine, over and over, while the analyst is disabled. The disabling
// waits for every batch decided before it to be logged, so no read of
// the run follows it in the log; the reads after it are refused.
func TestStarterDisableOrdersRunReads(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t, ombudtest.Authorization("auth-s", 10))
	ctx := t.Context()
	run, err := e.client(t, e.analyst).StartRun(ctx, apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: "auth-s", Objects: e.location})
	if err != nil {
		t.Fatal(err)
	}
	mc := e.client(t, e.machine)
	from := e.Size(t)
	var wg, reading sync.WaitGroup
	for range 4 {
		wg.Add(1)
		reading.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for range 200 {
				st, err := mc.ReadRun(ctx, run.ID, 0)
				if first {
					reading.Done()
					first = false
				}
				if err != nil {
					return
				}
				for {
					p, err := st.Next()
					if err != nil || p.Denied {
						break
					}
					io.Copy(io.Discard, p.Body)
				}
				st.Close()
			}
		}()
	}
	reading.Wait()
	analyst := e.Principal(t, e.analyst)
	w, err := e.Custody.DisablePrincipal(ctx, analyst.ID, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, b := range entriesFrom(t, e.Env, from) {
		if a, ok := b.(*entry.Access); ok && a.Run != "" && a.Decision == entry.Permit && from+uint64(i) > w.Index {
			t.Fatalf("entry %d reads run %s after its starter's disabling at entry %d", from+uint64(i), run.ID, w.Index)
		}
	}
}
