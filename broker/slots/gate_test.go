package slots_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// gate is a hand-written telework policy: refused users, and windows.
type gate struct {
	mu      sync.Mutex
	refused map[string]bool
	windows map[string]slots.Window
	fail    bool
}

func (g *gate) Admit(_ context.Context, user string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refused[user] {
		return api.Err(api.CodeTeleworkApprovalRequired)
	}
	return nil
}

func (g *gate) Windows(_ context.Context, users []string) (map[string]slots.Window, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail {
		return nil, errors.New("database away")
	}
	return g.windows, nil
}

// TestGateHours: the gate refuses new slots but never one held; the end
// of the allowed hours comes as the slots' own warning and end, or as a
// warning only; a failed read of the hours leaves them unenforced.
func TestGateHours(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 10, WarnMinutes: 5})
	g := &gate{refused: map[string]bool{}}
	e.m.SetGate(g)
	ctx := context.Background()
	held := e.acquire("yamada")
	g.mu.Lock()
	g.refused["yamada"], g.refused["sato"] = true, true
	g.mu.Unlock()
	if _, err := e.m.Acquire(ctx, as("sato"), "laptop"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeTeleworkApprovalRequired {
		t.Fatalf("refused user: %v", err)
	}
	if s, err := e.m.Acquire(ctx, as("yamada"), "laptop"); err != nil || s.ID != held.ID {
		t.Fatalf("asked again for a held slot: %+v, %v", s, err)
	}
	other := e.acquire("suzuki")
	end := e.clock.Now().Add(30 * time.Minute)
	g.mu.Lock()
	g.windows = map[string]slots.Window{
		"yamada": {EndsAt: end, Warn: 10 * time.Minute, Disconnect: true},
		"suzuki": {EndsAt: end, Warn: 10 * time.Minute},
	}
	g.fail = true
	g.mu.Unlock()
	step := func(d time.Duration) {
		t.Helper()
		e.clock.Advance(d)
		for _, s := range []api.Slot{held, other} {
			_, _ = e.m.Heartbeat(ctx, as(s.UserID), s.ID, api.HeartbeatRequest{Active: true})
		}
		if err := e.m.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Past the end, with the hours unreadable: nothing ends on a guess.
	e.clock.Advance(31 * time.Minute)
	step(0)
	if _, live := e.m.HolderOf(held.ID); !live || len(e.ev.of("yamada", api.EventWarning)) > 0 {
		t.Fatalf("unreadable hours: live %v", live)
	}
	e.clock.Advance(-31 * time.Minute)
	g.mu.Lock()
	g.fail = false
	g.mu.Unlock()
	for i := 0; i < 40; i++ {
		step(time.Minute)
		now := e.clock.Now()
		warned := len(e.ev.of("yamada", api.EventWarning)) > 0
		_, live := e.m.HolderOf(held.ID)
		switch {
		case now.Before(end.Add(-10*time.Minute)) && warned, !now.Before(end.Add(-10*time.Minute)) && !warned:
			t.Fatalf("minute %d: warned %v", i, warned)
		case now.Before(end) != live:
			t.Fatalf("minute %d: live %v", i, live)
		}
	}
	ends := e.ev.of("yamada", api.EventEnded)
	if len(ends) != 1 || ends[0].(api.EndedNotice).Reason != api.EndHours {
		t.Errorf("ends = %+v", ends)
	}
	ws := e.ev.of("suzuki", api.EventWarning)
	if _, live := e.m.HolderOf(other.ID); len(ws) != 1 || ws[0].(api.SlotWarning).Reason != api.EndHours || !live {
		t.Errorf("warning only: %+v, live %v", ws, live)
	}
}
