package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2EQueuePositionFollowsTheQueue: two brokers on one PostgreSQL and
// a cap of one. u4 waits on broker A behind u2 (A) and u3 (B); the slot
// is given back on B, and u3 leaves the queue on B. u4's app, on A, is
// told each new place by A, which learns of B's commits by notification
// (the change feed), and never sees its place go back: each update
// carries the feed's version, and versions never fall.
func TestE2EQueuePositionFollowsTheQueue(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := brokertest.Start(t, brokertest.WithDB(url))
	b := brokertest.Start(t, brokertest.WithDB(url), brokertest.WithClock(a.Clock), brokertest.WithDataDir(sameKey(t, a.DataDir)))
	it := a.Signin(t, "it-admin", api.RoleAdmin)
	users := staffWithPCs(t, a, it, 1, "u1", "u2", "u3", "u4")
	u1, u2, u3, u4 := b.Login(t, users["u1"]), a.Login(t, users["u2"]), b.Login(t, users["u3"]), a.Login(t, users["u4"])
	ask := func(s *brokertest.Session, state string, pos int) *api.Slot {
		t.Helper()
		sl, err := s.RequestSlot(ctx, api.SlotRequest{})
		if err != nil || sl.State != state || sl.Position != pos {
			t.Fatalf("%s: %+v %v, want %s at %d", s.User.ID, sl, err, state, pos)
		}
		return sl
	}
	s1 := ask(u1, api.SlotGranted, 0)
	ask(u2, api.SlotQueued, 1)
	s3 := ask(u3, api.SlotQueued, 2)
	ask(u4, api.SlotQueued, 3)
	es, err := u4.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	nextOf(ctx, t, es, api.EventHello)

	last := api.QueueUpdate{Position: 3}
	waitFor := func(pos int) {
		t.Helper()
		for last.Position != pos {
			ev := nextOf(ctx, t, es, api.EventQueue)
			var q api.QueueUpdate
			if err := json.Unmarshal(ev.Data, &q); err != nil {
				t.Fatal(err)
			}
			if q.Position > last.Position || q.Version < last.Version || q.Version == 0 {
				t.Fatalf("u4's place went back: %+v after %+v", q, last)
			}
			last = q
		}
	}
	// The slot is given back on B: u2 (on A) gets it, u4 moves up.
	if err := u1.ReleaseSlot(ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(2)
	// u3 leaves the queue on B: u4 is next.
	if err := u3.ReleaseSlot(ctx, s3.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(1)
	if sl, err := u4.MySlot(ctx); err != nil || sl.Position != 1 {
		t.Fatalf("u4 asks A: %+v %v", sl, err)
	}

	// Two brokers' updates crossing on the bus: once B's has reached
	// u4's socket on A, an older one from A is dropped by A's hub (the
	// next frame u4 sees is the newer marker after it).
	q := func(pos int, v int64) api.QueueUpdate {
		return api.QueueUpdate{SlotID: "crossing", Position: pos, Version: v}
	}
	next := func() api.QueueUpdate {
		t.Helper()
		var got api.QueueUpdate
		if err := json.Unmarshal(nextOf(ctx, t, es, api.EventQueue).Data, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	b.Services.Events.PublishNewest("u4", api.EventQueue, "crossing", 1<<40, q(5, 1<<40))
	if got := next(); got.Version != 1<<40 {
		t.Fatalf("B's update: %+v", got)
	}
	a.Services.Events.PublishNewest("u4", api.EventQueue, "crossing", 1<<39, q(7, 1<<39))
	a.Services.Events.PublishNewest("u4", api.EventQueue, "crossing", 1<<41, q(4, 1<<41))
	if got := next(); got.Version != 1<<41 || got.Position != 4 {
		t.Fatalf("after an older update from A: %+v, want the newer one (the older dropped)", got)
	}
}
