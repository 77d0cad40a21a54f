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

// settleEvery is how often the lease's holder settles the changes left in
// flight (older than custody.SettleAge) between sweeps: a read of a
// target with one fails closed until it is settled.
const settleEvery = 30 * time.Second

// sweeper runs the retention sweep at start and then every interval,
// until ctx ends, whenever this gateway holds the sweep's lease: of the
// gateways sharing a store, one sweeps at a time. Between sweeps it
// settles the changes left in flight every settleEvery. The lease
// outlasts an interval by half of one (at least a minute), so a gateway
// that stops renewing it, because it died, hands the sweep to another
// soon after.
//
// The holder also runs the whistleblower intake's daily batch (tipBatch,
// when not nil) once its moment has come.
//
// Every gateway, holder or not, logs once a day how many requests its
// whistleblower intake could not serve (tipFailures, when not nil): the
// intake logs nothing when a request fails, since the line's time would
// date a source's visit.
func sweeper(ctx context.Context, c *custody.Service, tipBatch func(context.Context) (int, error), tipFailures func(time.Time) (int, string), leases ombud.SessionStore, logger *slog.Logger, interval time.Duration) {
	holder := ombud.NewID()
	ttl := interval + max(interval/2, time.Minute)
	t := time.NewTicker(min(interval, settleEvery))
	defer t.Stop()
	var swept time.Time
	for {
		held, err := leases.Lease(ctx, sweepLease, holder, time.Now(), ttl)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.ErrorContext(ctx, "the sweep's lease could not be taken; will retry", "err", err)
		case held && time.Since(swept) >= interval:
			swept = time.Now()
			res, err := c.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "retention sweep failed; will retry", "err", err, "erased", res.Erased)
			} else if res.Erased+res.Breaches+res.Settled.Committed+res.Settled.Undone+len(res.Details) > 0 {
				logger.InfoContext(ctx, "retention sweep", "erased", res.Erased, "breaches", res.Breaches, "settled", res.Settled.Committed+res.Settled.Undone, "details_erased", res.Details)
			}
		case held:
			st, err := c.Settle(ctx, time.Now().Add(-custody.SettleAge))
			if err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "settling changes left in flight failed; will retry", "err", err)
			} else if st.Committed+st.Undone > 0 {
				logger.InfoContext(ctx, "settled changes left in flight", "committed", st.Committed, "undone", st.Undone)
			}
		}
		if tipFailures != nil {
			if n, last := tipFailures(time.Now()); n > 0 {
				logger.ErrorContext(ctx, "the whistleblower intake could not serve requests since the last summary (a day or less)", "requests", n, "last_error", last)
			}
		}
		if held && tipBatch != nil {
			if _, err := tipBatch(ctx); err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "the whistleblower intake's daily batch failed; will retry", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
