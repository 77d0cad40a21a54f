package main

import (
	"runtime"
	"runtime/debug"

	"github.com/ombud/ombud/datadir"
)

// cores is Go's default GOMAXPROCS, taken before any change: the cores
// this process may use (its CPU affinity and cgroup limit).
var cores = runtime.GOMAXPROCS(0)

// tuneRuntime applies [runtime] from ombud.toml. Environment variables
// GOGC, GOMEMLIMIT and GOMAXPROCS, when set, win, as the Go documentation
// promises.
func (m *Main) tuneRuntime(c datadir.RuntimeConfig) {
	if m.Getenv("GOMAXPROCS") == "" && c.ProcsPerCore >= 1 {
		runtime.GOMAXPROCS(cores * c.ProcsPerCore)
	}
	if m.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.GCPercent)
	}
	if m.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.MemoryLimitMB << 20)
	}
}
