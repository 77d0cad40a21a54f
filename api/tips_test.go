package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/tips"
)

// tipEnv is a deployment with a whistleblower intake: the oversight
// body's identity (off the server), an oversight principal, and clocks
// the test moves.
type tipEnv struct {
	*ombudtest.Env
	identity  *age.X25519Identity
	oversight string       // its token
	intake    atomic.Int64 // the intake's clock: filing days, the batch
	logged    atomic.Int64 // the journal's clock: entries' times
}

func newTipEnv(t *testing.T) *tipEnv {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e := &tipEnv{identity: id}
	e.Env = ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) {
		c.Tips.Recipients = []string{id.Recipient().String()}
		c.Tips.MaxBytes = 1 << 20
	}))
	e.Gateway.Tips.Now = func() time.Time { return time.Now().Add(time.Duration(e.intake.Load())) }
	e.Journal.Now = func() time.Time { return time.Now().Add(time.Duration(e.logged.Load())) }
	e.oversight = e.AddPrincipal(t, "Oversight desk", ombud.RoleOversight)
	return e
}

// tipForm sends a multipart form of fields and files (name → content) to
// path, as a browser would.
func (e *tipEnv) tipForm(t *testing.T, path string, fields map[string]string, files map[string]string) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}) {
		mw.WriteField(k, fields[k])
	}
	for name, body := range files {
		w, _ := mw.CreateFormFile("files", name)
		io.WriteString(w, body)
	}
	mw.Close()
	resp := e.Do(t, "POST", path, "", mw.FormDataContentType(), b.String())
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

var (
	codenameRE = regexp.MustCompile(`<code id="codename">([a-z -]+)</code>`)
	promiseRE  = regexp.MustCompile(`(?s)<pre id="promise" class="break">(.*?)</pre>`)
)

// fileTip files a tip through the public page and returns its codename
// and promise.
func (e *tipEnv) fileTip(t *testing.T, message string, files map[string]string) (string, []byte) {
	t.Helper()
	resp, page := e.tipForm(t, "/tips", map[string]string{"message": message}, files)
	c, p := codenameRE.FindStringSubmatch(page), promiseRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || c == nil || p == nil {
		t.Fatalf("POST /tips: %d\n%s", resp.StatusCode, page)
	}
	if len(resp.Cookies()) > 0 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the intake set cookies %v, or may be cached (%q)", resp.Cookies(), resp.Header.Get("Cache-Control"))
	}
	return c[1], []byte(html.UnescapeString(p[1]))
}

// openTip comes back with a codename.
func (e *tipEnv) openTip(t *testing.T, codename string) (int, string) {
	t.Helper()
	resp := e.Do(t, "POST", "/tips/open", "", "application/x-www-form-urlencoded", url.Values{"codename": {codename}}.Encode())
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// batch runs the intake's daily batch late in the day after the intake's
// clock's, as the sweep's lease holder does.
func (e *tipEnv) batch(t *testing.T) int {
	t.Helper()
	now := time.Now().Add(time.Duration(e.intake.Load()))
	next := now.UTC().Truncate(24 * time.Hour).Add(24*time.Hour + 23*time.Hour + 30*time.Minute)
	e.intake.Add(int64(next.Sub(now)))
	n, err := e.Gateway.Tips.Batch(t.Context())
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	return n
}

// reply seals text to the tip's reply key as the CLI does and sends it.
func (e *tipEnv) reply(t *testing.T, token, id, op, text string) *http.Response {
	t.Helper()
	resp := e.Do(t, "GET", "/v1/tips/"+id, token, "", "")
	tip := decode[apiv1.Tip](t, resp)
	var sealed bytes.Buffer
	if _, err := tips.SealReply(&sealed, tip.ReplyKey, text); err != nil {
		t.Fatal(err)
	}
	return e.Do(t, "POST", "/v1/tips/"+id+"/replies?op="+op, token, "application/age", sealed.String())
}

func (e *tipEnv) tips(t *testing.T) []apiv1.Tip {
	t.Helper()
	return decode[apiv1.Tips](t, e.Do(t, "GET", "/v1/tips", e.oversight, "", "")).Tips
}

// TestTipFlow: a tip filed on the public page is sealed to the oversight
// body, found again by its codename alone, logged in the next day's batch
// with its day for its time, answered by the oversight body with a reply
// only the codename opens, and followed up; every refusal logs nothing.
func TestTipFlow(t *testing.T) {
	t.Parallel()
	e := newTipEnv(t)
	const marker = "M4RK3R-vendor-copies-faces"
	codename, promise := e.fileTip(t, "The vendor "+marker+" every night.", map[string]string{"ledger.csv": "row," + marker})
	if words := strings.Fields(codename); len(words) != tips.CodenameWords {
		t.Fatalf("codename %q", codename)
	}
	p, err := tips.OpenPromise(promise, e.Dir.Verifier)
	if err != nil {
		t.Fatalf("the promise does not verify with the log's key: %v\n%s", err, promise)
	}
	today := ombud.Day(time.Now())
	if p.Filed != today || p.LoggedBy != time.Now().UTC().AddDate(0, 0, tips.LoggedWithin).Format(time.DateOnly) {
		t.Fatalf("promise %+v", p)
	}

	// The oversight body lists it; no one else may.
	ts := e.tips(t)
	if len(ts) != 1 || ts[0].Filed != today || ts[0].Logged || ts[0].ReplyKey != "" {
		t.Fatalf("tips: %+v", ts)
	}
	id := ts[0].ID
	for _, tc := range []struct {
		token  string
		status int
	}{{"", 401}, {e.AdminToken, 403}, {e.AddPrincipal(t, "Auditor", ombud.RoleAuditor), 403}} {
		for _, path := range []string{"/v1/tips", "/v1/tips/" + id, "/v1/tips/" + id + "/messages/1"} {
			if resp := e.Do(t, "GET", path, tc.token, "", ""); resp.StatusCode != tc.status {
				t.Errorf("GET %s as %q: %d, want %d", path, tc.token[:min(4, len(tc.token))], resp.StatusCode, tc.status)
			}
		}
		if resp := e.Do(t, "POST", "/v1/tips/"+id+"/replies?op=replied", tc.token, "application/age", "age-encryption.org/v1\n"); resp.StatusCode != tc.status {
			t.Errorf("a reply as %q: %d, want %d", tc.token[:min(4, len(tc.token))], resp.StatusCode, tc.status)
		}
	}

	// The sealed submission opens with the oversight body's identity
	// alone, and is what the promise commits to.
	resp := e.Do(t, "GET", "/v1/tips/"+id+"/messages/1", e.oversight, "", "")
	sealed, _ := io.ReadAll(resp.Body)
	if c, _ := tips.Commitment(bytes.NewReader(sealed)); c != p.Commitment || bytes.Contains(sealed, []byte(marker)) {
		t.Fatalf("message 1: commitment %s, promise %s; holds the marker: %v", c, p.Commitment, bytes.Contains(sealed, []byte(marker)))
	}
	o, err := tips.Open(bytes.NewReader(sealed), []age.Identity{e.identity}, 1<<20)
	if err != nil || !strings.Contains(o.Message, marker) || len(o.Files) != 1 || o.Files[0].Name != "files/1-ledger.csv" {
		t.Fatalf("opened: %+v, %v", o, err)
	}

	// Before its filing is logged, no answer: it would date the tip.
	before := e.Size(t)
	r := e.reply(t, e.oversight, id, ombud.TipAcknowledged, "Received.")
	if body := decode[apiv1.ErrorBody](t, r); r.StatusCode != 409 || body.Error.Reason != reason.TipPending || e.Size(t) != before {
		t.Fatalf("an answer before the batch: %d %+v", r.StatusCode, body.Error)
	}
	if resp := e.Do(t, "GET", "/v1/tips/receipt/"+p.Commitment, "", "", ""); resp.StatusCode != 404 {
		t.Fatalf("the receipt of a submission not yet logged: %d", resp.StatusCode)
	}

	// The batch of the next day logs it, with its day for its time.
	if n := e.batch(t); n != 1 {
		t.Fatalf("the batch logged %d, want 1", n)
	}
	if n := e.batch(t); n != 0 {
		t.Fatalf("a second batch logged %d, want 0", n)
	}
	rc := decode[receipt.Receipt](t, e.Do(t, "GET", "/v1/tips/receipt/"+p.Commitment, "", "", ""))
	if _, ent, err := receipt.Verify(&rc, e.Dir.Verifier); err != nil || ent.Kind != entry.KindTip || ent.Fields["commitment"] != p.Commitment ||
		ent.Fields["op"] != entry.OpFiled || ent.Time.Format(time.RFC3339Nano) != today+"T00:00:00Z" {
		t.Fatalf("the filing's receipt: %v %+v", err, ent)
	}
	filedRef := e.Entry(t, rc.Index).Refs["tip"]

	// Bad replies are refused, and log nothing.
	before = e.Size(t)
	for _, tc := range []struct {
		name, op, body string
		status         int
	}{
		{"not sealed", "replied", "We received it.", 400},
		{"plaintext behind the age line", "acknowledged", "age-encryption.org/v1\nNOT REALLY AGE, plaintext", 400},
		{"an unknown op", "closed", "age-encryption.org/v1\n", 400},
		{"too large", "replied", "age-encryption.org/v1\n" + strings.Repeat("x", tips.MaxSealedReply), 413},
	} {
		if resp := e.Do(t, "POST", "/v1/tips/"+id+"/replies?op="+tc.op, e.oversight, "application/age", tc.body); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	var elsewhere bytes.Buffer
	tips.SealReply(&elsewhere, e.identity.Recipient().String(), "x")
	if resp := e.Do(t, "POST", "/v1/tips/nosuchtip0000000/replies?op=replied", e.oversight, "application/age", elsewhere.String()); resp.StatusCode != 404 {
		t.Errorf("a reply to no tip: %d", resp.StatusCode)
	}
	if e.Size(t) != before {
		t.Fatalf("refused replies logged %d entries", e.Size(t)-before)
	}

	// The acknowledgment, logged by the tip's pseudonym.
	r = e.reply(t, e.oversight, id, ombud.TipAcknowledged, "We received your report and are looking into it.")
	after := decode[apiv1.Tip](t, r)
	if after.Acknowledged != today || !after.Logged {
		t.Fatalf("after the acknowledgment: %+v", after)
	}
	var idx uint64
	fmt.Sscan(r.Header.Get("Ombud-Receipt"), &idx)
	ack := e.Entry(t, idx)
	if ack.Fields["op"] != entry.OpAcknowledged || !slices.Equal(ack.Refs["tip"], filedRef) || ack.Refs["by"] == nil {
		t.Fatalf("the acknowledgment's entry: %+v (filed ref %v)", ack, filedRef)
	}

	// The source comes back and reads it, then follows up.
	status, page := e.openTip(t, strings.ToUpper(codename))
	if status != 200 || !strings.Contains(page, "We received your report and are looking into it.") || strings.Contains(page, marker) {
		t.Fatalf("coming back: %d\n%s", status, page)
	}
	resp, page = e.tipForm(t, "/tips/followup", map[string]string{"codename": codename, "message": "One more thing."}, nil)
	fp := promiseRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || fp == nil || !strings.Contains(page, "Your follow-up") {
		t.Fatalf("the follow-up: %d\n%s", resp.StatusCode, page)
	}
	if codenameRE.MatchString(page) {
		t.Fatal("a follow-up shows a new codename")
	}
	full := decode[apiv1.Tip](t, e.Do(t, "GET", "/v1/tips/"+id, e.oversight, "", ""))
	if len(full.Messages) != 3 || full.Messages[2].Op != ombud.TipFollowedUp || full.Messages[2].Logged {
		t.Fatalf("the thread: %+v", full.Messages)
	}
	if n := e.batch(t); n != 1 {
		t.Fatalf("the follow-up's batch logged %d", n)
	}
	fu := decode[apiv1.Tip](t, e.Do(t, "GET", "/v1/tips/"+id, e.oversight, "", "")).Messages[2]
	if got := e.Entry(t, fu.Index); got.Fields["op"] != entry.OpFollowedUp || !slices.Equal(got.Refs["tip"], filedRef) {
		t.Fatalf("the follow-up's entry: %+v", got)
	}

	// A wrong codename, well formed or not, is answered alike; past the
	// limit it is refused, and the right one still opens.
	other, _ := tips.NewCodename()
	s1, p1 := e.openTip(t, other)
	s2, p2 := e.openTip(t, "not even words")
	if s1 != 404 || s2 != 404 || p1 != p2 {
		t.Fatalf("wrong codenames answered differently: %d %d\n%s\n%s", s1, s2, p1, p2)
	}
	if resp, page := e.tipForm(t, "/tips/followup", map[string]string{"codename": other, "message": "x"}, nil); resp.StatusCode != 404 || strings.Contains(page, "promise") && promiseRE.MatchString(page) {
		t.Fatalf("a follow-up with a wrong codename: %d", resp.StatusCode)
	}
	limited := false
	for range 40 {
		if s, _ := e.openTip(t, "wrong codename"); s == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("wrong codenames are not limited")
	}
	if s, _ := e.openTip(t, codename); s != 200 {
		t.Fatalf("the right codename past the limit: %d", s)
	}

	// Bad forms: empty, too large, from another site.
	if resp, _ := e.tipForm(t, "/tips", map[string]string{"message": "  "}, nil); resp.StatusCode != 400 {
		t.Errorf("an empty submission: %d", resp.StatusCode)
	}
	if resp, _ := e.tipForm(t, "/tips", map[string]string{"message": "big"}, map[string]string{"big.bin": strings.Repeat("x", 1<<20+1)}); resp.StatusCode != 413 {
		t.Errorf("a submission over the limit: %d", resp.StatusCode)
	}
	if resp := e.Do(t, "POST", "/tips", "", "application/x-www-form-urlencoded", "message=hi"); resp.StatusCode != 400 {
		t.Errorf("a form that is not multipart: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.URL+"/tips/open", strings.NewReader("codename=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("a post from another site: %v %v", resp.StatusCode, err)
	}
	if n := len(e.tips(t)); n != 1 {
		t.Fatalf("refused submissions left %d tips", n)
	}
	// The receipt checker reads the promise: kept.
	cr := e.Do(t, "POST", "/receipt", "", "application/x-www-form-urlencoded", url.Values{"receipt": {string(promise)}}.Encode())
	if b, _ := io.ReadAll(cr.Body); cr.StatusCode != 200 || !strings.Contains(string(b), "The promise was kept") {
		t.Fatalf("the receipt checker on the promise: %d\n%s", cr.StatusCode, b)
	}
	// The intake is not counted in the metrics.
	for _, line := range strings.Split(string(ombudtest.Get(t, e.URL+"/metrics")), "\n") {
		if strings.Contains(strings.ReplaceAll(line, "/v1/tips", ""), "/tips") {
			t.Fatalf("/metrics counts the intake: %s", line)
		}
	}
}

// TestTipProofWithXMod: a source's promise of filing, and the inclusion
// of its tip entry, verified with golang.org/x/mod/sumdb alone: the
// promise and the checkpoint with note, the entry found in the served
// entry bundles by its commitment, its inclusion proven from the served
// tiles with tlog.
func TestTipProofWithXMod(t *testing.T) {
	t.Parallel()
	e := newTipEnv(t)
	e.fileTip(t, "first", nil)
	_, promise := e.fileTip(t, "second", nil)
	e.batch(t)
	e.AddPrincipal(t, "after", ombud.RoleAnalyst)
	e.AwaitSize(t, e.Size(t))

	v, err := note.NewVerifier(strings.TrimSpace(string(get(t, e.URL+"/log/key"))))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(promise, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the promise with x/mod's note: %v", err)
	}
	var commitment string
	for _, line := range strings.Split(n.Text, "\n") {
		if c, ok := strings.CutPrefix(line, "commitment "); ok {
			commitment = c
		}
	}
	tree := checkpoint(t, get(t, e.URL+"/log/checkpoint"), v)
	leaves := bundleLeaves(t, e.URL, tree.N)
	found := int64(-1)
	for i, l := range leaves {
		var en struct {
			Kind   string            `json:"kind"`
			Time   string            `json:"time"`
			Fields map[string]string `json:"fields"`
		}
		if json.Unmarshal(l, &en) == nil && en.Kind == "tip" && en.Fields["commitment"] == commitment {
			if !strings.HasSuffix(en.Time, "T00:00:00Z") {
				t.Fatalf("the tip entry names a time of day: %s", en.Time)
			}
			found = int64(i)
		}
	}
	if found < 0 {
		t.Fatalf("no entry of %d holds the commitment %s", len(leaves), commitment)
	}
	rp, err := tlog.ProveRecord(tree.N, found, tlog.TileHashReader(tree, tileReader{t, e.URL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(rp, tree.N, tree.Hash, found, tlog.RecordHash(leaves[found])); err != nil {
		t.Fatalf("the tip entry's inclusion: %v", err)
	}
}

// TestTipDeadlines: with a clock the test moves, one tip left
// unacknowledged past 7 days is counted by the report and reported by the
// auditor, from the public entries alone; the one acknowledged in time is
// neither.
func TestTipDeadlines(t *testing.T) {
	t.Parallel()
	e := newTipEnv(t)
	e.fileTip(t, "acknowledged in time", nil)
	e.fileTip(t, "never acknowledged", nil)
	filed := time.Now().UTC().Truncate(24 * time.Hour)
	if n := e.batch(t); n != 2 {
		t.Fatalf("the batch logged %d", n)
	}
	ts := e.tips(t)
	e.logged.Store(int64(26 * time.Hour)) // answered the day after the batch
	if r := e.reply(t, e.oversight, ts[0].ID, ombud.TipAcknowledged, "Received."); r.StatusCode != 200 {
		t.Fatalf("the acknowledgment: %d", r.StatusCode)
	}
	due := ombud.TipAckDue(ombud.Day(filed))
	period := report.Period{Name: "due", Start: filed, End: filed.AddDate(0, 0, 14)}
	compute := func() *report.Report {
		t.Helper()
		size := e.Size(t)
		e.AwaitSize(t, size)
		leaves, err := e.Log.Leaves(t.Context(), 0, size)
		if err != nil {
			t.Fatal(err)
		}
		return report.Compute(report.Options{Origin: "test", Period: period}, slices.Values(leaves))
	}
	if r := compute(); r.TipsNotAcknowledged != nil || r.Tips.N != 2 || len(r.TipsByMonth) != 1 {
		t.Fatalf("before the deadline: late %+v, tips %+v by month %+v", r.TipsNotAcknowledged, r.Tips, r.TipsByMonth)
	}
	// Nine days on, an entry past the deadline.
	e.logged.Store(int64(9 * 24 * time.Hour))
	e.AddPrincipal(t, "Later", ombud.RoleAnalyst)
	if r := compute(); r.TipsNotAcknowledged == nil || r.TipsNotAcknowledged.N != 1 {
		t.Fatalf("the report's late acknowledgments: %+v", r.TipsNotAcknowledged)
	}
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := audit.Run(t.Context(), audit.Config{Log: *f, Verifier: e.Dir.Verifier, Now: func() time.Time { return due.Add(24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	var late []audit.Finding
	for _, f := range res.Findings {
		switch f.Rule {
		case audit.RuleTipNotAcknowledged:
			late = append(late, f)
		case audit.RuleTipDated, audit.RuleTipUnknown, audit.RuleTimeBackwards:
			t.Errorf("finding %s: %s", f.Rule, f.Message)
		}
	}
	if len(late) != 1 {
		t.Fatalf("the auditor's late acknowledgments: %+v (all: %+v)", late, res.Findings)
	}
}

// TestOversightIsPrivileged: under the quorum, one admin alone cannot
// create a principal that reads and answers tips in the oversight body's
// name; its creation is logged with its role.
func TestOversightIsPrivileged(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("enables the quorum itself")
	}
	e := newTipEnv(t)
	e.AddPrincipal(t, "Second admin", ombud.RoleAdmin)
	if resp := e.Do(t, "POST", "/v1/quorum", e.AdminToken, "application/json", `{"enabled":true}`); resp.StatusCode != 200 {
		t.Fatalf("enabling the quorum: %d", resp.StatusCode)
	}
	before := e.Size(t)
	for _, roles := range []string{`["oversight"]`, `["auditor","oversight"]`} {
		resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", `{"name":"Desk","roles":`+roles+`}`)
		if body := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 403 || body.Error.Reason != "quorum_required" {
			t.Fatalf("an oversight principal %s by one admin: %d %+v", roles, resp.StatusCode, body.Error)
		}
	}
	if resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", `{"name":"Auditor","roles":["auditor"]}`); resp.StatusCode != 201 {
		t.Fatalf("an auditor by one admin: %d", resp.StatusCode)
	}
	if e.Size(t) != before+1 {
		t.Fatalf("the refusals logged %d entries", e.Size(t)-before-1)
	}
}

// TestTipBatchWithIntakeOff: a deployment whose intake is turned off
// still logs, in its daily batch, what the intake took before, as the
// promises say.
func TestTipBatchWithIntakeOff(t *testing.T) {
	t.Parallel()
	e := newTipEnv(t)
	e.intake.Store(int64(-24 * time.Hour)) // filed yesterday
	_, promise := e.fileTip(t, "filed before the intake was turned off", nil)
	p, err := tips.OpenPromise(promise, e.Dir.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	// Today's moment has come; the intake is off.
	if _, err := e.Store.TipBatchDue(t.Context(), ombud.Day(time.Now()), time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	e.Gateway.Tips = nil
	if n, err := e.Gateway.TipBatch(t.Context()); err != nil || n != 1 {
		t.Fatalf("the batch with the intake off: %d, %v", n, err)
	}
	if idx, ok, err := e.Store.TipIndex(t.Context(), p.Commitment); err != nil || !ok || e.Entry(t, idx).Fields["commitment"] != p.Commitment {
		t.Fatalf("the promise's record: %d %v %v", idx, ok, err)
	}
}
