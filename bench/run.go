package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tessera "github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/registry"
)

// RunConfig configures the bulk-read benchmark.
type RunConfig struct {
	Dir         string
	Objects     int
	ObjectBytes int
	// Binary is the ombud executable the server runs from, as a child
	// process, so that its peak memory is its own.
	Binary string
	// KeeperLatency delays every call of the server's KEK keeper, as a
	// remote KMS would (serve --keeper-latency).
	KeeperLatency time.Duration
	// ServerProfile, when set, is where the server writes a CPU profile of
	// its whole life (serve --cpuprofile).
	ServerProfile string
}

// RunRound is one round: ombud streaming a run's objects, and the bare
// appender appending as many entries.
type RunRound struct {
	Objects          int     `json:"objects"`
	Seconds          float64 `json:"seconds"`
	ObjectsPerSecond float64 `json:"objects_per_second"`
	BareSeconds      float64 `json:"bare_seconds"`
	BarePerSecond    float64 `json:"bare_entries_per_second"`
	Ratio            float64 `json:"ratio"`
	// The work floor (floorRead), measured in the same round.
	FloorSeconds   float64 `json:"floor_seconds"`
	FloorPerSecond float64 `json:"floor_objects_per_second"`
	RatioToFloor   float64 `json:"ratio_to_floor"`
	// CPU time per object, in microseconds (user and system, every
	// thread): the run's server and its client, the floor, the bare
	// appender.
	CPU CPUPerObject `json:"cpu_us_per_object"`
}

// CPUPerObject is the CPU time each part of a round spends per object,
// in microseconds.
type CPUPerObject struct {
	RunServer float64 `json:"run_server"`
	RunClient float64 `json:"run_client"`
	Floor     float64 `json:"floor"`
	Bare      float64 `json:"bare_appender"`
	// Ceiling is the most objects per second a run could reach on these
	// cores if it spent no CPU beyond the floor's work and the bare
	// appender's: cores × 10^6 ÷ (floor + bare).
	Ceiling float64 `json:"ceiling_objects_per_second"`
}

// RunComparison is the JSON 'ombud bench run' prints.
type RunComparison struct {
	Benchmark string     `json:"benchmark"`
	When      time.Time  `json:"when"`
	Config    string     `json:"config"`
	Rounds    []RunRound `json:"rounds"`
	// Medians of the rounds.
	ObjectsPerSecond float64 `json:"objects_per_second"`
	BarePerSecond    float64 `json:"bare_entries_per_second"`
	Ratio            float64 `json:"ratio"`
	// FloorPerSecond is the work floor's objects per second: the same
	// objects read from the same bucket, their keys unwrapped, checked
	// and decrypted in the benchmark's process with the run's parallelism,
	// with no log and no HTTP. RatioToFloor is the run's rate over it: what
	// the log and the wire cost beside the cryptography and the storage.
	FloorPerSecond float64 `json:"floor_objects_per_second"`
	RatioToFloor   float64 `json:"ratio_to_floor"`
	// CPU is the median of the rounds' CPU per object, and
	// CeilingRatio the ceiling's over the bare appender's rate: the most
	// a run's ratio could be with the floor's work and the log's.
	CPU          CPUPerObject `json:"cpu_us_per_object"`
	CeilingRatio float64      `json:"ceiling_ratio"`
	// PeakRSSMiB is the server process's peak resident memory over the
	// whole benchmark (VmHWM), start and setup included.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// KeeperLatency is the delay added to each call of the server's KEK
	// keeper; KeeperCalls counts the calls over the whole benchmark, the
	// server's start included (ombud_kek_calls_total).
	KeeperLatency string `json:"keeper_latency"`
	KeeperCalls   int64  `json:"keeper_calls"`
	Met           bool   `json:"met"`
}

// runWindow is how many appends the bare appender keeps in flight: what
// a run's stream keeps in flight (a few batches of custody's 256).
const runWindow = 1536

// CompareRun measures, in one run: a run's bulk read of N objects of
// ObjectBytes each, over HTTP on loopback from an 'ombud serve' child
// (each object's access entry logged before its bytes, the appends of a
// batch issued concurrently), beside a bare Tessera POSIX appender
// appending N leaves of the same size with the server's batching and the
// same number in flight. Setup ingests the objects in process first.
func CompareRun(ctx context.Context, cfg RunConfig, rounds int, progress io.Writer) (*RunComparison, error) {
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format, a...)
		}
	}
	work, err := os.MkdirTemp(cfg.Dir, "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	dir, err := datadir.Create(filepath.Join(work, "data"), datadir.CreateOptions{Origin: "bench.ombud/log", Jurisdiction: "EU-DE"})
	if err != nil {
		return nil, err
	}
	batchSize, batchAge := dir.Config.Log.BatchMaxSize, dir.Config.Log.BatchMaxAge.Duration
	say("setup: ingesting %d objects of %d bytes\n", cfg.Objects, cfg.ObjectBytes)
	ids, system, token, err := setupRun(ctx, dir, cfg, rounds, progress)
	if err != nil {
		return nil, err
	}
	var extra []string
	if cfg.ServerProfile != "" {
		extra = append(extra, "--cpuprofile", cfg.ServerProfile)
	}
	srv, err := startServer(ctx, cfg.Binary, dir.Path, cfg.KeeperLatency, extra...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	// The leaf the bare appender writes: an in-run access entry's size.
	leaf := runLeaf()
	c := &RunComparison{Benchmark: "run-bulk-read", When: time.Now().UTC(),
		Config: fmt.Sprintf("%d objects of %d bytes in one run; batches %d / %v; bare appender %d in flight, %d-byte leaves", cfg.Objects, cfg.ObjectBytes, batchSize, batchAge, runWindow, len(leaf))}
	hc := &http.Client{Timeout: 30 * time.Minute}
	perObject := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(cfg.Objects) }
	for i := range rounds {
		var cpu CPUPerObject
		// The run's CPU is counted from its stream's start, as its
		// seconds are: not the start of the run, which registers its list.
		var self, child time.Duration
		secs, runID, err := streamRun(ctx, hc, srv.url, token, system, ids, cfg.ObjectBytes, func() {
			self, child = selfCPU(), processCPU(srv.cmd.Process.Pid)
		})
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
		cpu.RunClient, cpu.RunServer = perObject(selfCPU()-self), perObject(processCPU(srv.cmd.Process.Pid)-child)
		self = selfCPU()
		floor, err := floorRead(ctx, dir, runID, len(ids))
		if err != nil {
			return nil, fmt.Errorf("round %d, floor: %w", i+1, err)
		}
		cpu.Floor = perObject(selfCPU() - self)
		self = selfCPU()
		bare, err := bareAppend(ctx, filepath.Join(work, "bare-"+strconv.Itoa(i)), cfg.Objects, leaf, batchSize, batchAge)
		if err != nil {
			return nil, fmt.Errorf("round %d, bare appender: %w", i+1, err)
		}
		cpu.Bare = perObject(selfCPU() - self)
		cpu.Ceiling = float64(runtime.NumCPU()) * 1e6 / (cpu.Floor + cpu.Bare)
		r := RunRound{Objects: cfg.Objects, Seconds: secs, ObjectsPerSecond: float64(cfg.Objects) / secs,
			BareSeconds: bare, BarePerSecond: float64(cfg.Objects) / bare, CPU: cpu}
		r.Ratio = r.ObjectsPerSecond / r.BarePerSecond
		r.FloorSeconds, r.FloorPerSecond = floor, float64(cfg.Objects)/floor
		r.RatioToFloor = r.ObjectsPerSecond / r.FloorPerSecond
		c.Rounds = append(c.Rounds, r)
		say("round %d/%d  run %9.0f objects/s   bare appender %9.0f entries/s   ratio %.2f   floor %9.0f objects/s   ratio to floor %.2f\n",
			i+1, rounds, r.ObjectsPerSecond, r.BarePerSecond, r.Ratio, r.FloorPerSecond, r.RatioToFloor)
		say("           CPU µs an object: run %.1f (server %.1f, client %.1f)   floor %.1f   bare appender %.1f   ceiling %.0f objects/s\n",
			cpu.RunServer+cpu.RunClient, cpu.RunServer, cpu.RunClient, cpu.Floor, cpu.Bare, cpu.Ceiling)
	}
	c.ObjectsPerSecond = medianOf(c.Rounds, func(r RunRound) float64 { return r.ObjectsPerSecond })
	c.BarePerSecond = medianOf(c.Rounds, func(r RunRound) float64 { return r.BarePerSecond })
	c.Ratio = medianOf(c.Rounds, func(r RunRound) float64 { return r.Ratio })
	c.FloorPerSecond = medianOf(c.Rounds, func(r RunRound) float64 { return r.FloorPerSecond })
	c.RatioToFloor = medianOf(c.Rounds, func(r RunRound) float64 { return r.RatioToFloor })
	c.CPU = CPUPerObject{
		RunServer: medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.RunServer }),
		RunClient: medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.RunClient }),
		Floor:     medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.Floor }),
		Bare:      medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.Bare }),
		Ceiling:   medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.Ceiling }),
	}
	c.CeilingRatio = medianOf(c.Rounds, func(r RunRound) float64 { return r.CPU.Ceiling / r.BarePerSecond })
	if c.PeakRSSMiB, err = peakRSS(srv.cmd.Process.Pid); err != nil {
		return nil, err
	}
	c.KeeperLatency = cfg.KeeperLatency.String()
	if c.KeeperCalls, err = counter(ctx, hc, srv.url+"/metrics", "ombud_kek_calls_total"); err != nil {
		return nil, err
	}
	c.Met = c.ObjectsPerSecond >= 20_000 && c.Ratio >= 0.7 && c.PeakRSSMiB < 150
	return c, nil
}

// setupRun ingests the objects (class location, about one plate), and
// registers a plate reader, a machine bound to it and an authorization
// with a use per round. It returns the object ids, the system and the
// machine's token.
func setupRun(ctx context.Context, dir *datadir.Dir, cfg RunConfig, rounds int, progress io.Writer) ([]string, string, string, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet})
	if err != nil {
		return nil, "", "", err
	}
	defer g.Close(context.WithoutCancel(ctx))
	svc := g.Custody
	admin, _, _, err := svc.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return nil, "", "", err
	}
	sys, _, err := g.Analytics.Register(ctx, registry.System{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location"},
		Version: registry.Version{Version: "2.0", Model: "anpr", Accuracy: ombud.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}}}, admin.ID)
	if err != nil {
		return nil, "", "", err
	}
	_, tok, _, err := svc.AddSystemPrincipal(ctx, "anpr runner", sys.ID, admin.ID)
	if err != nil {
		return nil, "", "", err
	}
	if err := benchAuthorization(ctx, svc, admin.ID, rounds); err != nil {
		return nil, "", "", err
	}
	ids, _, err := ingestObjects(ctx, svc, admin.ID, cfg.Objects, cfg.ObjectBytes, "", progress)
	if err != nil {
		return nil, "", "", err
	}
	return ids, sys.ID, tok.Reveal(), nil
}

// ingestObjects stores n random objects of size bytes (class location,
// about one plate) from 64 ingesters, and returns their ids and the rate.
func ingestObjects(ctx context.Context, svc *custody.Service, by string, n, size int, name string, progress io.Writer) ([]string, float64, error) {
	ids := make([]string, n)
	var next, done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, size)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rand.Read(payload)
				o, _, err := svc.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: by, Body: bytes.NewReader(payload)})
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				ids[i] = o.ID
				if k := done.Add(1); progress != nil && k%10_000 == 0 {
					fmt.Fprintf(progress, "  %s%d ingested (%.0f/s)\n", name, k, float64(k)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, fmt.Errorf("ingest: %w", firstErr)
	}
	return ids, float64(n) / time.Since(start).Seconds(), nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// runLeaf is an in-run access entry as the journal writes it.
func runLeaf() []byte {
	j := &journal.Journal{Key: benchKey}
	_, leaf, _, err := j.Build(journal.Record{Body: entry.Access{Decision: entry.Permit, Class: "location", Purpose: "criminal_investigation",
		Reasons: []string{reason.InRun}, Object: "k3x9q2m7a1b4c5d6", Subject: subject("plate:B-XY-123"), Run: "9c2kq7w1x3b5n8m4", By: "analystanalyst01"},
		Detail: entry.RunReadDetail{Object: "k3x9q2m7a1b4c5d6", Position: 4711, Run: "9c2kq7w1x3b5n8m4"}})
	if err != nil {
		panic(err)
	}
	return leaf
}

type server struct {
	cmd *exec.Cmd
	url string
}

// stop interrupts the server, as an operator would, so that it shuts
// down cleanly (and writes its profile); killed if it has not within 30s.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

var listening = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:[0-9]+)`)

// startServer runs 'ombud serve' on dir, on a loopback port.
func startServer(ctx context.Context, bin, dir string, keeperLatency time.Duration, extra ...string) (*server, error) {
	if bin == "" {
		return nil, errors.New("bench run: the ombud binary is needed to run the server as a child")
	}
	args := append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "info", "--keeper-latency", keeperLatency.String()}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return &server{cmd: cmd, url: "http://" + a}, nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("the server did not start listening within a minute")
	}
}

// streamRun starts a run over ids and reads all of it, checking every
// part, and returns the seconds the stream took.
func streamRun(ctx context.Context, hc *http.Client, url, token, system string, ids []string, size int, onBegin func()) (float64, string, error) {
	body, _ := json.Marshal(apiv1.StartRun{System: system, Version: "2.0", Purpose: "criminal_investigation", Authorization: "bench-auth", Objects: ids})
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/runs", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	var started apiv1.RunStarted
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err == nil {
		err = json.Unmarshal(b, &started)
	}
	if resp.StatusCode != http.StatusCreated || err != nil {
		return 0, "", fmt.Errorf("starting the run: %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	onBegin()
	begin := time.Now()
	req, _ = http.NewRequestWithContext(ctx, "GET", url+"/v1/runs/"+started.ID+"/objects", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != 200 || err != nil {
		return 0, "", fmt.Errorf("reading the run: %d %v", resp.StatusCode, err)
	}
	mr := multipart.NewReader(bufio.NewReaderSize(resp.Body, 256<<10), params["boundary"])
	n := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, "", fmt.Errorf("after %d objects: %w", n, err)
		}
		got, err := io.Copy(io.Discard, p)
		if err != nil || got != int64(size) || p.Header.Get(apiv1.PartDecision) != "permit" || p.Header.Get(apiv1.PartReceipt) == "" {
			return 0, "", fmt.Errorf("object %d: %d bytes, %s %s, %v", n, got, p.Header.Get(apiv1.PartDecision), p.Header.Get(apiv1.PartReason), err)
		}
		n++
	}
	secs := time.Since(begin).Seconds()
	if n != len(ids) {
		return 0, "", fmt.Errorf("the stream held %d objects, want %d", n, len(ids))
	}
	return secs, started.ID, nil
}

// bareAppend appends n leaves to a fresh bare Tessera POSIX log with the
// given batching, runWindow at a time, and returns the seconds until the
// last is durable.
func bareAppend(ctx context.Context, dir string, n int, leaf []byte, size uint, age time.Duration) (float64, error) {
	defer os.RemoveAll(dir)
	s, _, err := newKey()
	if err != nil {
		return 0, err
	}
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return 0, err
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	a, shutdown, _, err := tessera.NewAppender(bg, drv, tessera.NewAppendOptions().
		WithCheckpointSigner(s).WithBatching(size, age).WithCheckpointInterval(200*time.Millisecond).WithPushback(uint(max(2*runWindow, 4096))))
	if err != nil {
		return 0, err
	}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	begin := time.Now()
	var wg sync.WaitGroup
	for range runWindow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				l := append(slices.Clip(leaf), strconv.Itoa(i)...)
				if _, err := a.Add(ctx, tessera.NewEntry(l))(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(begin).Seconds()
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	shutdown(sctx)
	if e := failed.Load(); e != nil {
		return 0, *e
	}
	return secs, nil
}

// selfCPU is the CPU time this process has used, user and system, over
// all its threads.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the CPU time process pid has used, user and system, from
// /proc/pid/stat (in clock ticks of 10 ms); 0 if it cannot be read.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces; the fields
	// after it are space-separated, utime and stime the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+st) * 10 * time.Millisecond
}

// peakRSS reads a process's peak resident set (VmHWM) in MiB.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak memory: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("peak memory: no VmHWM")
}

// counter reads one counter's value from a Prometheus text exposition.
func counter(ctx context.Context, hc *http.Client, url, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			return int64(v), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no %s", url, name)
}
