package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
)

// sweepLease names the lease that lets one gateway of a deployment sweep.
const sweepLease = "sweep"

// sweeper runs the retention sweep at start and then every interval,
// until ctx ends, whenever this gateway holds the sweep's lease: of the
// gateways sharing a store, one sweeps at a time. The lease outlasts an
// interval by half of one (at least a minute), so a gateway that stops
// renewing it, because it died, hands the sweep to another soon after.
func sweeper(ctx context.Context, c *custody.Service, leases ombud.SessionStore, logger *slog.Logger, interval time.Duration) {
	holder := ombud.NewID()
	ttl := interval + max(interval/2, time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		held, err := leases.Lease(ctx, sweepLease, holder, time.Now(), ttl)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.ErrorContext(ctx, "the sweep's lease could not be taken; will retry", "err", err)
		case held:
			res, err := c.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "retention sweep failed; will retry", "err", err, "erased", res.Erased)
			} else if res.Erased+res.Breaches+res.Settled.Committed+res.Settled.Undone+len(res.Details) > 0 {
				logger.InfoContext(ctx, "retention sweep", "erased", res.Erased, "breaches", res.Breaches, "settled", res.Settled.Committed+res.Settled.Undone, "details_erased", res.Details)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
