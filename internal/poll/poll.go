// Package poll waits, in tests, for what the test does not drive itself: a
// child process that starts listening, a witness that cosigns on its own
// schedule, a watchdog that notices a fault. Within one process, tests
// synchronise on events (channels, wait groups) instead, and never on a
// sleep.
package poll

import (
	"testing"
	"time"
)

// Until checks cond every interval until it holds, and fails t with what
// it waited for once timeout has passed.
func Until(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}
