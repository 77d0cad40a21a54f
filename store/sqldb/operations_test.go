package sqldb

import (
	"testing"

	"github.com/ombud/ombud/journal"
)

// TestEveryOperationIsWhole walks the table of operations: every
// operation of journal.Operations is in it, with a target kind, a
// reserve, a commit and an undo (a deliberate nothing is a function too).
// Its conflicting twin and its recovery by Settle run in
// storetest.TestEveryOperation, which fails for an operation without a
// case.
func TestEveryOperationIsWhole(t *testing.T) {
	if len(operations) != len(journal.Operations) {
		t.Errorf("the table has %d operations, journal.Operations %d", len(operations), len(journal.Operations))
	}
	for _, named := range journal.Operations {
		o, ok := operations[named.Name()]
		if !ok {
			t.Errorf("%s is not in the table of operations", named.Name())
			continue
		}
		if named.TargetKind() == "" {
			t.Errorf("%s has no target kind", named.Name())
		}
		if missing := o.missing(); missing != "" {
			t.Errorf("%s has no %s", named.Name(), missing)
		}
	}
}
