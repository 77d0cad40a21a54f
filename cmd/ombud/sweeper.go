package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ombud/ombud/custody"
)

// sweeper runs the retention sweep at start and then every interval,
// until ctx ends.
func sweeper(ctx context.Context, c *custody.Service, logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := c.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "retention sweep failed; will retry", "err", err, "erased", res.Erased)
		} else if res.Erased+res.Breaches+res.Settled.Committed+res.Settled.Undone+len(res.Details) > 0 {
			logger.InfoContext(ctx, "retention sweep", "erased", res.Erased, "breaches", res.Breaches, "settled", res.Settled.Committed+res.Settled.Undone, "details_erased", res.Details)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
