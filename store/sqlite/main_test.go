package sqlite_test

import (
	"testing"

	"github.com/ombud/ombud/internal/parallel"
)

// TestMain runs more of the package's tests at once than there are CPUs:
// they wait for the log's checkpoints more than they compute.
func TestMain(m *testing.M) { parallel.Main(m) }
