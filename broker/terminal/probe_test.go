package terminal

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// memStore is the part of a store the probe loop touches, in memory.
type memStore struct {
	Store      // the rest panics: the probe does not use it
	mu         sync.Mutex
	ts         map[string]api.Terminal
	stateCalls int
}

func (m *memStore) ListTerminals(context.Context) ([]api.Terminal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Terminal
	for _, t := range m.ts {
		out = append(out, t)
	}
	return out, nil
}

func (m *memStore) TerminalForUser(_ context.Context, user string) (api.Terminal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.ts {
		if t.UserID == user {
			return t, nil
		}
	}
	return api.Terminal{}, ErrNotFound
}

func (m *memStore) SetTerminalState(_ context.Context, id, state string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.ts[id]
	t.State = state
	m.ts[id] = t
	m.stateCalls++
	return nil
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, audit.Event) error { return nil }

// fakeProber answers for the addresses in up and counts every probe.
type fakeProber struct {
	mu    sync.Mutex
	up    map[string]bool
	calls map[string]int
}

func (p *fakeProber) Probe(_ context.Context, addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[addr]++
	return p.up[addr]
}

func (p *fakeProber) count(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[addr]
}

// TestRunKeepsTheStatesFresh: the loop finds the awake PC awake with the
// time it answered and the silent one asleep; the apps reading the state
// cost no probes; a change by IT probes again at once; unpaired PCs are
// left alone.
func TestRunKeepsTheStatesFresh(t *testing.T) {
	st := &memStore{ts: map[string]api.Terminal{
		"pc-a":    {ID: "pc-a", Address: "10.0.0.1", RDPPort: 3389, UserID: "yamada", State: api.TerminalUnknown},
		"pc-b":    {ID: "pc-b", Address: "10.0.0.2", RDPPort: 3389, UserID: "sato", State: api.TerminalUnknown},
		"pc-pool": {ID: "pc-pool", Address: "10.0.0.3", RDPPort: 3389, Pool: true, State: api.TerminalUnknown},
		"pc-idle": {ID: "pc-idle", Address: "10.0.0.4", RDPPort: 3389, State: api.TerminalUnknown},
	}}
	at := time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC)
	s := New(st, nopAudit{}, func() time.Time { return at })
	pr := &fakeProber{up: map[string]bool{"10.0.0.1:3389": true, "10.0.0.3:3389": true}, calls: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, Probing{Prober: pr, Every: time.Hour}); close(done) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, "the first round", func() bool { return pr.count("10.0.0.2:3389") == 1 && pr.count("10.0.0.1:3389") == 1 })
	waitUntil(t, "states stored", func() bool {
		a, _ := s.ForUser(ctx, "yamada")
		b, _ := s.ForUser(ctx, "sato")
		return a.State == api.TerminalAwake && b.State == api.TerminalAsleep
	})
	a, _ := s.ForUser(ctx, "yamada")
	if !a.SeenAt.Equal(at) {
		t.Errorf("awake PC seen at %v, want %v", a.SeenAt, at)
	}
	if b, _ := s.ForUser(ctx, "sato"); !b.SeenAt.IsZero() {
		t.Errorf("a PC that never answered has a last-seen time %v", b.SeenAt)
	}
	for range 100 { // a hundred apps refreshing their home screens
		_, _ = s.ForUser(ctx, "yamada")
	}
	if n := pr.count("10.0.0.1:3389"); n != 1 {
		t.Errorf("%d probes after a hundred reads, want the one round", n)
	}
	if n := pr.count("10.0.0.4:3389"); n != 0 {
		t.Errorf("an unpaired PC was probed %d times", n)
	}

	// The sleeping PC wakes and IT changes something: probed at once.
	pr.mu.Lock()
	pr.up["10.0.0.2:3389"] = true
	pr.mu.Unlock()
	s.kickProbe()
	waitUntil(t, "the woken PC awake", func() bool {
		b, _ := s.ForUser(ctx, "sato")
		return b.State == api.TerminalAwake && !b.SeenAt.IsZero()
	})
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneMissedProbeKeepsAwake: an RDP server busy with (or just ending) a
// session can miss one probe; the PC reads asleep only after two misses
// in a row, and a PC never seen awake reads asleep at once.
func TestOneMissedProbeKeepsAwake(t *testing.T) {
	st := &memStore{ts: map[string]api.Terminal{
		"pc-a": {ID: "pc-a", Address: "10.0.0.1", RDPPort: 3389, UserID: "yamada", State: api.TerminalUnknown},
	}}
	s := New(st, nopAudit{}, time.Now)
	pr := &fakeProber{up: map[string]bool{"10.0.0.1:3389": true}, calls: map[string]int{}}
	ctx := context.Background()
	round := func() string {
		s.probeRound(ctx, Probing{Prober: pr, Parallel: 1})
		a, _ := s.ForUser(ctx, "yamada")
		return a.State
	}
	if got := round(); got != api.TerminalAwake {
		t.Fatalf("answering PC: %s", got)
	}
	pr.mu.Lock()
	pr.up["10.0.0.1:3389"] = false
	pr.mu.Unlock()
	if got := round(); got != api.TerminalAwake {
		t.Fatalf("after one miss: %s, want still awake", got)
	}
	if got := round(); got != api.TerminalAsleep {
		t.Fatalf("after two misses: %s, want asleep", got)
	}
}
