package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
)

// AccessConfig configures the access-path benchmark.
type AccessConfig struct {
	Dir          string
	Concurrency  int
	ObjectBytes  int
	BatchMaxSize uint
	BatchMaxAge  time.Duration
	Duration     time.Duration
	// Only, when set, runs just the variant of that name ("access",
	// "log-append", "plain-http-read" or "plain-file-read"), for profiling.
	Only string
	// LogDir, when set, holds the log instead of the scratch directory.
	LogDir string
	// StoreURL, when set, keeps the metadata in that PostgreSQL database
	// (which should be empty) instead of SQLite.
	StoreURL string
}

// RateResult is one variant's throughput and latency.
type RateResult struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	Errors    int     `json:"errors"`
}

// AccessComparison is the JSON 'ombud bench access' prints.
type AccessComparison struct {
	Benchmark string       `json:"benchmark"`
	When      time.Time    `json:"when"`
	Config    string       `json:"config"`
	Rounds    []RateResult `json:"rounds"`
	Access    RateResult   `json:"access_median"`
	LogAppend RateResult   `json:"log_append_median"`
	PlainHTTP RateResult   `json:"plain_http_read_median"`
	PlainFile RateResult   `json:"plain_file_read_median"`
	// Ratios of the access path's median throughput to each reference.
	VsLogAppend float64 `json:"access_vs_log_append"`
	VsPlainHTTP float64 `json:"access_vs_plain_http"`
	VsPlainFile float64 `json:"access_vs_plain_file"`
	Met         bool    `json:"met_5000_per_second"`
}

// rate runs f from n workers for d and measures it.
func rate(name string, n int, d time.Duration, f func(ctx context.Context) error) RateResult {
	var mu sync.Mutex
	var lat []float64
	var errs atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []float64
			for ctx.Err() == nil {
				t := time.Now()
				if err := f(ctx); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				mine = append(mine, float64(time.Since(t).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	return RateResult{Name: name, Requests: len(lat), PerSecond: float64(len(lat)) / el, P50ms: q(0.5), P99ms: q(0.99), Errors: int(errs.Load())}
}

// CompareAccess measures, in one run: the full access path over HTTP on
// loopback (bearer token, object lookup, authorization scope and atomic use,
// Cedar, the logged decision, keyset unwrap, blob read, SHA-256 check,
// decryption) for a sensitive object under an authorization; a bare
// Tessera append with the same batching and concurrency; a plain HTTP read
// of the same bytes from a file server; and a plain read of the file.
func CompareAccess(ctx context.Context, cfg AccessConfig, rounds int, progress io.Writer) (*AccessComparison, error) {
	work, err := os.MkdirTemp(cfg.Dir, "access-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	dir, err := datadir.Create(filepath.Join(work, "data"), datadir.CreateOptions{Origin: "bench.ombud/log", Jurisdiction: "EU-DE"})
	if err != nil {
		return nil, err
	}
	if cfg.LogDir != "" {
		// A diagnostic: the log on another filesystem than the database,
		// to tell the log's disk I/O from the rest of the path.
		logDir, err := os.MkdirTemp(cfg.LogDir, "access-log-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(logDir)
		dir.Config.Log.Dir = logDir // log.dir, as an operator would set it
	}
	dir.Config.Storage.StoreURL = cfg.StoreURL
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet, BatchMaxSize: cfg.BatchMaxSize, BatchMaxAge: cfg.BatchMaxAge})
	if err != nil {
		return nil, err
	}
	defer g.Close(context.WithoutCancel(ctx))
	lg, svc := g.Log, g.Custody
	admin, _, _, err := svc.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return nil, err
	}
	_, tok, _, err := svc.AddPrincipal(ctx, "bench", []ombud.Role{ombud.RoleAnalyst, ombud.RoleIngestor}, admin.ID)
	if err != nil {
		return nil, err
	}
	if err := benchAuthorization(ctx, svc, admin.ID, 1_000_000); err != nil {
		return nil, err
	}
	payload := make([]byte, cfg.ObjectBytes)
	rand.Read(payload)
	o, _, err := svc.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: admin.ID, Body: strings.NewReader(string(payload))})
	if err != nil {
		return nil, err
	}
	plainPath := filepath.Join(work, "plain.bin")
	if err := os.WriteFile(plainPath, payload, 0o644); err != nil {
		return nil, err
	}

	srv := g.API()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	fs := &http.Server{Handler: http.FileServer(http.Dir(work)), ReadHeaderTimeout: 5 * time.Second}
	fln, _ := net.Listen("tcp", "127.0.0.1:0")
	go fs.Serve(fln)
	defer fs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2, MaxConnsPerHost: cfg.Concurrency * 2}, Timeout: 30 * time.Second}
	get := func(ctx context.Context, url string, hdr map[string]string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || n != int64(cfg.ObjectBytes) {
			return fmt.Errorf("status %d, %d bytes, %v", resp.StatusCode, n, err)
		}
		return nil
	}
	accessURL := "http://" + ln.Addr().String() + "/v1/objects/" + o.ID
	hdr := map[string]string{"Authorization": "Bearer " + tok.Reveal(), "Ombud-Purpose": "criminal_investigation", "Ombud-Authorization": "bench-auth"}
	if err := get(ctx, accessURL, hdr); err != nil {
		return nil, fmt.Errorf("access path does not work: %w", err)
	}
	plainURL := "http://" + fln.Addr().String() + "/plain.bin"
	var leafN atomic.Int64
	c := &AccessComparison{Benchmark: "access-path", When: time.Now().UTC(),
		Config: fmt.Sprintf("%d clients, %d-byte objects, batches %d / %v, %v per run", cfg.Concurrency, cfg.ObjectBytes, cfg.BatchMaxSize, cfg.BatchMaxAge, cfg.Duration)}
	var acc, app, ph, pf []RateResult
	for i := range rounds {
		for _, v := range []struct {
			name string
			f    func(context.Context) error
			out  *[]RateResult
		}{
			{"access", func(ctx context.Context) error { return get(ctx, accessURL, hdr) }, &acc},
			{"log-append", func(ctx context.Context) error {
				_, err := lg.Append(ctx, fmt.Appendf(append([]byte(nil), sampleLeaf...), "%d", leafN.Add(1)))
				return err
			}, &app},
			{"plain-http-read", func(ctx context.Context) error { return get(ctx, plainURL, nil) }, &ph},
			{"plain-file-read", func(ctx context.Context) error {
				b, err := os.ReadFile(plainPath)
				if err == nil && len(b) != cfg.ObjectBytes {
					err = io.ErrUnexpectedEOF
				}
				return err
			}, &pf},
		} {
			if cfg.Only != "" && cfg.Only != v.name {
				continue
			}
			r := rate(v.name, cfg.Concurrency, cfg.Duration, v.f)
			*v.out = append(*v.out, r)
			c.Rounds = append(c.Rounds, r)
			if progress != nil {
				fmt.Fprintf(progress, "round %d/%d %-16s %9.0f/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", i+1, rounds, r.Name, r.PerSecond, r.P50ms, r.P99ms, r.Errors)
			}
		}
	}
	med := func(rs []RateResult) RateResult {
		if len(rs) == 0 {
			return RateResult{}
		}
		m := func(f func(RateResult) float64) float64 { return medianOf(rs, f) }
		return RateResult{Name: rs[0].Name + " (median)", Requests: int(m(func(r RateResult) float64 { return float64(r.Requests) })),
			PerSecond: m(func(r RateResult) float64 { return r.PerSecond }), P50ms: m(func(r RateResult) float64 { return r.P50ms }),
			P99ms: m(func(r RateResult) float64 { return r.P99ms }), Errors: int(m(func(r RateResult) float64 { return float64(r.Errors) }))}
	}
	c.Access, c.LogAppend, c.PlainHTTP, c.PlainFile = med(acc), med(app), med(ph), med(pf)
	if cfg.Only == "" {
		c.VsLogAppend, c.VsPlainHTTP, c.VsPlainFile = c.Access.PerSecond/c.LogAppend.PerSecond, c.Access.PerSecond/c.PlainHTTP.PerSecond, c.Access.PerSecond/c.PlainFile.PerSecond
	}
	c.Met = c.Access.PerSecond >= 5000 && c.Access.Errors == 0
	return c, nil
}

// benchAuthorization registers a court of EU-DE and its order "bench-auth"
// for criminal investigation of location data about plate:B-XY-123, valid
// for a day, for maxUses uses.
func benchAuthorization(ctx context.Context, svc *custody.Service, admin string, maxUses int, extra ...ombud.Authorization) error {
	skey, vkey, err := note.GenerateKey(rand.Reader, "court.example/bench")
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	if _, _, err := svc.Access.RegisterIssuer(ctx, signer.Name(), "court", "EU-DE", vkey, admin); err != nil {
		return err
	}
	// "bench-auth", and any other the caller names (its id and sharing
	// scope), of location data about one plate, for criminal
	// investigation.
	for _, a := range append([]ombud.Authorization{{ID: "bench-auth"}}, extra...) {
		a.Issuer, a.Kind, a.Case, a.Purposes, a.Classes, a.Subjects = signer.Name(), "court_order", "bench", []string{"criminal_investigation"}, []string{"location"}, []string{"plate:B-XY-123"}
		a.NotBefore, a.NotAfter, a.MaxUses, a.Jurisdiction = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), maxUses, "EU-DE"
		msg, err := note.Sign(&note.Note{Text: a.Text()}, signer)
		if err != nil {
			return err
		}
		if _, _, err = svc.Access.RegisterAuthorization(ctx, msg, admin); err != nil {
			return err
		}
	}
	return nil
}
