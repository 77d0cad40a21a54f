package main

import (
	"context"
	"log/slog"
	"time"
)

// sweeper runs the retention sweep at start (which also finishes work a
// crash interrupted) and then every interval, until ctx ends.
func (a *app) sweeper(ctx context.Context, logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := a.custody.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "retention sweep failed; will retry", "err", err, "erased", res.Erased)
		} else if res.Erased+res.Finished+res.Recovered > 0 {
			logger.InfoContext(ctx, "retention sweep", "erased", res.Erased, "finished_erasures", res.Finished, "recovered_ingests", res.Recovered)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
