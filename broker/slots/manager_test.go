package slots_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
)

// pcs pairs every user with a PC of their own, except those listed in
// noPC; pool holds the shared PCs. A hand-written fake of the terminal
// domain (the database under the slots is real).
type pcs struct {
	mu   sync.Mutex
	noPC map[string]bool
	pool []api.Terminal
}

func (p *pcs) ForUser(_ context.Context, user string) (api.Terminal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.noPC[user] {
		return api.Terminal{}, slots.ErrNoTerminal
	}
	return api.Terminal{ID: "pc-" + user, Name: "PC of " + user, Address: "127.0.0.1", RDPPort: 1}, nil
}

func (p *pcs) Get(_ context.Context, id string) (api.Terminal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.pool {
		if t.ID == id {
			return t, nil
		}
	}
	return api.Terminal{ID: id, Name: "PC", Address: "127.0.0.1", RDPPort: 1}, nil
}

func (p *pcs) GetMany(ctx context.Context, ids []string) (map[string]api.Terminal, error) {
	out := map[string]api.Terminal{}
	for _, id := range ids {
		out[id], _ = p.Get(ctx, id)
	}
	return out, nil
}

func (p *pcs) Pool(context.Context) ([]api.Terminal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]api.Terminal(nil), p.pool...), nil
}

func (p *pcs) SetState(context.Context, string, string) error { return nil }

// events records what the manager publishes.
type events struct {
	mu  sync.Mutex
	got map[string][]published
}

type published struct {
	typ  string
	data any
}

func (e *events) Publish(user, typ string, data any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.got == nil {
		e.got = map[string][]published{}
	}
	e.got[user] = append(e.got[user], published{typ, data})
}

func (e *events) PublishLatest(user, typ string, data any) { e.Publish(user, typ, data) }

func (e *events) of(user, typ string) []any {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []any
	for _, p := range e.got[user] {
		if p.typ == typ {
			out = append(out, p.data)
		}
	}
	return out
}

// capChecker checks after every committed batch that the database never
// holds more granted slots than the cap.
type capChecker struct {
	slots.Store
	db      *sqlite.Store
	mu      sync.Mutex
	cap     int
	maxSeen int
}

func (c *capChecker) ApplySlots(ctx context.Context, ops []slots.Op) error {
	if err := c.Store.ApplySlots(ctx, ops); err != nil {
		return err
	}
	var n int
	if err := c.db.W.QueryRowContext(ctx, `SELECT count(*) FROM slots WHERE state = 'granted'`).Scan(&n); err != nil {
		return err
	}
	c.mu.Lock()
	c.maxSeen = max(c.maxSeen, n)
	c.mu.Unlock()
	return nil
}

func (c *capChecker) max() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxSeen
}

type env struct {
	t     *testing.T
	db    *sqlite.Store
	st    slots.Store
	clock *brokertest.Clock
	pcs   *pcs
	ev    *events
	m     *slots.Manager
	// BCP mode (bcp_test.go); nil elsewhere.
	people slots.People
	bc     slots.Broadcaster
}

func newEnv(t *testing.T, policy api.SlotConfig) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "z.db"), nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, st: db.Slots(), clock: brokertest.NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)),
		pcs: &pcs{noPC: map[string]bool{}}, ev: &events{}}
	e.open(policy)
	return e
}

func (e *env) open(policy api.SlotConfig) {
	e.t.Helper()
	m, err := slots.New(context.Background(), slots.Config{Store: e.st, Terminals: e.pcs, Events: e.ev,
		Now: e.clock.Now, Default: policy, People: e.people, Broadcast: e.bc})
	if err != nil {
		e.t.Fatal(err)
	}
	m.SetWaker(func(context.Context, api.Terminal, func(string, string)) error { return nil })
	e.m = m
	e.t.Cleanup(m.Close)
}

func (e *env) acquire(user string) api.Slot {
	e.t.Helper()
	s, err := e.m.Acquire(context.Background(), as(user), "laptop")
	if err != nil {
		e.t.Fatalf("acquire %s: %v", user, err)
	}
	return s
}

func TestCapNeverExceededUnderConcurrentAcquires(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cap, users int
	}{
		{"cap 140 of 3000", 140, 3000},
		{"cap 300 of 3000", 300, 3000},
		{"cap 1 of 500", 1, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, api.SlotConfig{Cap: tc.cap})
			chk := &capChecker{Store: e.db.Slots(), db: e.db}
			e.m.Close()
			e.st = chk
			e.open(api.SlotConfig{Cap: tc.cap})

			// An observer watches the live count the whole time.
			stopWatch := make(chan struct{})
			watched := make(chan int, 1)
			go func() {
				most := 0
				for {
					select {
					case <-stopWatch:
						watched <- most
						return
					default:
					}
					_, g, _ := e.m.Counts()
					most = max(most, g)
				}
			}()
			var wg sync.WaitGroup
			results := make([]api.Slot, tc.users)
			errs := make([]error, tc.users)
			start := make(chan struct{})
			for i := range tc.users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = e.m.Acquire(context.Background(), as(fmt.Sprintf("u%04d", i)), "")
				}()
			}
			close(start)
			wg.Wait()
			granted, positions := 0, map[int]bool{}
			for i, s := range results {
				if errs[i] != nil {
					t.Fatalf("acquire %d: %v", i, errs[i])
				}
				switch s.State {
				case api.SlotGranted:
					granted++
				case api.SlotQueued:
					if positions[s.Position] {
						t.Errorf("position %d handed out twice", s.Position)
					}
					positions[s.Position] = true
				}
			}
			if granted != tc.cap {
				t.Errorf("granted %d, want exactly the cap %d", granted, tc.cap)
			}
			if len(positions) != tc.users-tc.cap || !positions[1] || !positions[tc.users-tc.cap] {
				t.Errorf("queue positions: %d distinct, want 1..%d", len(positions), tc.users-tc.cap)
			}
			if m := chk.max(); m > tc.cap {
				t.Errorf("database held %d granted slots, cap %d", m, tc.cap)
			}

			// Now churn: everyone releases and re-requests at once;
			// the count must stay within the cap throughout.
			var churn sync.WaitGroup
			for i := range tc.users {
				churn.Add(1)
				go func() {
					defer churn.Done()
					user := fmt.Sprintf("u%04d", i)
					if err := e.m.Release(context.Background(), as(user), results[i].ID); err != nil {
						t.Errorf("release %s: %v", user, err)
						return
					}
					if _, err := e.m.Acquire(context.Background(), as(user), ""); err != nil {
						t.Errorf("re-acquire %s: %v", user, err)
					}
				}()
			}
			churn.Wait()
			close(stopWatch)
			if most := <-watched; most > tc.cap {
				t.Errorf("live count reached %d, cap %d", most, tc.cap)
			}
			capNow, g, q := e.m.Counts()
			if g != capNow || q != tc.users-capNow {
				t.Errorf("after churn: granted %d queued %d, want %d and %d", g, q, capNow, tc.users-capNow)
			}
			if m := chk.max(); m > tc.cap {
				t.Errorf("database held %d granted slots during churn, cap %d", m, tc.cap)
			}
		})
	}
}

func TestQueueOrderAndPositionUpdates(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 2})
	got := map[string]api.Slot{}
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		got[u] = e.acquire(u)
	}
	for _, tc := range []struct {
		user  string
		state string
		pos   int
	}{{"a", api.SlotGranted, 0}, {"b", api.SlotGranted, 0}, {"c", api.SlotQueued, 1}, {"d", api.SlotQueued, 2}, {"e", api.SlotQueued, 3}} {
		if s := got[tc.user]; s.State != tc.state || s.Position != tc.pos {
			t.Errorf("%s: %s at %d, want %s at %d", tc.user, s.State, s.Position, tc.state, tc.pos)
		}
	}
	// Asking again returns the same slot, not a second one.
	if again := e.acquire("c"); again.ID != got["c"].ID || again.Position != 1 {
		t.Errorf("second request of c: %+v", again)
	}
	// Nobody jumps the queue: d leaves, a frees a slot → c (head) gets it.
	if err := e.m.Release(context.Background(), as("d"), got["d"].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Release(context.Background(), as("a"), got["a"].ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.Mine("c"); s.State != api.SlotGranted {
		t.Errorf("c after a left: %s, want granted", s.State)
	}
	if s, _ := e.m.Mine("e"); s.State != api.SlotQueued || s.Position != 1 {
		t.Errorf("e: %s at %d, want queued at 1", s.State, s.Position)
	}
	// e saw 3, then 2 (d left), then 1 (c granted).
	var seen []int
	for _, d := range e.ev.of("e", api.EventQueue) {
		seen = append(seen, d.(api.QueueUpdate).Position)
	}
	if fmt.Sprint(seen) != "[3 2 1]" {
		t.Errorf("positions pushed to e: %v, want [3 2 1]", seen)
	}
	if n := len(e.ev.of("c", api.EventGranted)); n != 1 {
		t.Errorf("c got %d grant events, want 1", n)
	}
	// Another user's slot is invisible.
	if err := e.m.Release(context.Background(), as("b"), got["e"].ID); api.AsError(err) == nil || api.AsError(err).Code != api.CodeSlotNotFound {
		t.Errorf("b releasing e's slot: %v, want slot_not_found", err)
	}
}

func TestLeaseExpiryFreesSlot(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	a := e.acquire("a")
	b := e.acquire("b")
	if b.State != api.SlotQueued {
		t.Fatalf("b: %s", b.State)
	}
	// b keeps its place by heartbeat; a's app crashed and sends none.
	for range 3 {
		e.clock.Advance(30 * time.Second)
		if _, err := e.m.Heartbeat(context.Background(), as("b"), b.ID, api.HeartbeatRequest{}); err != nil {
			t.Fatal(err)
		}
		if err := e.m.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.Mine("a"); err == nil {
		t.Fatal("a's slot still live 90 s after its last heartbeat")
	}
	if s, _ := e.m.Mine("b"); s.State != api.SlotGranted {
		t.Errorf("b: %s, want granted after a's lease lapsed", s.State)
	}
	ended := e.ev.of("a", api.EventEnded)
	if len(ended) != 1 || ended[0].(api.EndedNotice).Reason != api.EndLease {
		t.Errorf("a's end events: %v", ended)
	}
	_, err := e.m.Heartbeat(context.Background(), as("a"), a.ID, api.HeartbeatRequest{})
	if ae := api.AsError(err); ae == nil || ae.Code != api.CodeSlotEnded {
		t.Errorf("late heartbeat: %v, want slot_ended", err)
	}
}

func TestIdleTimeoutAndMaximumLength(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    api.SlotConfig
		active    bool // heartbeats report activity
		warnAfter time.Duration
		endAfter  time.Duration
		reason    string
	}{
		{"idle", api.SlotConfig{Cap: 5, IdleMinutes: 30, MaxMinutes: 480, WarnMinutes: 5}, false, 25 * time.Minute, 30 * time.Minute, api.EndIdle},
		{"maximum length while active", api.SlotConfig{Cap: 5, IdleMinutes: 30, MaxMinutes: 60, WarnMinutes: 10}, true, 50 * time.Minute, 60 * time.Minute, api.EndMaxLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.policy)
			s := e.acquire("a")
			var elapsed time.Duration
			step := time.Minute
			for elapsed < tc.endAfter+step {
				e.clock.Advance(step)
				elapsed += step
				if _, err := e.m.Heartbeat(context.Background(), as("a"), s.ID, api.HeartbeatRequest{Active: tc.active}); err != nil {
					if elapsed < tc.endAfter {
						t.Fatalf("heartbeat at %s: %v", elapsed, err)
					}
					break
				}
				if err := e.m.Sweep(context.Background()); err != nil {
					t.Fatal(err)
				}
				warned := len(e.ev.of("a", api.EventWarning)) > 0
				if want := elapsed >= tc.warnAfter; warned != want {
					t.Fatalf("at %s: warned %v, want %v", elapsed, warned, want)
				}
				_, live := e.m.Mine("a")
				if want := elapsed < tc.endAfter; (live == nil) != want {
					t.Fatalf("at %s: live %v, want %v", elapsed, live == nil, want)
				}
			}
			if w := e.ev.of("a", api.EventWarning); len(w) != 1 || w[0].(api.SlotWarning).Reason != tc.reason {
				t.Errorf("warnings: %v, want one %s", w, tc.reason)
			}
			if end := e.ev.of("a", api.EventEnded); len(end) != 1 || end[0].(api.EndedNotice).Reason != tc.reason {
				t.Errorf("end: %v, want %s", end, tc.reason)
			}
		})
	}
}

func TestActivityPostponesIdleEnd(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 5, IdleMinutes: 30, WarnMinutes: 5})
	s := e.acquire("a")
	for range 29 {
		e.clock.Advance(time.Minute)
		if _, err := e.m.Heartbeat(context.Background(), as("a"), s.ID, api.HeartbeatRequest{}); err != nil {
			t.Fatal(err)
		}
		_ = e.m.Sweep(context.Background())
	}
	// Bytes typed by the user through the tunnel count as activity.
	e.m.AddBytes(s.ID, 100, 5000)
	for range 20 {
		e.clock.Advance(time.Minute)
		if _, err := e.m.Heartbeat(context.Background(), as("a"), s.ID, api.HeartbeatRequest{}); err != nil {
			t.Fatalf("ended although the user typed 20 minutes ago: %v", err)
		}
		_ = e.m.Sweep(context.Background())
	}
	if sl, err := e.m.Mine("a"); err != nil || sl.BytesUp != 100 {
		t.Errorf("slot %+v, %v", sl, err)
	}
}

// TestBytesAfterTheEndCount: the relay reports a tunnel's last bytes as
// it closes, which is after the slot ended when IT or a timeout ends it.
func TestBytesAfterTheEndCount(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 5})
	s := e.acquire("a")
	e.m.AddBytes(s.ID, 1000, 20000)
	if err := e.m.End(context.Background(), "it", s.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.m.AddBytes(s.ID, 5, 700)
	e.m.AddBytes("s_unknown", 1, 1) // never existed: ignored
	var up, down int64
	deadline := time.Now().Add(10 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err := e.db.R.QueryRow(`SELECT bytes_up, bytes_down FROM slot_history WHERE id = ?`, s.ID).Scan(&up, &down)
		if err == nil && up == 1005 && down == 20700 {
			return
		}
	}
	t.Fatalf("history counts %d up, %d down; want 1005, 20700", up, down)
}

func TestRestartKeepsGrantsAndQueue(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	a, b := e.acquire("a"), e.acquire("b")
	c := e.acquire("c")
	e.m.Close()
	e.open(api.SlotConfig{Cap: 1})
	for _, tc := range []struct {
		user, id, state string
		pos             int
	}{{"a", a.ID, api.SlotGranted, 0}, {"b", b.ID, api.SlotQueued, 1}, {"c", c.ID, api.SlotQueued, 2}} {
		s, err := e.m.Mine(tc.user)
		if err != nil || s.ID != tc.id || s.State != tc.state || s.Position != tc.pos {
			t.Errorf("%s after restart: %+v %v", tc.user, s, err)
		}
	}
	// The queue goes on in the same order.
	if err := e.m.Release(context.Background(), as("a"), a.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.Mine("b"); s.State != api.SlotGranted {
		t.Errorf("b: %s", s.State)
	}
}

func TestPolicyChangedLive(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 140})
	for i := range 200 {
		e.acquire(fmt.Sprintf("u%03d", i))
	}
	ctx := context.Background()
	for _, tc := range []struct {
		cap, granted, queued int
	}{
		{200, 200, 0}, // raised: the queue is granted at once
		{140, 200, 0}, // lowered: no one is cut off
		{300, 200, 0},
	} {
		n := tc.cap
		p, err := e.m.SetPolicy(ctx, "it", api.SlotConfigUpdate{Cap: &n})
		if err != nil || p.Cap != n {
			t.Fatalf("set cap %d: %+v %v", n, p, err)
		}
		if c, g, q := e.m.Counts(); c != n || g != tc.granted || q != tc.queued {
			t.Errorf("cap %d: %d/%d granted, %d queued; want %d granted, %d queued", n, g, c, q, tc.granted, tc.queued)
		}
	}
	// Lowered under the live count: grants stop until under the cap.
	low := 150
	if _, err := e.m.SetPolicy(ctx, "it", api.SlotConfigUpdate{Cap: &low}); err != nil {
		t.Fatal(err)
	}
	if s := e.acquire("late"); s.State != api.SlotQueued {
		t.Errorf("late request with 200 live and cap 150: %s", s.State)
	}
	bad := -1
	if _, err := e.m.SetPolicy(ctx, "it", api.SlotConfigUpdate{IdleMinutes: &bad}); api.AsError(err) == nil || api.AsError(err).Code != api.CodeValidation {
		t.Errorf("negative idle minutes: %v", err)
	}
	// The policy survives a restart.
	e.m.Close()
	e.open(api.SlotConfig{Cap: 1})
	if p := e.m.Policy(); p.Cap != 150 || p.UpdatedBy != "it" {
		t.Errorf("policy after restart: %+v", p)
	}
}

func TestRDPPolicyGoesWithTheGrant(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	ctx := context.Background()
	if s := e.acquire("a"); s.RDP == nil || *s.RDP != (api.RDPPolicy{}) {
		t.Fatalf("default: %+v, want the LGWAN profile (nothing redirected)", s.RDP)
	}
	if s := e.acquire("b"); s.RDP != nil {
		t.Errorf("a queued slot carries a policy: %+v", s.RDP)
	}
	allow := api.RDPPolicy{Audio: true, Printers: true}
	p, err := e.m.SetPolicy(ctx, "it", api.SlotConfigUpdate{RDP: &allow})
	if err != nil || p.RDP != allow || p.Cap != 1 {
		t.Fatalf("set: %+v %v", p, err)
	}
	if s, _ := e.m.Mine("a"); *s.RDP != allow {
		t.Errorf("granted slot: %+v", s.RDP)
	}
	// The CLI writes the store; the running manager adopts it on its sweep.
	clip := api.RDPPolicy{Clipboard: true}
	e.clock.Advance(time.Second)
	if _, err := slots.SavePolicy(ctx, e.st, nopAudit{}, e.clock.Now(), "cli", slots.DefaultPolicy, api.SlotConfigUpdate{RDP: &clip}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if p := e.m.Policy(); p.RDP != clip || p.Cap != 1 {
		t.Errorf("after the CLI's change: %+v", p)
	}
	e.m.Close()
	e.open(api.SlotConfig{Cap: 1})
	if p := e.m.Policy(); p.RDP != clip {
		t.Errorf("after a restart: %+v", p.RDP)
	}
}

func TestParseRDPPolicy(t *testing.T) {
	for in, want := range map[string]string{"none": "none", "": "none", "audio,printers": "printers,audio",
		" clipboard , usb": "clipboard,usb", "clipboard,drives,printers,smart_cards,usb,audio": "clipboard,drives,printers,smart_cards,usb,audio"} {
		p, err := api.ParseRDPPolicy(in)
		if err != nil || p.String() != want {
			t.Errorf("%q: %s %v, want %s", in, p, err, want)
		}
	}
	if _, err := api.ParseRDPPolicy("camera"); api.AsError(err) == nil || !strings.Contains(err.Error(), "clipboard") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestEndByITAndFromTheCLI(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	a, b := e.acquire("a"), e.acquire("b")
	ctx := context.Background()
	if err := e.m.End(ctx, "it", a.ID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if end := e.ev.of("a", api.EventEnded); len(end) != 1 || end[0].(api.EndedNotice).Message != "maintenance" {
		t.Errorf("a told: %v", end)
	}
	if s, _ := e.m.Mine("b"); s.State != api.SlotGranted {
		t.Fatalf("b: %s", s.State)
	}
	// The CLI shares only the database: the broker applies it on its sweep.
	if err := slots.RequestEnd(ctx, e.st, nopAudit{}, e.clock.Now(), "cli", b.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := slots.RequestEnd(ctx, e.st, nopAudit{}, e.clock.Now(), "cli", "s_nope", ""); api.AsError(err) == nil {
		t.Errorf("ending an unknown slot: %v", err)
	}
	if err := e.m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Mine("b"); err == nil {
		t.Error("b still live after the CLI ended it")
	}
}

func TestPoolPCs(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 10})
	e.pcs.noPC = map[string]bool{"p1": true, "p2": true, "p3": true}
	ctx := context.Background()
	// No pool yet: a user without a PC is told to ask IT.
	if _, err := e.m.Acquire(ctx, as("p1"), ""); api.AsError(err) == nil || api.AsError(err).Code != api.CodeSlotNoTerminal {
		t.Fatalf("no PC, no pool: %v", err)
	}
	e.pcs.pool = []api.Terminal{{ID: "pool-1", Name: "共用1", Pool: true}, {ID: "pool-2", Name: "共用2", Pool: true}}
	if err := e.m.RefreshPool(ctx); err != nil {
		t.Fatal(err)
	}
	s1, s2, s3 := e.acquire("p1"), e.acquire("p2"), e.acquire("p3")
	if s1.State != api.SlotGranted || s2.State != api.SlotGranted || s1.Terminal.ID == s2.Terminal.ID {
		t.Fatalf("pool grants: %+v %+v", s1.Terminal, s2.Terminal)
	}
	if s3.State != api.SlotQueued {
		t.Fatalf("third pool user: %s, want queued for a pool PC", s3.State)
	}
	// A user with their own PC is not held up behind the pool user.
	if s := e.acquire("own"); s.State != api.SlotGranted {
		t.Errorf("own PC behind a waiting pool user: %s", s.State)
	}
	if err := e.m.Release(ctx, as("p1"), s1.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.Mine("p3"); s.State != api.SlotGranted || s.Terminal.ID != s1.Terminal.ID {
		t.Errorf("p3 after p1 left: %+v", s)
	}
	addr, err := e.m.Target(ctx, as("p3"), s3.ID)
	if err != nil || addr == "" {
		t.Errorf("target: %q %v", addr, err)
	}
	if _, err := e.m.Target(ctx, as("p2"), s3.ID); !errors.Is(err, api.Err(api.CodeSlotNotFound)) {
		t.Errorf("another user's target: %v", err)
	}
}

func TestOneSlotPerUserUnderConcurrentRequests(t *testing.T) {
	e := newEnv(t, api.SlotConfig{Cap: 1})
	e.acquire("holder")
	var wg sync.WaitGroup
	ids := make([]string, 50)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.m.Acquire(context.Background(), as("yamada"), fmt.Sprintf("device-%d", i))
			if err != nil {
				t.Errorf("acquire: %v", err)
				return
			}
			ids[i] = s.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("two slots for one user: %s and %s", ids[0], id)
		}
	}
	if _, _, q := e.m.Counts(); q != 1 {
		t.Errorf("queue holds %d, want yamada once", q)
	}
}

// as is the user's one sign-in on their one laptop.
func as(user string) slots.Holder {
	return slots.Holder{UserID: user, SessionID: "sess-" + user, DeviceID: "dev-" + user}
}
