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
			g.release()
		}()
		waitQueued(t, g, i+1) // so that arrival order is known
	}
	g.release()
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
	g.release()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free != 1 || len(g.first) != 0 || len(g.unproven) != 0 {
		t.Fatalf("gate not empty: free=%d first=%d unproven=%d", g.free, len(g.first), len(g.unproven))
	}
}
