// Package jobs makes the broker's database-wide background work (purges
// past retention, roster imports on their day, manifest re-signing) run
// once per period across every broker on one database, not once per
// broker: before each run a broker claims it in the database, and of the
// brokers that ask in the same period exactly one wins. Work about a
// broker's own memory (its slots' leases, its tunnels, its sockets) is
// not claimed: every broker does its own.
package jobs

import (
	"context"
	"log/slog"
	"time"
)

// Store is what claiming needs from the database.
type Store interface {
	// ClaimRun records that the job name starts now, unless a run of it
	// started after notBefore; it reports whether the caller won. It is
	// decided in one statement, so that of brokers asking at once
	// exactly one wins, whichever engine.
	ClaimRun(ctx context.Context, name, by string, now, notBefore time.Time) (bool, error)
}

// slack lets a broker whose tick comes a little early (timers are not
// exact) still claim the run that is due.
const slack = 10 // percent of the period

// Once wraps fn, run every `every` on each broker, so that it runs once
// per period among all brokers: whichever claims it first in the period.
// A broker that stops claiming (it died) is replaced at the next period.
// by names this broker in the claim, for an operator reading the table.
func Once(st Store, name, by string, every time.Duration, now func() time.Time, log *slog.Logger, fn func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		t := now()
		won, err := st.ClaimRun(ctx, name, by, t, t.Add(-every+every*slack/100))
		if err != nil {
			if ctx.Err() == nil && log != nil {
				log.Warn("jobs: claim failed; skipping this run", "job", name, "err", err)
			}
			return
		}
		if won {
			fn(ctx)
		}
	}
}
