package custody

import (
	"context"
	"sync"
	"time"
)

// background owns the work a custody service does on its own: each open
// run's timer, which closes the run at its time limit, and the closes the
// stream starts when it finds a run past its limit. Close stops the
// timers and waits for the work, so the gateway never closes the store or
// the log under it.
type background struct {
	ctx    context.Context // of the work; cancelled if Close's ctx ends first
	cancel context.CancelFunc

	// afterFunc arms a timer: time.AfterFunc, but for tests.
	afterFunc func(d time.Duration, f func()) timer

	mu     sync.Mutex
	closed bool
	timers map[timer]struct{}
	wg     sync.WaitGroup
}

type timer interface{ Stop() bool }

func (b *background) init() {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.timers = map[timer]struct{}{}
	b.afterFunc = func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
}

// after runs f in d, unless Close comes first.
func (b *background) after(d time.Duration, f func(ctx context.Context)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	var t timer
	t = b.afterFunc(d, func() {
		b.mu.Lock()
		delete(b.timers, t)
		b.mu.Unlock()
		b.do(f)
	})
	b.timers[t] = struct{}{}
}

// do runs f now, in its own goroutine, unless Close came first.
func (b *background) do(f func(ctx context.Context)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
}

// close stops the timers and waits for the work running; if ctx ends
// first, it cancels the work and still waits for it (a close cut short is
// settled at the next start, as after a crash).
func (b *background) close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	for t := range b.timers {
		t.Stop()
	}
	clear(b.timers)
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-done
		return ctx.Err()
	}
}

// Close stops the service's background work: the runs' timers no longer
// fire, and the closes they started are finished (or, once ctx ends,
// cancelled) before it returns. Close the service before the store and
// the log it uses. Runs left open close at the next start or sweep.
func (s *Service) Close(ctx context.Context) error { return s.bg.close(ctx) }
