package api_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/poll"
)

// logOnTmpfs runs a deployment whose log is on a tmpfs of size bytes that
// the test mounts, and returns the log's path. It needs root (CI runs as
// root); elsewhere it skips.
func logOnTmpfs(t *testing.T, size string, opts ...ombudtest.Option) (*ombudtest.Env, string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs as root)")
	}
	var logDir string
	opts = append(opts, ombudtest.Prepare(func(d *datadir.Dir) {
		logDir = d.LogPath()
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", logDir).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		// Registered before the deployment's own cleanup, so it runs after.
		t.Cleanup(func() { exec.Command("umount", "-l", logDir).Run() })
	}))
	return ombudtest.New(t, opts...), logDir
}

func mount(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v: %v: %s", args, err, out)
	}
}

// getStatus GETs path and returns its status and body.
func getStatus(t *testing.T, e *ombudtest.Env, path, token string, hdr map[string]string) (int, string) {
	t.Helper()
	resp := doObj(t, e, "GET", path, token, hdr, nil)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// await polls f for up to 10 s.
func await(t *testing.T, what string, f func() bool) {
	t.Helper()
	poll.Until(t, 10*time.Second, 50*time.Millisecond, what, f)
}

// TestLogFaults: with the log's filesystem read-only, or full, a read is
// refused with 503 log_unavailable and releases no byte, the gateway does
// not crash, /readyz answers 503 and /status says why; once the fault is
// fixed, it recovers on its own.
func TestLogFaults(t *testing.T) {
	t.Parallel()
	for _, fault := range []struct {
		name       string
		make, heal func(t *testing.T, logDir string)
	}{
		{"read-only", func(t *testing.T, d string) { mount(t, "-o", "remount,ro", d) }, func(t *testing.T, d string) { mount(t, "-o", "remount,rw", d) }},
		{"full", func(t *testing.T, d string) {
			// Fill what is left; dd stops at "no space left".
			exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(d, "filler"), "bs=64k").Run()
		}, func(t *testing.T, d string) { os.Remove(filepath.Join(d, "filler")) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			e, logDir := logOnTmpfs(t, "4m")
			ana := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst, ombud.RoleIngestor)
			put := doObj(t, e, "PUT", "/v1/objects", ana, map[string]string{"Ombud-Class": "general"}, strings.NewReader("the secret payload"))
			var o struct{ ID string }
			json.NewDecoder(put.Body).Decode(&o)
			read := map[string]string{"Ombud-Purpose": "audit_sample"}
			if code, body := getStatus(t, e, "/v1/objects/"+o.ID, ana, read); code != 200 || body != "the secret payload" {
				t.Fatalf("read before the fault: %d %q", code, body)
			}
			fault.make(t, logDir)
			for range 3 {
				code, body := getStatus(t, e, "/v1/objects/"+o.ID, ana, read)
				if code != 503 || !strings.Contains(body, string(ombud.CodeLogUnavailable)) || strings.Contains(body, "secret") {
					t.Fatalf("read during the fault: %d %s", code, body)
				}
			}
			if code, body := getStatus(t, e, "/readyz", "", nil); code != 503 || !strings.Contains(body, "not accepting appends") {
				t.Fatalf("/readyz during the fault: %d %s", code, body)
			}
			if _, page := getStatus(t, e, "/status", "", nil); !strings.Contains(page, "not accepting appends") {
				t.Fatalf("/status during the fault does not say so:\n%s", page)
			}
			fault.heal(t, logDir)
			await(t, "/readyz to recover", func() bool { code, _ := getStatus(t, e, "/readyz", "", nil); return code == 200 })
			if code, body := getStatus(t, e, "/v1/objects/"+o.ID, ana, read); code != 200 || body != "the secret payload" {
				t.Fatalf("read after the fault: %d %q", code, body)
			}
		})
	}
}

// TestReadyzWitnessUnmet: with the only witness gone, entries are still
// logged but no checkpoint is published; once that has lasted longer than
// log.witness_grace, /readyz answers 503 and /status says why.
func TestReadyzWitnessUnmet(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.Witnessed(), ombudtest.Config(func(c *datadir.Config) {
		c.Log.WitnessGrace = datadir.Duration{Duration: time.Second}
	}))
	if code, _ := getStatus(t, e, "/readyz", "", nil); code != 200 {
		t.Fatalf("/readyz with the witness up: %d", code)
	}
	e.WitnessDown[0].Store(true)
	e.AddPrincipal(t, "after the witness left", ombud.RoleAnalyst)
	await(t, "/readyz to report the unmet witness policy", func() bool {
		code, body := getStatus(t, e, "/readyz", "", nil)
		return code == 503 && strings.Contains(body, "witness policy is not met")
	})
	if _, page := getStatus(t, e, "/status", "", nil); !strings.Contains(page, "no checkpoint is being published") {
		t.Fatalf("/status does not say the checkpoint lags:\n%s", page)
	}
}
