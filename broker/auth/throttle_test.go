package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

func isBusy(err error) bool {
	e := api.AsError(err)
	return e != nil && e.Code == api.CodeSignInBusy && e.RetryAfter > 0
}

// TestHashGateOrder: a freed slot goes to a proven waiter before unproven
// ones that waited longer, then to unproven ones in arrival order.
func TestHashGateOrder(t *testing.T) {
	g := newHashGate(1, 4, time.Minute)
	ctx := context.Background()
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 3)
	var wg sync.WaitGroup
	for i, w := range []struct {
		name  string
		first bool
	}{{"unproven-1", false}, {"unproven-2", false}, {"proven", true}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx, w.first); err != nil {
				order <- w.name + ": " + err.Error()
				return
			}
			order <- w.name
			g.release(w.first)
		}()
		waitQueued(t, g, i+1) // so that arrival order is known
	}
	g.release(false)
	for _, want := range []string{"proven", "unproven-1", "unproven-2"} {
		if got := <-order; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free != 1 {
		t.Fatalf("free = %d after all released, want 1", g.free)
	}
}

func waitQueued(t *testing.T, g *hashGate, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		q := len(g.first) + len(g.unproven)
		g.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", q, n)
		}
	}
}

// TestHashGateBounds: unproven attempts are refused at once when the
// queue is full, and after the wait otherwise; proven ones are not
// bounded; a cancelled waiter leaves nothing behind.
func TestHashGateBounds(t *testing.T) {
	g := newHashGate(1, 1, 50*time.Millisecond)
	ctx := context.Background()
	if err := g.acquire(ctx, true); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- g.acquire(ctx, false) }()
	waitQueued(t, g, 1)
	if err := g.acquire(ctx, false); !isBusy(err) {
		t.Fatalf("unproven with the queue full: %v, want %s at once", err, api.CodeSignInBusy)
	}
	if err := <-waited; !isBusy(err) {
		t.Fatalf("unproven after the wait: %v, want %s", err, api.CodeSignInBusy)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := g.acquire(cctx, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled proven waiter: %v", err)
	}
	g.release(true)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free != 1 || g.running != 0 || len(g.first) != 0 || len(g.unproven) != 0 {
		t.Fatalf("gate not empty: free=%d first=%d unproven=%d", g.free, len(g.first), len(g.unproven))
	}
}

// TestHashGateReserve: while proven sign-ins come, unproven attempts hold
// all slots but one, so the next proven one starts at once; when none has
// come for a while, unproven attempts use every slot.
func TestHashGateReserve(t *testing.T) {
	g := newHashGate(2, 4, time.Minute)
	var mu sync.Mutex
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	if err := g.acquire(ctx, true); err != nil { // a proven sign-in
		t.Fatal(err)
	}
	g.release(true)
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- g.acquire(ctx, false) }()
	waitQueued(t, g, 1) // a slot is free, but kept for proven sign-ins
	if err := g.acquire(ctx, true); err != nil {
		t.Fatal(err)
	}
	g.release(true)
	select {
	case err := <-second:
		t.Fatalf("the second unproven attempt took the kept slot: %v", err)
	default:
	}
	// No proven sign-in for longer than reserveFor: the next release lets
	// the waiter in, and a third unproven attempt gets the last slot.
	mu.Lock()
	now = now.Add(g.reserveFor + time.Second)
	mu.Unlock()
	g.release(false)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free != 0 || g.running != 2 {
		t.Fatalf("free=%d running=%d, want 0 and 2", g.free, g.running)
	}
}
