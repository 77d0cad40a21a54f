package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunCommands drives a run from the command line: a system, objects,
// 'run start' from a file of ids, 'run fetch' into a directory (the
// objects written whole, a manifest with every receipt), a second fetch
// that resumes at the end and spends nothing, 'run status', 'run close',
// and a fetch after the close that fails with the run's reason.
func TestRunCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, admin, _ := serveInProcess(t, dir)
	env := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": admin}
	must := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	id := regexp.MustCompile(`(?:system|object|run) ([a-z0-9]{16})`)
	out := must(env, "system", "add", "--name", "plate-reader", "--vendor", "vendor-y", "--task", "plate_reading", "--class", "general",
		"--model", "anpr", "--version", "2.0", "--threshold", "0.9", "--accuracy-source", "vendor-y-datasheet")
	sys := id.FindStringSubmatch(out)[1]
	ingest := lastLine(must(env, "principal", "add", "--name", "cam", "--role", "ingestor"))
	analyst := lastLine(must(env, "principal", "add", "--name", "Ada", "--role", "analyst"))
	var ids []string
	tmp := t.TempDir()
	for i := range 5 {
		f := filepath.Join(tmp, fmt.Sprintf("o%d", i))
		os.WriteFile(f, []byte(fmt.Sprintf("record %d", i)), 0o600)
		out := must(map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": ingest}, "put", f, "--class", "general")
		ids = append(ids, id.FindStringSubmatch(out)[1])
	}
	list := filepath.Join(tmp, "ids")
	os.WriteFile(list, []byte("# the run's objects\n"+strings.Join(ids, "\n")+"\n"), 0o600)
	aenv := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": analyst}
	out = must(aenv, "run", "start", "--system", sys, "--version", "2.0", "--purpose", "criminal_investigation", "--objects-file", list)
	m := regexp.MustCompile(`Started run ([a-z0-9]{16}) over 5 objects`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("run start: %s", out)
	}
	runID := m[1]
	outDir := filepath.Join(tmp, "out")
	out = must(aenv, "run", "fetch", runID, "--out", outDir)
	if !strings.Contains(out, "Fetched 5 objects (40 bytes)") {
		t.Fatalf("run fetch: %s", out)
	}
	f, err := os.Open(filepath.Join(outDir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var line runManifest
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(filepath.Join(outDir, line.File))
		if err != nil || line.Position != n || line.Object != ids[n] || line.Decision != "permit" || line.Receipt == 0 || string(body) != fmt.Sprintf("record %d", n) {
			t.Fatalf("manifest line %d: %+v, %q %v", n, line, body, err)
		}
		n++
	}
	f.Close()
	if n != 5 {
		t.Fatalf("%d manifest lines", n)
	}
	// Run again: it resumes where it stopped, at the end.
	if out = must(aenv, "run", "fetch", runID, "--out", outDir); !strings.Contains(out, "Fetched 0 objects") {
		t.Fatalf("a second fetch: %s", out)
	}
	var st struct {
		Read  int64 `json:"read"`
		Bytes int64 `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(must(aenv, "run", "status", runID)), &st); err != nil || st.Read != 5 || st.Bytes != 40 {
		t.Fatalf("run status: %+v %v", st, err)
	}
	if out = must(aenv, "run", "close", runID); !strings.Contains(out, "5 objects read, 40 bytes") {
		t.Fatalf("run close: %s", out)
	}
	code, _, errs := run(t, aenv, "run", "fetch", runID, "--out", filepath.Join(tmp, "again"))
	if code != 1 || !strings.Contains(errs, "run_closed") {
		t.Fatalf("a fetch after the close: exit %d %q", code, errs)
	}
}
