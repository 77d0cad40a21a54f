// Package parallel runs a package's parallel tests more at once than go
// test does by default.
//
// go test runs as many parallel tests at once as there are CPUs, which
// suits tests that compute. Most of ombud's tests wait instead: for the
// log's next checkpoint (Tessera publishes one at most every 100 ms), for
// a batch to fill, for a browser to render. On a two-core machine two of
// them at a time leave the CPUs idle. A package whose tests wait calls
// Main from its TestMain.
package parallel

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// PerCPU is how many parallel tests Main lets run at once per CPU.
const PerCPU = 4

// Main runs m's tests with -test.parallel at PerCPU times GOMAXPROCS,
// unless the command line set -parallel itself, and exits with their
// result.
func Main(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			set = true
		}
	})
	if !set {
		if err := flag.Set("test.parallel", strconv.Itoa(PerCPU*runtime.GOMAXPROCS(0))); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
