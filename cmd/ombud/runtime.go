package main

import (
	"runtime/debug"

	"github.com/ombud/ombud/datadir"
)

// tuneRuntime applies [runtime] from ombud.toml. Environment variables GOGC
// and GOMEMLIMIT, when set, win, as the Go documentation promises.
func (m *Main) tuneRuntime(c datadir.RuntimeConfig) {
	if m.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.GCPercent)
	}
	if m.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.MemoryLimitMB << 20)
	}
}
