package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/sharing"
)

// ExportConfig configures the export benchmark.
type ExportConfig struct {
	Dir string
	// SizeMiB is the size of the large object exported; Objects the
	// number of small objects (ObjectBytes each) exported beside a run's
	// bulk read of the same objects.
	SizeMiB     int
	Objects     int
	ObjectBytes int
	// Binary is the ombud executable the server runs from, as a child.
	Binary string
}

// ExportRound is one round of the export benchmark.
type ExportRound struct {
	// The large object: its export over HTTP into a file, beside the age
	// command-line tool encrypting the same plaintext into a file, in GB/s
	// (10^9 bytes of plaintext a second).
	ExportGBps float64 `json:"export_gbps"`
	AgeGBps    float64 `json:"age_cli_gbps"`
	Ratio      float64 `json:"ratio_to_age"`
	// The small objects: exported in one package, and read in one run's
	// stream, in objects a second.
	SmallExportPerSecond float64 `json:"small_export_objects_per_second"`
	SmallRunPerSecond    float64 `json:"small_run_objects_per_second"`
	SmallRatio           float64 `json:"small_ratio_to_run"`
	// The server's peak resident memory in each part (VmHWM, reset
	// before it): the large export, the small export, the run.
	LargeRSSMiB float64 `json:"large_export_peak_rss_mib"`
	// The CPU the large object's bytes cost, in core-seconds a GiB: the
	// server's (reading, checking, decrypting, sealing, sending), the
	// client's (receiving into the file) and the age CLI's (sealing from
	// a file into a file). Two cores give the export at most
	// 2 / (server + client) GiB a second.
	ServerCPUPerGiB float64 `json:"server_cpu_s_per_gib"`
	ClientCPUPerGiB float64 `json:"client_cpu_s_per_gib"`
	AgeCPUPerGiB    float64 `json:"age_cli_cpu_s_per_gib"`
	SmallRSSMiB     float64 `json:"small_export_peak_rss_mib"`
	RunRSSMiB       float64 `json:"run_peak_rss_mib"`
}

// ExportComparison is the JSON 'ombud bench export' prints.
type ExportComparison struct {
	Benchmark string        `json:"benchmark"`
	When      time.Time     `json:"when"`
	Config    string        `json:"config"`
	AgeCLI    string        `json:"age_cli"`
	Rounds    []ExportRound `json:"rounds"`
	Median    ExportRound   `json:"median"`
	// PeakRSSMiB is the server's highest peak resident memory (VmHWM)
	// in any part of any round: its exports and its runs.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// CompareExport measures, in one sitting, against an 'ombud serve' child
// with exports on: the export of one large object into a file, beside the
// age CLI encrypting its plaintext into a file; and the export of many
// small objects beside a run's bulk read of the same objects. Setup, in
// process, ingests the objects and registers a recipient, an authorization
// whose sharing scope names it, an analyst, and an analytic system.
func CompareExport(ctx context.Context, cfg ExportConfig, rounds int, progress io.Writer) (*ExportComparison, error) {
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format, a...)
		}
	}
	agePath, err := exec.LookPath("age")
	if err != nil {
		return nil, fmt.Errorf("the age command-line tool is the peer of this benchmark: %w (apt-get install age)", err)
	}
	ageVersion, _ := exec.Command(agePath, "--version").Output()
	work, err := os.MkdirTemp(cfg.Dir, "export-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	dir, err := datadir.Create(filepath.Join(work, "data"), datadir.CreateOptions{Origin: "bench.ombud/log", Jurisdiction: "EU-DE"})
	if err != nil {
		return nil, err
	}
	if err := enableSharing(dir.ConfigPath()); err != nil {
		return nil, err
	}
	plain := filepath.Join(work, "plain")
	size := int64(cfg.SizeMiB) << 20
	if err := writeRandom(plain, size); err != nil {
		return nil, err
	}
	say("setup: ingesting one object of %d MiB and %d of %d bytes\n", cfg.SizeMiB, cfg.Objects, cfg.ObjectBytes)
	st, err := setupExport(ctx, dir, cfg, plain, rounds, progress)
	if err != nil {
		return nil, err
	}
	c := &ExportComparison{Benchmark: "export", When: time.Now().UTC(), AgeCLI: strings.TrimSpace(string(ageVersion)),
		Config: fmt.Sprintf("one object of %d MiB, exported into a file, beside age -r encrypting its plaintext into a file; %d objects of %d bytes exported, beside a run's bulk read of them", cfg.SizeMiB, cfg.Objects, cfg.ObjectBytes)}
	hc := &http.Client{Timeout: time.Hour}
	out := filepath.Join(work, "out")
	var peak float64
	for i := range rounds {
		// Each round has a fresh server, so that the large export's peak
		// memory is its own, not the heap the small parts of the round
		// before left behind.
		srv, err := startServer(ctx, cfg.Binary, dir.Path, 0)
		if err != nil {
			return nil, err
		}
		pid := srv.cmd.Process.Pid
		stopped := false
		defer func() {
			if !stopped {
				srv.stop() // a round that failed
			}
		}()
		var r ExportRound
		os.Remove(out)
		resetPeakRSS(pid)
		gib := float64(size) / (1 << 30)
		self, child := selfCPU(), processCPU(pid)
		secs, err := timed(func() error {
			return exportTo(ctx, hc, srv.url, st.analyst, apiv1.StartExport{Recipient: st.recipient, Objects: []string{st.large}, Purpose: "criminal_investigation", Authorization: "bench-share"}, out)
		})
		if err != nil {
			return nil, fmt.Errorf("round %d, the large export: %w", i+1, err)
		}
		r.ServerCPUPerGiB, r.ClientCPUPerGiB = (processCPU(pid)-child).Seconds()/gib, (selfCPU()-self).Seconds()/gib
		r.ExportGBps = float64(size) / secs.Seconds() / 1e9
		r.LargeRSSMiB, _ = peakRSS(pid)
		os.Remove(out)
		secs, err = timed(func() error {
			cmd := exec.CommandContext(ctx, agePath, "-r", st.key, "-o", out, plain)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("age: %v: %s", err, b)
			}
			r.AgeCPUPerGiB = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / gib
			return nil
		})
		if err != nil {
			return nil, err
		}
		os.Remove(out)
		r.AgeGBps = float64(size) / secs.Seconds() / 1e9
		r.Ratio = r.ExportGBps / r.AgeGBps
		resetPeakRSS(pid)
		secs, err = timed(func() error {
			return exportTo(ctx, hc, srv.url, st.analyst, apiv1.StartExport{Recipient: st.recipient, Objects: st.small, Purpose: "criminal_investigation", Authorization: "bench-share"}, out)
		})
		if err != nil {
			return nil, fmt.Errorf("round %d, the small export: %w", i+1, err)
		}
		os.Remove(out)
		r.SmallExportPerSecond = float64(len(st.small)) / secs.Seconds()
		r.SmallRSSMiB, _ = peakRSS(pid)
		resetPeakRSS(pid)
		runSecs, _, err := streamRun(ctx, hc, srv.url, st.machine, st.system, st.small, cfg.ObjectBytes, func() {})
		if err != nil {
			return nil, fmt.Errorf("round %d, the run: %w", i+1, err)
		}
		r.SmallRunPerSecond = float64(len(st.small)) / runSecs
		r.RunRSSMiB, _ = peakRSS(pid)
		r.SmallRatio = r.SmallExportPerSecond / r.SmallRunPerSecond
		srv.stop()
		stopped = true
		peak = max(peak, r.LargeRSSMiB, r.SmallRSSMiB, r.RunRSSMiB)
		c.Rounds = append(c.Rounds, r)
		say("round %d/%d  large: export %.2f GB/s, age %.2f GB/s, ratio %.2f, peak %.0f MiB, cpu s/GiB server %.2f client %.2f age %.2f   small: export %.0f objects/s (peak %.0f MiB), run %.0f objects/s (peak %.0f MiB), ratio %.2f\n",
			i+1, rounds, r.ExportGBps, r.AgeGBps, r.Ratio, r.LargeRSSMiB, r.ServerCPUPerGiB, r.ClientCPUPerGiB, r.AgeCPUPerGiB, r.SmallExportPerSecond, r.SmallRSSMiB, r.SmallRunPerSecond, r.RunRSSMiB, r.SmallRatio)
	}
	med := func(f func(ExportRound) float64) float64 { return medianOf(c.Rounds, f) }
	c.Median = ExportRound{ExportGBps: med(func(r ExportRound) float64 { return r.ExportGBps }), AgeGBps: med(func(r ExportRound) float64 { return r.AgeGBps }),
		Ratio:           med(func(r ExportRound) float64 { return r.Ratio }),
		ServerCPUPerGiB: med(func(r ExportRound) float64 { return r.ServerCPUPerGiB }), ClientCPUPerGiB: med(func(r ExportRound) float64 { return r.ClientCPUPerGiB }),
		AgeCPUPerGiB:         med(func(r ExportRound) float64 { return r.AgeCPUPerGiB }),
		SmallExportPerSecond: med(func(r ExportRound) float64 { return r.SmallExportPerSecond }), SmallRunPerSecond: med(func(r ExportRound) float64 { return r.SmallRunPerSecond }),
		SmallRatio: med(func(r ExportRound) float64 { return r.SmallRatio }), LargeRSSMiB: med(func(r ExportRound) float64 { return r.LargeRSSMiB }),
		SmallRSSMiB: med(func(r ExportRound) float64 { return r.SmallRSSMiB }), RunRSSMiB: med(func(r ExportRound) float64 { return r.RunRSSMiB })}
	c.PeakRSSMiB = peak
	return c, nil
}

// resetPeakRSS resets a process's peak resident memory (VmHWM) to its
// current one, so that the next reading is of what follows (Linux).
func resetPeakRSS(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// enableSharing turns exports on in a data directory's configuration.
func enableSharing(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	on := bytes.Replace(b, []byte("[sharing]\nenabled = false"), []byte("[sharing]\nenabled = true"), 1)
	if bytes.Equal(on, b) {
		return fmt.Errorf("%s: no [sharing] section to turn on", path)
	}
	return os.WriteFile(path, on, 0o600)
}

// exportTo asks for an export and writes its package to path.
func exportTo(ctx context.Context, hc *http.Client, url, token string, in apiv1.StartExport, path string) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/exports", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(f, resp.Body, make([]byte, 1<<20))
	return err
}

// exportSetup is what setupExport made.
type exportSetup struct {
	large, system, machine, analyst, recipient, key string
	small                                           []string
}

// setupExport ingests the objects, in process, and registers what the
// exports and the runs need.
func setupExport(ctx context.Context, dir *datadir.Dir, cfg ExportConfig, plain string, rounds int, progress io.Writer) (*exportSetup, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer g.Close(context.WithoutCancel(ctx))
	svc := g.Custody
	admin, _, _, err := svc.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return nil, err
	}
	_, analystTok, _, err := svc.AddPrincipal(ctx, "analyst", []ombud.Role{ombud.RoleAnalyst}, admin.ID)
	if err != nil {
		return nil, err
	}
	sys, _, err := g.Analytics.Register(ctx, registry.System{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location"},
		Version: registry.Version{Version: "2.0", Model: "anpr", Accuracy: ombud.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}}}, admin.ID)
	if err != nil {
		return nil, err
	}
	_, machineTok, _, err := svc.AddSystemPrincipal(ctx, "anpr runner", sys.ID, admin.ID)
	if err != nil {
		return nil, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	key := id.Recipient().String()
	rc, _, err := g.Sharing.Register(ctx, sharing.Recipient{Name: "bench court", Category: "court", Jurisdiction: "EU-DE", Key: key}, admin.ID)
	if err != nil {
		return nil, err
	}
	if err := benchAuthorization(ctx, svc, admin.ID, 3*rounds+1, ombud.Authorization{ID: "bench-share", ShareRecipients: []string{rc.ID}}); err != nil {
		return nil, err
	}
	f, err := os.Open(plain)
	if err != nil {
		return nil, err
	}
	large, _, err := svc.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: admin.ID, Body: f})
	f.Close()
	if err != nil {
		return nil, err
	}
	small, _, err := ingestObjects(ctx, svc, admin.ID, cfg.Objects, cfg.ObjectBytes, "", progress)
	if err != nil {
		return nil, err
	}
	return &exportSetup{large: large.ID, small: small, system: sys.ID, machine: machineTok.Reveal(), analyst: analystTok.Reveal(), recipient: rc.ID, key: key}, nil
}
