package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// LogComparison is the JSON that 'ombud bench log' prints.
type LogComparison struct {
	Benchmark string      `json:"benchmark"`
	When      time.Time   `json:"when"`
	CPUs      int         `json:"cpus"`
	GoVersion string      `json:"go"`
	Config    LogConfigJS `json:"config"`
	Rounds    []LogResult `json:"rounds"`
	// Medians over rounds, per variant.
	Tessera LogResult `json:"tessera_median"`
	Ombud   LogResult `json:"ombud_median"`
	// Ratio is ombud's median throughput over bare Tessera's.
	Ratio   float64 `json:"ratio"`
	Targets Targets `json:"targets"`
}

// LogConfigJS is LogConfig as printed.
type LogConfigJS struct {
	Concurrency  int    `json:"concurrency"`
	BatchMaxSize uint   `json:"batch_max_size"`
	BatchMaxAge  string `json:"batch_max_age"`
	Checkpoint   string `json:"checkpoint_interval"`
	Duration     string `json:"duration"`
	Rounds       int    `json:"rounds"`
}

// Targets are the product bars (docs/PERFORMANCE.md) and whether this run met them.
type Targets struct {
	MinPerSecond float64 `json:"min_entries_per_second"`
	MinRatio     float64 `json:"min_ratio"`
	MaxTTIP99ms  float64 `json:"max_time_to_integrate_p99_ms"`
	Met          bool    `json:"met"`
}

// CompareLog runs bare Tessera and ombud's log path alternately for rounds
// rounds (alternating spreads the machine's noise over both) and reports
// medians. progress, if not nil, gets a line per run.
func CompareLog(ctx context.Context, cfg LogConfig, rounds int, progress io.Writer) (*LogComparison, error) {
	c := &LogComparison{
		Benchmark: "log-append-durable", When: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Config:  LogConfigJS{cfg.Concurrency, cfg.BatchMaxSize, cfg.BatchMaxAge.String(), cfg.CheckpointInterval.String(), cfg.Duration.String(), rounds},
		Targets: Targets{MinPerSecond: 20000, MinRatio: 0.9, MaxTTIP99ms: 1000},
	}
	var bare, ours []LogResult
	for i := range rounds {
		for _, v := range []struct {
			run func(context.Context, LogConfig) (LogResult, error)
			out *[]LogResult
		}{{BareTessera, &bare}, {OmbudLog, &ours}} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := v.run(ctx, cfg)
			if err != nil {
				return nil, err
			}
			if progress != nil {
				fmt.Fprintf(progress, "round %d/%d %-18s %8.0f entries/s  append p99 %6.1f ms  TTI p99 %6.1f ms\n", i+1, rounds, r.Name, r.PerSecond, r.AppendP99ms, r.TTIP99ms)
			}
			*v.out = append(*v.out, r)
			c.Rounds = append(c.Rounds, r)
		}
	}
	c.Tessera, c.Ombud = median(bare), median(ours)
	if c.Tessera.PerSecond > 0 {
		c.Ratio = c.Ombud.PerSecond / c.Tessera.PerSecond
	}
	c.Targets.Met = c.Ombud.PerSecond >= c.Targets.MinPerSecond && c.Ratio >= c.Targets.MinRatio &&
		c.Ombud.TTIP99ms >= 0 && c.Ombud.TTIP99ms <= c.Targets.MaxTTIP99ms && c.Ombud.Errors == 0
	return c, nil
}

// median takes each metric's median over the runs independently.
func median(rs []LogResult) LogResult {
	if len(rs) == 0 {
		return LogResult{}
	}
	m := func(f func(LogResult) float64) float64 { return medianOf(rs, f) }
	return LogResult{
		Name:        rs[0].Name + " (median)",
		Entries:     int(m(func(r LogResult) float64 { return float64(r.Entries) })),
		Seconds:     m(func(r LogResult) float64 { return r.Seconds }),
		PerSecond:   m(func(r LogResult) float64 { return r.PerSecond }),
		AppendP50ms: m(func(r LogResult) float64 { return r.AppendP50ms }),
		AppendP99ms: m(func(r LogResult) float64 { return r.AppendP99ms }),
		TTIP50ms:    m(func(r LogResult) float64 { return r.TTIP50ms }),
		TTIP99ms:    m(func(r LogResult) float64 { return r.TTIP99ms }),
		Errors:      int(m(func(r LogResult) float64 { return float64(r.Errors) })),
	}
}

// medianOf is the median of f over rs (the upper one for an even count).
func medianOf[T any](rs []T, f func(T) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
