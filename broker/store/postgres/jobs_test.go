package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/jobs"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2EJobsRunOnceAcrossBrokers: three brokers (three pools) on one
// PostgreSQL tick a database-wide job in every period at once; it runs
// once per period, not three times, and goes on running once after the
// broker that won so far is gone.
func TestE2EJobsRunOnceAcrossBrokers(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.NewDatabase(t)
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	const every = 6 * time.Hour
	var runs atomic.Int64
	winners := make([]atomic.Int64, 3)
	var ticks []func(context.Context)
	var stores []*postgres.Store
	for i := range 3 {
		st, err := postgres.Open(ctx, url, nil, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
		ticks = append(ticks, jobs.Once(st.Jobs(), "oplog.purge", fmt.Sprint("broker-", i), every, now, nil, func(context.Context) {
			runs.Add(1)
			winners[i].Add(1)
		}))
	}
	tick := func(alive []int) {
		var wg sync.WaitGroup
		for _, i := range alive {
			wg.Add(1)
			go func() { defer wg.Done(); ticks[i](ctx) }()
		}
		wg.Wait()
	}
	for p := range 10 {
		tick([]int{0, 1, 2})
		// A second round within the period (a broker whose timer fired
		// late or early) must not run it again.
		mu.Lock()
		clock = clock.Add(time.Minute)
		mu.Unlock()
		tick([]int{0, 1, 2})
		if got := runs.Load(); got != int64(p+1) {
			t.Fatalf("period %d: %d runs, want %d", p, got, p+1)
		}
		mu.Lock()
		clock = clock.Add(every - time.Minute)
		mu.Unlock()
	}
	// The broker that won most is killed; the others carry on, once each period.
	dead := 0
	for i := range winners {
		if winners[i].Load() > winners[dead].Load() {
			dead = i
		}
	}
	stores[dead].Close()
	var alive []int
	for i := range 3 {
		if i != dead {
			alive = append(alive, i)
		}
	}
	for p := range 5 {
		tick(alive)
		if got := runs.Load(); got != int64(11+p) {
			t.Fatalf("period %d after broker-%d died: %d runs, want %d", p, dead, got, 11+p)
		}
		mu.Lock()
		clock = clock.Add(every)
		mu.Unlock()
	}
}
