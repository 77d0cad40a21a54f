package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"

	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/poll"
)

// TestWitnessedGateway runs the whole chain from the command line: a
// witness key, 'ombud witness serve', a gateway whose config names that
// witness in its policy, and an audit that requires its cosignature.
func TestWitnessedGateway(t *testing.T) {
	work := t.TempDir()
	code, wvkey, errs := run(t, nil, "witness", "keygen", "--name", "witness.test/w1", "--dir", work)
	wvkey = strings.TrimSpace(wvkey)
	if code != 0 {
		t.Fatalf("witness keygen: %d %s", code, errs)
	}
	if _, err := fnote.NewVerifierForCosignatureV1(wvkey); err != nil || !strings.Contains(errs, "witness.test_w1.key") {
		t.Fatalf("witness keygen printed %q (%v); stderr %q", wvkey, err, errs)
	}
	keyFile := filepath.Join(work, "witness.test_w1.key")
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("witness key file: %v %v", st, err)
	}
	if code, _, _ := run(t, nil, "witness", "keygen", "--name", "witness.test/w1", "--dir", work); code == 0 {
		t.Fatal("keygen overwrote an existing key")
	}

	data := filepath.Join(work, "data")
	code, initOut, errs := run(t, nil, "init", "--data", data, "--origin", "gateway.test/log")
	if code != 0 {
		t.Fatalf("init: %s", errs)
	}
	admin := lastLine(initOut)
	pub, err := os.ReadFile(filepath.Join(data, "keys", "log.pub"))
	if err != nil {
		t.Fatal(err)
	}

	// The witness, in-process.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	var wout, werr syncBuffer
	wm := &Main{Stdout: &wout, Stderr: &werr, Getenv: func(string) string { return "" }, Ready: func(a string) { addrc <- a }}
	wdone := make(chan int, 1)
	go func() {
		wdone <- wm.Run(ctx, []string{"witness", "serve", "--key", keyFile, "--dir", filepath.Join(work, "wstate"), "--listen", "127.0.0.1:0",
			"--log", "gateway.test/log=" + strings.TrimSpace(string(pub))})
	}()
	var waddr string
	select {
	case waddr = <-addrc:
	case code := <-wdone:
		t.Fatalf("witness serve exited %d: %s", code, werr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("witness did not start")
	}

	// The gateway, told to publish only checkpoints the witness cosigned.
	policy := "witness w1 " + wvkey + " http://" + waddr + "/\nquorum w1\n"
	if err := os.WriteFile(filepath.Join(data, "witnesses.policy"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(data, "ombud.toml")
	cfg, _ := os.ReadFile(cfgPath)
	if !strings.Contains(string(cfg), `# witness_policy = "witnesses.policy"`) {
		t.Fatal("the default config does not document witness_policy")
	}
	os.WriteFile(cfgPath, []byte(strings.Replace(string(cfg), `# witness_policy = "witnesses.policy"`, `witness_policy = "witnesses.policy"`, 1)), 0o600)
	url, _, _ := serveInProcess(t, data)
	env := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": admin}
	if code, _, errs := run(t, env, "principal", "add", "--name", "Ada", "--role", "analyst"); code != 0 {
		t.Fatalf("principal add: %s", errs)
	}
	code, out, errs := run(t, env, "report", "publish", "--period", time.Now().UTC().Format("2006-01"))
	if code != 0 || !strings.Contains(out, "Published the report for") {
		t.Fatalf("report publish: %d %s %s", code, out, errs)
	}
	// The witness cosigns on the log's schedule; wait until an audit that
	// requires it passes.
	poll.Until(t, 10*time.Second, 50*time.Millisecond, "an audit requiring the witness to pass", func() bool {
		code, out, errs = run(t, nil, "audit", "--log", url, "--key", filepath.Join(data, "keys", "log.pub"), "--witness", wvkey)
		return code == 0 && strings.Contains(out, "cosignatures of witness.test/w1") && strings.Contains(out, "1 published reports, recomputed byte for byte")
	})
	// A static mirror of the tiles serves no reports: the logged report is
	// missing unless --reports names where the reports are.
	mirror := httptest.NewServer(http.StripPrefix("/mirror/log/", http.FileServer(http.Dir(filepath.Join(data, "log")))))
	defer mirror.Close()
	logPub := filepath.Join(data, "keys", "log.pub")
	if code, out, errs := run(t, nil, "audit", "--log", mirror.URL+"/mirror/log/", "--key", logPub); code != 3 || !strings.Contains(out, "report_missing") {
		t.Fatalf("audit of a static mirror: %d\n%s\n%s", code, out, errs)
	}
	for _, from := range []string{filepath.Join(data, "reports"), url} {
		if code, out, errs := run(t, nil, "audit", "--log", mirror.URL+"/mirror/log/", "--key", logPub, "--reports", from); code != 0 || !strings.Contains(out, "1 published reports, recomputed byte for byte") {
			t.Fatalf("audit of a static mirror --reports %s: %d\n%s\n%s", from, code, out, errs)
		}
	}
	if code, _, errs := run(t, nil, "audit", "--log", mirror.URL+"/mirror/log/", "--key", logPub, "--reports", filepath.Join(data, "nonexistent")); code != 2 || !strings.Contains(errs, "--reports") {
		t.Fatalf("audit --reports with a missing directory: %d %s", code, errs)
	}
	// The home page names the witness and when it cosigned the checkpoint.
	home := ombudtest.Get(t, url+"/")
	if !regexp.MustCompile(`<td>witness.test/w1</td><td><span class="ok">Yes</span></td><td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>`).Match(home) {
		t.Fatalf("the home page does not show the witness's cosignature:\n%s", home)
	}
	cancel()
	if code := <-wdone; code != 0 {
		t.Fatalf("witness serve exited %d: %s", code, werr.String())
	}
}

func TestWitnessServeBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"witness"},
		{"witness", "serve"},
		{"witness", "serve", "--key", "/nonexistent/key", "--log", "x"},
		{"witness", "keygen"},
		{"witness", "keygen", "--name", "bad name", "--dir", "."},
		{"authz", "keygen", "--name", "bad name"},
		{"authz", "keygen", "--name", "a+b"},
	} {
		if code, _, errs := run(t, nil, args...); code == 0 || !strings.HasPrefix(errs, "ombud: ") {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := progressBar(&b)
	p(500, 1000)
	p(1000, 1000)
	if !strings.Contains(b.String(), "[===============>") || !strings.Contains(b.String(), "100%  1000 / 1000 entries") {
		t.Fatalf("progress bar: %q", b.String())
	}
	if isTerminal(&b) {
		t.Fatal("a buffer is not a terminal")
	}
}
