package server_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// BenchmarkSlotsAcquire3000 measures what happens at nine in the morning:
// 3,000 signed-in staff (connections already open, as the app keeps them)
// press Connect at once against a cap of 300, on durable SQLite. It
// prints the p99 answer time and checks that no more than the cap were
// granted, in the answers, in memory and in the database.
func BenchmarkSlotsAcquire3000(b *testing.B) {
	const clients, capN = 3000, 300
	br := brokertest.Start(b)
	ctx := context.Background()
	port := officePC(b)
	cp := capN
	if _, err := br.Services.Slots.SetPolicy(ctx, "bench", api.SlotConfigUpdate{Cap: &cp}); err != nil {
		b.Fatal(err)
	}
	// Sign everyone in through the real /v1/login, 8 at a time; each
	// session keeps its own connection open.
	sessions := make([]*brokertest.Session, clients)
	users := make(chan int)
	var wg sync.WaitGroup
	var setupErr error
	var errMu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range users {
				id := fmt.Sprintf("st%04d", i)
				u := br.CreateUser(b, id)
				if _, err := br.Services.Terminals.Create(ctx, "bench", api.CreateTerminalRequest{ID: "pc-" + id, Name: id,
					Address: "127.0.0.1", RDPPort: port, WakeAddr: "127.0.0.1", UserID: id}); err != nil {
					errMu.Lock()
					setupErr = err
					errMu.Unlock()
					continue
				}
				sessions[i] = br.Login(b, u)
			}
		}()
	}
	for i := range clients {
		users <- i
	}
	close(users)
	wg.Wait()
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	syncLevel, err := br.Store.Synchronous(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// The setup's writes (3,000 accounts and PCs) are checkpointed now,
	// not in the middle of the measurement.
	if _, err := br.Store.W.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	// Baseline, same run and same connections: every client calls the
	// cheapest authenticated route at once (HTTP, TLS and the token check,
	// no slot logic), so the figure below can be told apart from the
	// machine's load.
	base := make([]time.Duration, clients)
	{
		start := make(chan struct{})
		var done sync.WaitGroup
		for i, s := range sessions {
			done.Add(1)
			go func() {
				defer done.Done()
				<-start
				t0 := time.Now()
				_, err := s.MySlot(ctx)
				base[i] = time.Since(t0)
				if e := api.AsError(err); e == nil || e.Code != api.CodeSlotNotFound {
					b.Errorf("baseline call %d: %v", i, err)
				}
			}()
		}
		close(start)
		done.Wait()
	}
	b.ResetTimer()

	lat := make([]time.Duration, clients)
	got := make([]api.Slot, clients)
	errs := make([]error, clients)
	start := make(chan struct{})
	var done sync.WaitGroup
	for i, s := range sessions {
		done.Add(1)
		go func() {
			defer done.Done()
			<-start
			t0 := time.Now()
			sl, err := s.RequestSlot(ctx, api.SlotRequest{})
			lat[i] = time.Since(t0)
			if sl != nil {
				got[i] = *sl
			}
			errs[i] = err
		}()
	}
	if f := os.Getenv("ZAITAKU_BENCH_CPUPROFILE"); f != "" {
		w, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(w); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	close(start)
	done.Wait()
	wall := time.Since(t0)
	b.StopTimer()

	granted := 0
	for i := range got {
		if errs[i] != nil {
			b.Fatalf("request %d: %v", i, errs[i])
		}
		if got[i].State == api.SlotGranted {
			granted++
		}
	}
	var inDB int
	if err := br.Store.R.QueryRowContext(ctx, `SELECT count(*) FROM slots WHERE state = 'granted'`).Scan(&inDB); err != nil {
		b.Fatal(err)
	}
	_, inMem, queued := br.Services.Slots.Counts()
	if granted != capN || inMem != capN || inDB != capN || queued != clients-capN {
		b.Fatalf("granted %d in answers, %d in memory, %d in the database, %d queued; want exactly %d granted", granted, inMem, inDB, queued, capN)
	}
	pct := func(ds []time.Duration, q float64) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[int(q*float64(len(ds)-1))].Seconds()
	}
	p99, baseP99 := pct(lat, 0.99), pct(base, 0.99)
	fmt.Printf("BENCH %s %.3g %s %s\n", "slots.acquire3000_p99", p99, "s", "target<=0.5")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_p50", pct(lat, 0.50), "s")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.authed_noop3000_p99", baseP99, "s")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_vs_authed_noop", p99/baseP99, "ratio")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_wall", wall.Seconds(), "s")
	fmt.Printf("BENCH %s %d %s\n", "slots.acquire3000_clients", clients, "clients")
	fmt.Printf("BENCH %s %d %s\n", "slots.acquire3000_cap", capN, "slots")
	fmt.Printf("BENCH %s %d %s\n", "slots.acquire3000_granted_max", inDB, "slots")
	fmt.Printf("BENCH %s %d %s\n", "store.sqlite_synchronous", syncLevel, "level")
}
