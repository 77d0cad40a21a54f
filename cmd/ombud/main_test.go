package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/internal/ombudtest"
)

// run executes the real Main with the given environment.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errs := run(t, nil, "init", "--data", dir, "--origin", "example.org/ombud")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	if tok := lastLine(out); !strings.HasPrefix(tok, "omb_") || len(tok) < 50 {
		t.Fatalf("last line of stdout is not the token: %q", tok)
	}
	for name, mode := range map[string]os.FileMode{"keys/log.key": 0o600, "keys/linkage.key": 0o600, "keys/kek.key": 0o600, "keys/log.pub": 0o644, "meta.db": 0o600, "ombud.toml": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "ombud.toml"))
	if !strings.Contains(string(cfg), "# ") || !strings.Contains(string(cfg), "batch_max_age") {
		t.Fatalf("config is not commented:\n%s", cfg)
	}
	// The token itself is stored nowhere in the directory.
	tok := lastLine(out)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(tok[len(tok)-43:])) {
				t.Errorf("%s holds the admin token", p)
			}
		}
		return nil
	})
	code, _, errs = run(t, nil, "init", "--data", dir)
	if code != 1 || !strings.Contains(errs, "refusing to overwrite") || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "ombud: ") {
		t.Fatalf("second init: %d %q", code, errs)
	}
}

// TestHelp: every command's --help shows its true synopsis (every flag
// it names exists, every required flag is in it) and a working example,
// which runs through the command's parser and checks; every group's help
// lists its commands.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		code, _, errs := run(t, nil, append(strings.Fields(c.name), "--help")...)
		if code != 0 || !strings.HasPrefix(errs, "Usage: "+c.synopsis()+"\n") || !strings.Contains(errs, "Example:\n  "+c.example+"\n") {
			t.Errorf("%s --help: exit %d, want the synopsis %q and the example:\n%s", c.name, code, c.synopsis(), errs)
		}
		m := &Main{Stderr: io.Discard, Getenv: func(string) string { return "" }}
		fs := m.flags(c)
		c.setup(m, fs)
		for _, w := range strings.Fields(c.usage) {
			if name, ok := strings.CutPrefix(strings.Trim(w, "[]|()"), "--"); ok && fs.Lookup(name) == nil {
				t.Errorf("%s: the synopsis names --%s, which the command does not have", c.name, name)
			}
		}
		for _, name := range c.need {
			if !strings.Contains(c.usage, "--"+name) {
				t.Errorf("%s: the synopsis leaves out the required --%s", c.name, name)
			}
		}
		words := shellWords(c.example)
		if len(words) < 1 || words[0] != "ombud" || !strings.HasPrefix(strings.Join(words[1:], " "), c.name) {
			t.Errorf("%s: the example %q does not run the command", c.name, c.example)
			continue
		}
		var errb bytes.Buffer
		check := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errb, Getenv: func(string) string { return "" }, check: true}
		if code := check.Run(context.Background(), words[1:]); code != 0 {
			t.Errorf("%s: the example does not parse (exit %d): %s\n%s", c.name, code, c.example, errb.String())
		}
	}
	for g := range groups {
		code, _, errs := run(t, nil, g, "--help")
		n := 0
		for _, c := range commands() {
			if strings.HasPrefix(c.name, g+" ") {
				n++
				if !strings.Contains(errs, c.synopsis()) {
					t.Errorf("%s --help does not list %s:\n%s", g, c.name, errs)
				}
			}
		}
		if code != 0 || n < 1 || !strings.HasPrefix(errs, "Usage: ombud "+g+" COMMAND") || !strings.Contains(errs, "Example:\n  ombud "+g+" ") {
			t.Errorf("%s --help: exit %d, %d commands, no synopsis or example:\n%s", g, code, n, errs)
		}
		if code, _, errs := run(t, nil, g); code != exitUsage || !strings.Contains(errs, "missing command") {
			t.Errorf("%s alone: exit %d %q", g, code, errs)
		}
	}
}

// shellWords splits an example as a POSIX shell would split its words:
// quotes group, $(…) stays as written, and a redirection ends it.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\n' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		case c == '>' || c == '|' || c == '&':
			return out
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// TestUsageErrors: wrong command lines exit 2 with one line naming the
// problem.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"init"}, {"init", "--data"}, {"serve", "--nope"}, {"verify-receipt"},
		{"principal", "add"}, {"principal", "frob"}, {"get", "a", "b", "--purpose", "x"}, {"receipt", "x"}} {
		code, _, errs := run(t, map[string]string{"OMBUD_TOKEN": "x"}, args...)
		if code != exitUsage || !strings.HasPrefix(lastLine(errs), "ombud: ") && len(args) > 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs := run(t, map[string]string{}, "principal", "list")
	if code != exitUsage || !strings.Contains(errs, "OMBUD_TOKEN") {
		t.Errorf("principal list without a token: %d %q", code, errs)
	}
}

// TestExitCodes: one scheme for every command, the one docs/CLI.md
// documents; each code is produced here (4 in TestServeOnUnwritableLog).
func TestExitCodes(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CLI.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## Exit codes\n")
	if !ok {
		t.Fatal("docs/CLI.md has no exit-code section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	documented := map[int]bool{}
	for _, line := range strings.Split(table, "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "| %d |", &n); err == nil {
			documented[n] = true
		}
	}
	codes := []int{exitOK, exitError, exitUsage, exitCheck, exitLogUnwritable}
	if len(documented) != len(codes) {
		t.Errorf("docs/CLI.md documents the exit codes %v; the program has %v", documented, codes)
	}
	for _, c := range codes {
		if !documented[c] {
			t.Errorf("exit code %d is not in docs/CLI.md", c)
		}
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.cedar"), filepath.Join(dir, "bad.cedar")
	os.WriteFile(good, []byte("permit (principal, action, resource);\n"), 0o644)
	os.WriteFile(bad, []byte("permit (principal, action, resource) when { context.nope("), 0o644)
	receipt, _ := os.ReadFile(filepath.Join("..", "..", "receipt", "testdata", "receipt.json"))
	tampered := filepath.Join(dir, "tampered.json")
	os.WriteFile(tampered, bytes.Replace(receipt, []byte(`"index":`), []byte(`"index":1`), 1), 0o644)
	pub := filepath.Join("..", "..", "receipt", "testdata", "log.pub")
	down := map[string]string{"OMBUD_TOKEN": "x", "OMBUD_SERVER": "http://127.0.0.1:1"}
	for _, tc := range []struct {
		want int
		env  map[string]string
		args []string
	}{
		{exitOK, nil, []string{"policy", "check", good}},
		{exitOK, nil, []string{"verify-receipt", filepath.Join("..", "..", "receipt", "testdata", "receipt.json"), "--key", pub}},
		{exitError, down, []string{"principal", "list"}},
		{exitError, nil, []string{"policy", "check", filepath.Join(dir, "missing.cedar")}},
		{exitError, nil, []string{"audit", "--log", "http://127.0.0.1:1", "--key", pub}},
		{exitUsage, nil, []string{"frobnicate"}},
		{exitUsage, nil, []string{"policy", "check", "--nope"}},
		{exitCheck, nil, []string{"policy", "check", bad}},
		{exitCheck, nil, []string{"verify-receipt", tampered, "--key", pub}},
	} {
		code, _, errs := run(t, tc.env, tc.args...)
		if code != tc.want {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.want, errs)
		}
		if code != exitOK && (strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "ombud: ")) {
			t.Errorf("%v: stderr is not one line: %q", tc.args, errs)
		}
	}
}

// serveInProcess runs 'ombud serve' through Main until the test ends.
func serveInProcess(t *testing.T, dir string) (url, token string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	var out, errb syncBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Ready: func(a string) { addrc <- a }}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"})
	}()
	select {
	case a := <-addrc:
		url = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		})
	}
	t.Cleanup(stop)
	return url, lastLine(out.String()), stop
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeTourAndGracefulShutdown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, admin, stop := serveInProcess(t, dir)
	if !strings.HasPrefix(admin, "omb_") {
		t.Fatalf("serve on an empty dir did not print the admin token last: %q", admin)
	}
	env := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": admin}
	code, out, errs := run(t, env, "principal", "add", "--name", "Ada", "--role", "analyst", "--role", "reviewer")
	if code != 0 || !strings.HasPrefix(lastLine(out), "omb_") {
		t.Fatalf("principal add: %d %s %s", code, out, errs)
	}
	tokFile := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tokFile, []byte(lastLine(out)+"\n"), 0o600)
	code, _, errs = run(t, map[string]string{"OMBUD_SERVER": url}, "principal", "add", "--name", "Eve", "--role", "admin", "--token-file", tokFile)
	if code != 1 || !strings.Contains(errs, "403 forbidden") {
		t.Fatalf("analyst adding an admin: %d %q", code, errs)
	}
	code, out, _ = run(t, env, "principal", "list")
	if code != 0 || !strings.Contains(out, "Ada") || !strings.Contains(out, "analyst,reviewer") {
		t.Fatalf("principal list: %d\n%s", code, out)
	}
	rfile := filepath.Join(t.TempDir(), "r.json")
	code, _, errs = run(t, env, "receipt", "2", "--out", rfile)
	if code != 0 {
		t.Fatalf("receipt: %d %s", code, errs)
	}
	pub := filepath.Join(dir, "keys", "log.pub")
	code, out, errs = run(t, nil, "verify-receipt", rfile, "--key", pub)
	if code != 0 || !strings.HasPrefix(out, "OK: entry 2 (principal") {
		t.Fatalf("verify-receipt: %d %s %s", code, out, errs)
	}
	keyText, _ := os.ReadFile(pub)
	if code, _, errs = run(t, nil, "verify-receipt", rfile, "--key", strings.TrimSpace(string(keyText))); code != 0 {
		t.Fatalf("verify-receipt with the key text: %d %s", code, errs)
	}
	// A receipt altered in one byte of its entry fails with exit 3.
	var r map[string]any
	raw, _ := os.ReadFile(rfile)
	json.Unmarshal(raw, &r)
	entry, _ := base64.StdEncoding.DecodeString(r["entry"].(string))
	entry[len(entry)/2] ^= 0x01
	r["entry"] = base64.StdEncoding.EncodeToString(entry)
	raw, _ = json.Marshal(r)
	os.WriteFile(rfile, raw, 0o644)
	code, _, errs = run(t, nil, "verify-receipt", rfile, "--key", pub)
	if code != 3 || !strings.HasPrefix(errs, "ombud: receipt does not verify") {
		t.Fatalf("tampered receipt: exit %d %q", code, errs)
	}
	// The public log verifies end to end.
	if code, out, errs := run(t, map[string]string{"OMBUD_SERVER": url}, "audit", "--key", pub); code != 0 || !strings.HasPrefix(out, "OK: log") {
		t.Fatalf("audit: %d %s %s", code, out, errs)
	}
	// With state, an auditor token and JSON: the second run resumes where
	// the first ended, and every detail record checks.
	code, out, errs = run(t, env, "principal", "add", "--name", "Oversight board", "--role", "auditor")
	if code != 0 {
		t.Fatalf("principal add auditor: %d %s", code, errs)
	}
	audTok := filepath.Join(t.TempDir(), "auditor.token")
	os.WriteFile(audTok, []byte(lastLine(out)), 0o600)
	state := filepath.Join(t.TempDir(), "audit-state")
	var rep struct {
		Size     uint64 `json:"checkpoint_size"`
		From     uint64 `json:"from"`
		Details  uint64 `json:"details_verified"`
		Findings []any  `json:"findings"`
	}
	for i := range 2 {
		code, out, errs = run(t, nil, "audit", "--log", url+"/log/", "--key", pub, "--state", state, "--token-file", audTok, "--json")
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Findings) != 0 {
			t.Fatalf("audit run %d: %d %s %s", i+1, code, out, errs)
		}
		if i == 0 && (rep.From != 0 || rep.Details == 0) || i == 1 && rep.From == 0 {
			t.Fatalf("audit run %d: from %d, %d details", i+1, rep.From, rep.Details)
		}
	}
	// The auditor-mode report of this month, written to a file only its
	// owner reads; it needs the auditor token.
	month := time.Now().UTC().Format("2006-01")
	arFile := filepath.Join(t.TempDir(), "auditor-report.json")
	code, out, errs = run(t, nil, "audit", "--log", url, "--key", pub, "--token-file", audTok, "--auditor-report", month, "--auditor-report-out", arFile)
	if code != 0 || !strings.Contains(out, "Auditor-mode report for "+month) || !regexp.MustCompile(`Detail records of the period: [1-9]\d* verified`).MatchString(out) {
		t.Fatalf("audit --auditor-report: %d\n%s\n%s", code, out, errs)
	}
	if st, err := os.Stat(arFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("auditor-mode report file: %v %v", st, err)
	}
	if b, _ := os.ReadFile(arFile); !strings.Contains(string(b), `"details_by_kind_and_status"`) || !strings.Contains(string(b), `"format": "ombud-report/v1"`) {
		t.Fatalf("auditor-mode report:\n%s", b)
	}
	for _, args := range [][]string{
		{"--auditor-report", month},                             // no token
		{"--auditor-report", "2026-13", "--token-file", audTok}, // no such month
		{"--auditor-report", month, "--token-file", audTok, "--band", "0"},
	} {
		code, _, errs := run(t, nil, append([]string{"audit", "--log", url, "--key", pub}, args...)...)
		if code != 2 || !strings.Contains(errs, "--") {
			t.Fatalf("audit %v: exit %d %s", args, code, errs)
		}
	}
	// Exit 3 on a violation (a witness that never cosigned), 1 when it
	// cannot verify at all.
	_, wkey, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
	if code, out, _ := run(t, nil, "audit", "--log", url, "--key", pub, "--witness", wkey); code != 3 || !strings.Contains(out, "witness_quorum") {
		t.Fatalf("audit with a witness that did not cosign: exit %d\n%s", code, out)
	}
	if code, _, errs := run(t, nil, "audit", "--log", "http://127.0.0.1:1", "--key", pub); code != 1 || !strings.Contains(errs, "could not verify") {
		t.Fatalf("audit of an unreachable log: exit %d %s", code, errs)
	}
	// Metrics from the log.
	m := ombudtest.Get(t, url+"/metrics")
	for _, name := range []string{"ombud_log_append_seconds", "ombud_log_batch_size", "ombud_log_queue_depth", "ombud_http_requests_total{code=\"403\""} {
		if !strings.Contains(string(m), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// Graceful shutdown flushes the log: the final checkpoint covers every
	// entry, including one appended just before the signal.
	if code, _, errs := run(t, env, "principal", "add", "--name", "Last", "--role", "auditor"); code != 0 {
		t.Fatal(errs)
	}
	stop()
	cp, err := os.ReadFile(filepath.Join(dir, "log", "checkpoint"))
	// 9: the build, the policy, the admin, Ada, the auditor, the
	// auditor's three logged detail reads (the first audit with state; the
	// auditor-mode run, once to check every detail and once for its
	// report), and Last.
	if err != nil || !strings.Contains(string(cp), "\n9\n") {
		t.Fatalf("checkpoint after shutdown: %q %v", cp, err)
	}
	// serve on an existing directory does not print a token again.
	_, again, _ := serveInProcess(t, dir)
	if strings.HasPrefix(again, "omb_") {
		t.Fatal("second start printed a token")
	}
}

// TestGetOutChecksTheFileFirst: get --out onto a file that exists fails
// before the read is asked for, so no decision is logged and no use spent.
func TestGetOutChecksTheFileFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, admin, _ := serveInProcess(t, dir)
	env := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": admin}
	code, out, errs := run(t, env, "principal", "add", "--name", "Ada", "--role", "analyst", "--role", "ingestor")
	if code != 0 {
		t.Fatalf("principal add: %d %s", code, errs)
	}
	env["OMBUD_TOKEN"] = lastLine(out)
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte("payload"), 0o600)
	code, out, errs = run(t, env, "put", in, "--class", "document")
	if code != 0 {
		t.Fatalf("put: %d %s", code, errs)
	}
	id := lastLine(out)
	var putEntry int
	fmt.Sscanf(out[strings.LastIndex(out, "log entry ")+len("log entry "):], "%d", &putEntry)
	exists := filepath.Join(t.TempDir(), "exists.bin")
	os.WriteFile(exists, []byte("keep me"), 0o600)
	if code, _, errs := run(t, env, "get", id, "--purpose", "audit_sample", "--out", exists); code != 1 || !strings.Contains(errs, "nothing was read") {
		t.Fatalf("get --out onto an existing file: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.bin")
	code, _, errs = run(t, env, "get", id, "--purpose", "audit_sample", "--out", fresh)
	if code != 0 {
		t.Fatalf("get --out: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(fresh); string(b) != "payload" {
		t.Fatalf("read %q", b)
	}
	// The refused get logged nothing: the next decision follows the put.
	if want := fmt.Sprintf("decision logged as entry %d", putEntry+1); !strings.Contains(errs, want) {
		t.Fatalf("%q does not say %q", errs, want)
	}
}

// TestServeOnUnwritableLog: serve on a log directory it cannot write exits
// 4 with a clear message, instead of crashing at its first append (root
// only: the test mounts the log read-only).
func TestServeOnUnwritableLog(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("a read-only bind mount needs root (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := run(t, nil, "init", "--data", dir); code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	logDir := filepath.Join(dir, "log")
	if out, err := exec.Command("mount", "--bind", "-o", "ro", logDir, logDir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	defer exec.Command("umount", logDir).Run()
	code, _, errs := run(t, nil, "serve", "--data", dir, "--listen", "127.0.0.1:0")
	if code != 4 || !strings.Contains(errs, "not writable") {
		t.Fatalf("serve on a read-only log: exit %d %q", code, errs)
	}
}
