package main

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/internal/poll"
	"github.com/ombud/ombud/tips"
)

// withTips returns a prepare function that turns the intake on for the
// oversight body's recipient, and writes its identity to a file.
func withTips(t *testing.T) (prepare func(dir string), identityFile string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	identityFile = filepath.Join(t.TempDir(), "oversight.key")
	if err := os.WriteFile(identityFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(dir string) {
		p := filepath.Join(dir, "ombud.toml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg := strings.Replace(string(b), "[tips]\nrecipients = []", "[tips]\nrecipients = [\""+id.Recipient().String()+"\"]", 1)
		if cfg == string(b) {
			t.Fatal("ombud.toml has no [tips] section to fill")
		}
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}, identityFile
}

// tipClient sends the intake's forms as a browser would, from the given
// loopback address with the given user agent.
type tipClient struct {
	base, agent string
	hc          *http.Client
}

func newTipClient(base, from, agent string) *tipClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	return &tipClient{base: base, agent: agent, hc: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}}
}

func (c *tipClient) post(t *testing.T, path, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// submit posts a multipart submission; files maps names to contents.
func (c *tipClient) submit(t *testing.T, path string, fields, files map[string]string) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, body := range files {
		w, _ := mw.CreateFormFile("files", name)
		io.WriteString(w, body)
	}
	mw.Close()
	return c.post(t, path, mw.FormDataContentType(), b.Bytes())
}

var (
	tipCodenameRE = regexp.MustCompile(`<code id="codename">([a-z -]+)</code>`)
	tipPromiseRE  = regexp.MustCompile(`(?s)<pre id="promise" class="break">(.*?)</pre>`)
)

// TestTipLeavesNothingInTheClear: a tip with marker strings in its
// message, a file's name and its content, its codename used to come back
// and follow up, from an address and a browser of its own, through a
// real 'ombud serve' at debug level. Afterwards, no marker, no codename,
// no address, no user agent and no time of day of the submissions is
// found anywhere in the data directory (the database and its journal,
// the log, the configuration), nor in anything the server wrote, in text
// or as a binary time. The sealed submission is found, as it should be.
func TestTipLeavesNothingInTheClear(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	init := exec.Command(bin, "init", "--data", dir, "--jurisdiction", "EU-DE")
	init.Env = append(os.Environ(), childEnv...)
	out, err := init.Output()
	if err != nil {
		t.Fatalf("ombud init: %v", err)
	}
	admin := lastLine(string(out))
	prepare, _ := withTips(t)
	prepare(dir)
	srv := startChild(t, bin, dir, "--log-level", "debug")
	env := map[string]string{"OMBUD_SERVER": srv.url, "OMBUD_TOKEN": admin}
	code, o, e := run(t, env, "principal", "add", "--name", "Oversight", "--role", "oversight")
	if code != 0 {
		t.Fatalf("principal add: %d %s %s", code, o, e)
	}
	oversight := lastLine(o)

	const (
		from  = "127.0.0.2"
		agent = "Mozilla/5.0 (X11; Linux x86_64) MarkerBrowser/99.7"
	)
	markers := []string{"MSG-7f3a-marker", "FILENAME-9b2c-marker", "BODY-4d1e-marker", "FOLLOW-2c8a-marker", "FOLLOWFILE-5e6f-marker"}
	// Nothing else happens in the seconds around the submissions: the
	// start's work is over.
	time.Sleep(2 * time.Second)
	start := time.Now()
	c := newTipClient(srv.url, from, agent)
	status, page := c.submit(t, "/tips", map[string]string{"message": "The vendor copies " + markers[0]}, map[string]string{markers[1] + ".pdf": "%PDF " + markers[2]})
	m := tipCodenameRE.FindStringSubmatch(page)
	if status != 200 || m == nil || tipPromiseRE.FindStringSubmatch(page) == nil {
		t.Fatalf("POST /tips: %d\n%s", status, page)
	}
	codename := m[1]
	if status, page := c.post(t, "/tips/open", "application/x-www-form-urlencoded", []byte(url.Values{"codename": {codename}}.Encode())); status != 200 || !strings.Contains(page, "Your report") {
		t.Fatalf("coming back: %d\n%s", status, page)
	}
	if status, page := c.submit(t, "/tips/followup", map[string]string{"codename": codename, "message": markers[3]}, map[string]string{"x.txt": markers[4]}); status != 200 {
		t.Fatalf("following up: %d\n%s", status, page)
	}
	end := time.Now()
	var tl apiv1.Tips
	if code, err := getJSON(srv.url+"/v1/tips", oversight, &tl); code != 200 || err != nil || len(tl.Tips) != 1 {
		t.Fatalf("GET /v1/tips: %d %v %+v", code, err, tl)
	}
	var tip apiv1.Tip
	if code, err := getJSON(srv.url+"/v1/tips/"+tl.Tips[0].ID, oversight, &tip); code != 200 || err != nil || len(tip.Messages) != 2 {
		t.Fatalf("GET /v1/tips/ID: %d %v %+v", code, err, tip)
	}
	// /metrics, which anyone may read, carries nothing that moves with a
	// submission: no runtime figures, no count of the intake's pages.
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"go_memstats", "process_cpu", " /tips"} {
		if bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics holds %q with the intake on", m)
		}
	}
	time.Sleep(3500 * time.Millisecond)
	// A graceful stop, well after the window searched: the database's journal is folded into it.
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()

	// What is searched: every file of the data directory, and everything
	// the server wrote.
	texts := map[string][]byte{"the server's output": []byte(srv.stdout.String() + srv.stderr.String())}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil {
				texts[p] = b
			}
		}
		return err
	})
	// The control: the sealed submission is in the database.
	sealed := false
	db, err := sql.Open("sqlite", filepath.Join(dir, "meta.db")+"?_pragma=query_only(1)")
	if err == nil {
		var b []byte
		if db.QueryRow(`SELECT sealed FROM tip_messages WHERE n = 1`).Scan(&b) == nil && len(b) > 0 {
			for _, f := range texts {
				sealed = sealed || bytes.Contains(f, b[len(b)-64:])
			}
		}
		db.Close()
	}
	if !sealed {
		t.Fatal("the control failed: the sealed submission is not found in the data directory")
	}
	// Nothing numbers the tips in arrival order.
	if db, err := sql.Open("sqlite", filepath.Join(dir, "meta.db")+"?_pragma=query_only(1)"); err == nil {
		for _, table := range []string{"tips", "tip_messages"} {
			if _, err := db.Exec(`SELECT rowid FROM ` + table); err == nil {
				t.Errorf("%s has a rowid, which numbers its rows in arrival order", table)
			}
		}
		db.Close()
	}

	forbidden := append(append([]string{}, markers...), codename, from, "MarkerBrowser")
	for s := start.Add(-time.Second).Truncate(time.Second); !s.After(end.Add(time.Second)); s = s.Add(time.Second) {
		u := s.UTC()
		forbidden = append(forbidden, u.Format("15:04:05"), u.Format("T15:04:05"), s.Local().Format("15:04:05"), strconv.FormatInt(s.Unix(), 10))
	}
	lo, hi := start.Add(-2*time.Second), end.Add(2*time.Second)
	for name, b := range texts {
		for _, f := range forbidden {
			if i := bytes.Index(b, []byte(f)); i >= 0 {
				t.Errorf("%s holds %q: …%s…", name, f, b[max(0, i-80):min(len(b), i+len(f)+80)])
			}
		}
		// Binary times: seconds in 4 bytes, milliseconds in 6 or 8, and
		// nanoseconds in 8, big-endian as SQLite writes integers.
		for i := 0; i+8 <= len(b); i++ {
			s4 := int64(binary.BigEndian.Uint32(b[i:]))
			ms6 := int64(binary.BigEndian.Uint64(append([]byte{0, 0}, b[i:i+6]...)))
			v8 := int64(binary.BigEndian.Uint64(b[i:]))
			switch {
			case s4 >= lo.Unix() && s4 <= hi.Unix():
				t.Errorf("%s holds a time in seconds of the submissions' at byte %d", name, i)
			case ms6 >= lo.UnixMilli() && ms6 <= hi.UnixMilli(), v8 >= lo.UnixMilli() && v8 <= hi.UnixMilli():
				t.Errorf("%s holds a time in milliseconds of the submissions' at byte %d", name, i)
			case v8 >= lo.UnixNano() && v8 <= hi.UnixNano():
				t.Errorf("%s holds a time in nanoseconds of the submissions' at byte %d", name, i)
			}
		}
	}
}

// TestClusterTips: a tip filed on one gateway is read and answered
// through the other, with the CLI and the oversight body's identity; the
// daily batch runs on whichever gateway holds the background lease; the
// source reads the answer on the first gateway again.
func TestClusterTips(t *testing.T) {
	prepare, identity := withTips(t)
	c, ctx := twoGatewaysWith(t, prepare)
	code, o, e := run(t, map[string]string{"OMBUD_SERVER": c.gateways[0].url, "OMBUD_TOKEN": c.admin}, "principal", "add", "--name", "Oversight", "--role", "oversight")
	if code != 0 {
		t.Fatalf("principal add: %d %s %s", code, o, e)
	}
	oversight := lastLine(o)
	src := newTipClient(c.gateways[0].url, "127.0.0.1", "test")
	status, page := src.submit(t, "/tips", map[string]string{"message": "Filed on the first gateway."}, map[string]string{"minutes.txt": "the meeting's minutes"})
	m := tipCodenameRE.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("POST /tips: %d\n%s", status, page)
	}
	codename := m[1]
	promiseFile := filepath.Join(t.TempDir(), "promise.txt")
	if pm := tipPromiseRE.FindStringSubmatch(page); pm == nil || os.WriteFile(promiseFile, []byte(html.UnescapeString(pm[1])), 0o600) != nil {
		t.Fatal("no promise to keep")
	}
	vkey := c.dd.VerifierKey
	if code, o, e := run(t, nil, "verify-receipt", promiseFile, "--key", vkey, "--server", c.gateways[1].url); code != 0 || !strings.Contains(o, "Not yet in the log") {
		t.Fatalf("verify-receipt of a promise not yet due: %d\n%s%s", code, o, e)
	}
	second := map[string]string{"OMBUD_SERVER": c.gateways[1].url, "OMBUD_TOKEN": oversight}
	code, o, e = run(t, second, "tips", "list")
	if code != 0 || !strings.Contains(o, ombud.Day(time.Now())) {
		t.Fatalf("tips list on the second gateway: %d\n%s%s", code, o, e)
	}
	id := strings.Fields(strings.Split(strings.TrimSpace(o), "\n")[1])[0]
	out := filepath.Join(t.TempDir(), "tip")
	code, o, e = run(t, second, "tips", "read", id, "--identity", identity, "--out", out)
	if code != 0 || !strings.Contains(o, "Filed on the first gateway.") {
		t.Fatalf("tips read on the second gateway: %d\n%s%s", code, o, e)
	}
	if b, err := os.ReadFile(filepath.Join(out, "1", "1-minutes.txt")); err != nil || string(b) != "the meeting's minutes" {
		t.Fatalf("the saved file: %q %v", b, err)
	}
	// Not answerable before its filing is logged.
	if code, _, e := run(t, second, "tips", "reply", id, "--op", "acknowledged", "--message", "Received."); code == 0 || !strings.Contains(e, "tip_pending") {
		t.Fatalf("a reply before the batch: %d %s", code, e)
	}
	// As if filed yesterday, and today's batch due now: the lease holder,
	// whichever gateway it is, logs it within a tick of its sweep.
	db, err := sql.Open("pgx", c.store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	yesterday, today := ombud.Day(time.Now().Add(-24*time.Hour)), ombud.Day(time.Now())
	for _, q := range []string{`UPDATE tips SET filed = $1`, `UPDATE tip_messages SET day = $1`} {
		if _, err := db.ExecContext(ctx, q, yesterday); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO tip_batches (day, due) VALUES ($1, 0) ON CONFLICT (day) DO UPDATE SET due = 0`, today); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 75*time.Second, 500*time.Millisecond, "the batch to log the tip", func() bool {
		var tip apiv1.Tip
		code, err := getJSON(c.gateways[1].url+"/v1/tips/"+id, oversight, &tip)
		return code == 200 && err == nil && tip.Logged
	})
	code, o, e = run(t, second, "tips", "reply", id, "--op", "acknowledged", "--message", "We received your report on the second gateway.")
	if code != 0 || !strings.Contains(o, "Acknowledged "+today) {
		t.Fatalf("tips reply on the second gateway: %d\n%s%s", code, o, e)
	}
	status, page = src.post(t, "/tips/open", "application/x-www-form-urlencoded", []byte(url.Values{"codename": {codename}}.Encode()))
	if status != 200 || !strings.Contains(html.UnescapeString(page), "We received your report on the second gateway.") {
		t.Fatalf("the source on the first gateway: %d\n%s", status, page)
	}
	var idx uint64
	if m := regexp.MustCompile(`log entry (\d+)`).FindStringSubmatch(o); m != nil {
		idx, _ = strconv.ParseUint(m[1], 10, 64)
	}
	c.awaitSize(t, idx)
	entries := c.entries(t)
	// The test moved the tip's day back, as a server that misdates a
	// submission would: its promise says another day, and is broken.
	if code, o, e := run(t, nil, "verify-receipt", promiseFile, "--key", vkey, "--server", c.gateways[0].url); code != 3 || !strings.Contains(e, "filed on "+yesterday) {
		t.Fatalf("verify-receipt of a promise whose record states another day: %d\n%s%s", code, o, e)
	}
	// The promise the log would have signed for the day the tip now has
	// is kept.
	p, err := tips.OpenPromise(mustRead(t, promiseFile), c.dd.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := time.Parse(time.DateOnly, yesterday)
	resigned, err := tips.SignPromise(tips.Promise{Commitment: p.Commitment, Filed: yesterday, LoggedBy: ombud.Day(y.AddDate(0, 0, tips.LoggedWithin))}, c.dd.Signer)
	if err != nil {
		t.Fatal(err)
	}
	keptFile := filepath.Join(t.TempDir(), "kept.txt")
	os.WriteFile(keptFile, resigned, 0o600)
	if code, o, e := run(t, nil, "verify-receipt", keptFile, "--key", vkey, "--server", c.gateways[0].url); code != 0 || !strings.Contains(o, "the promise was kept") {
		t.Fatalf("verify-receipt of a promise kept: %d\n%s%s", code, o, e)
	}
	// A promise the log signed and did not keep: reported by the auditor
	// and by verify-receipt.
	broken, err := tips.SignPromise(tips.Promise{Commitment: strings.Repeat("ab", 32), Filed: ombud.Day(time.Now().AddDate(0, 0, -10)),
		LoggedBy: ombud.Day(time.Now().AddDate(0, 0, -8))}, c.dd.Signer)
	if err != nil {
		t.Fatal(err)
	}
	brokenFile := filepath.Join(t.TempDir(), "broken.txt")
	os.WriteFile(brokenFile, broken, 0o600)
	if code, o, e := run(t, nil, "verify-receipt", brokenFile, "--key", vkey, "--server", c.gateways[0].url); code != 3 || !strings.Contains(e, "promise was broken") {
		t.Fatalf("verify-receipt of a broken promise: %d\n%s%s", code, o, e)
	}
	code, o, e = run(t, nil, "audit", "--log", c.gateways[0].url, "--key", vkey, "--tip-promise", brokenFile, "--tip-promise", keptFile, "--progress=false")
	if code != 3 || strings.Count(o+e, "tip_promise_broken") != 1 {
		t.Fatalf("the audit with a broken and a kept promise: %d\n%s%s", code, o, e)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.txt")
	os.WriteFile(tampered, bytes.Replace(broken, []byte("logged-by"), []byte("logged-by "), 1), 0o600)
	if code, _, _ := run(t, nil, "verify-receipt", tampered, "--key", vkey); code != 3 {
		t.Fatalf("verify-receipt of a tampered promise: %d", code)
	}
	var ops []string
	for _, en := range entries {
		if en.Kind == "tip" {
			ops = append(ops, fmt.Sprint(en.Fields["op"]))
		}
	}
	if strings.Join(ops, ",") != "filed,acknowledged" {
		t.Fatalf("the log's tip entries: %v", ops)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
