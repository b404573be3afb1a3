package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2ELedgerDecides holds the database's grant (slots.Ledger) to what
// the in-memory manager does: requests numbered in arrival order, granted
// under the cap, a second request of the same user refused, BCP
// priority first while BCP mode is on (with its higher cap), lapsed
// leases ended into the history, an end applied once however many
// brokers send it.
func TestE2ELedgerDecides(t *testing.T) {
	ctx := context.Background()
	st, l, d := openLedger(t, 2)
	now := d.Now()
	req := func(i int) slots.Op { return ledgerRequest(i, now) }
	for i, dept := range []string{"総務課", "総務課", "危機管理課", "総務課", "危機管理課"} {
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO users (id, name, department, roles, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, 'staff', '', 0, 0)`, fmt.Sprint("u", i), fmt.Sprint("u", i), dept); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(out slots.Outcome, state string) []string {
		var s []string
		for _, r := range out.Live {
			if r.State == state {
				s = append(s, r.ID)
			}
		}
		return s
	}
	out, err := l.Decide(ctx, []slots.Op{req(0), req(1), req(2), req(3)}, d)
	if err != nil {
		t.Fatal(err)
	}
	if g, q := ids(out, api.SlotGranted), ids(out, api.SlotQueued); !slices.Equal(g, []string{"s0", "s1"}) || !slices.Equal(q, []string{"s2", "s3"}) ||
		!slices.Equal(out.Granted, g) {
		t.Fatalf("granted %v (decided %v), queued %v", g, out.Granted, q)
	}
	// The same user asking through another broker is refused.
	dup := req(9)
	dup.Put.UserID = "u2"
	out, err = l.Decide(ctx, []slots.Op{dup}, slots.Decision{Now: d.Now, Lease: d.Lease, DefaultCap: 2, Broker: "b2"})
	if err != nil || !slices.Equal(out.Refused, []string{"s9"}) || len(out.Live) != 4 {
		t.Fatalf("a second request of u2: refused %v, live %d, %v", out.Refused, len(out.Live), err)
	}
	// BCP mode on for 危機管理課 with a cap of 3: u4 (asked last) goes
	// before s2 and s3, and takes the third slot.
	b := api.BCP{Active: true, Cap: 3, Departments: []string{"危機管理課"}, Roles: []api.Role{}, Reason: "訓練", Since: now, UpdatedAt: now}
	out, err = l.Decide(ctx, []slots.Op{{BCP: &b}, req(4)}, d)
	if err != nil {
		t.Fatal(err)
	}
	// u2 is of 危機管理課 too and came first: it is the third grant, u4
	// the queue's head, u3 (総務課) behind.
	if g, q := ids(out, api.SlotGranted), ids(out, api.SlotQueued); !slices.Equal(g, []string{"s0", "s1", "s2"}) || !slices.Equal(q, []string{"s4", "s3"}) {
		t.Fatalf("under BCP: granted %v, queued %v", g, q)
	}
	// Ends from two brokers: applied once. Then the leases lapse.
	end := slots.Op{End: &slots.Ended{Record: *req(0).Put, EndedAt: now, Reason: api.EndUser}}
	if out, err = l.Decide(ctx, []slots.Op{end, end}, d); err != nil || out.Ended["s0"] != api.EndUser {
		t.Fatalf("end: %+v %v", out.Ended, err)
	}
	if g := ids(out, api.SlotGranted); !slices.Equal(g, []string{"s1", "s2", "s4"}) {
		t.Fatalf("after the end: granted %v", g)
	}
	later := now.Add(2 * time.Minute) // s3's lease (a minute) lapsed; the grants' (90 s) too
	out, err = l.Decide(ctx, []slots.Op{{Lapsed: &later}}, d)
	if err != nil || len(out.Live) != 0 || len(out.Ended) != 4 {
		t.Fatalf("lapsed: live %+v, ended %v, %v", out.Live, out.Ended, err)
	}
	reasons, err := l.EndReasons(ctx, []string{"s0", "s3"})
	if err != nil || reasons["s0"] != api.EndUser || reasons["s3"] != api.EndLease {
		t.Fatalf("reasons %v %v", reasons, err)
	}

	// Pool users (no PC of their own) wait for a free pool PC; those
	// behind them with their own PC are not held up.
	b.Active = false
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO terminals (id, name, address, rdp_port, pool, created_at, updated_at)
		VALUES ('pool-1', 'pool', '127.0.0.1', 3389, 1, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	p0, p1, own := req(0), req(1), req(3)
	p0.Put.ID, p1.Put.ID, own.Put.ID = "p0", "p1", "p3"
	p0.Put.TerminalID, p1.Put.TerminalID = "", ""
	out, err = l.Decide(ctx, []slots.Op{{BCP: &b}, p0, p1, own}, d) // cap 2
	if err != nil {
		t.Fatal(err)
	}
	g, q := ids(out, api.SlotGranted), ids(out, api.SlotQueued)
	if !slices.Equal(g, []string{"p0", "p3"}) || !slices.Equal(q, []string{"p1"}) || out.Live[0].TerminalID != "pool-1" {
		t.Fatalf("pool: granted %v, queued %v, live %+v", g, q, out.Live)
	}
}

// TestE2ELedgerChangeFeed: asked with the version it last read, Decide
// answers with the slots changed since and the slots that ended since,
// not every live slot; a heartbeat is no change. A broker of the version
// before (which knows nothing of slot_version) still moves the feed:
// its grant, by a plain UPDATE, and its request, by a plain INSERT.
func TestE2ELedgerChangeFeed(t *testing.T) {
	ctx := context.Background()
	st, l, d := openLedger(t, 1)
	now := d.Now()
	req := func(i int) slots.Op { return ledgerRequest(i, now) }
	var ops []slots.Op
	for i := range 4 {
		ops = append(ops, req(i))
	}
	full, err := l.Decide(ctx, ops, d)
	if err != nil || full.Delta || len(full.Live) != 4 || full.Version == 0 {
		t.Fatalf("full read: delta %v, %d live, version %d, %v", full.Delta, len(full.Live), full.Version, err)
	}
	// Nothing changed: nothing read.
	d.Since = full.Version
	out, err := l.Decide(ctx, nil, d)
	if err != nil || !out.Delta || len(out.Live) != 0 || len(out.Gone) != 0 || out.Version != full.Version {
		t.Fatalf("no change: delta %v, live %+v, gone %v, version %d, %v", out.Delta, out.Live, out.Gone, out.Version, err)
	}
	// A heartbeat (a Put of a numbered slot) changes nothing others decide by.
	hb := full.Live[2]
	hb.LeaseUntil = now.Add(2 * time.Minute)
	if out, err = l.Decide(ctx, []slots.Op{{Put: &hb}}, d); err != nil || len(out.Live) != 0 {
		t.Fatalf("heartbeat: live %+v, %v", out.Live, err)
	}
	// Another broker ends s0: s1 is granted in its place. The broker
	// that reads next gets the end and the grant, nothing else.
	end := slots.Op{End: &slots.Ended{Record: full.Live[0], EndedAt: now, Reason: api.EndUser}}
	b2 := d
	b2.Broker, b2.Since = "b2", 0
	if _, err := l.Decide(ctx, []slots.Op{end}, b2); err != nil {
		t.Fatal(err)
	}
	out, err = l.Decide(ctx, nil, d)
	if err != nil || !out.Delta || out.Gone["s0"] != api.EndUser || len(out.Live) != 1 || out.Live[0].ID != "s1" ||
		out.Live[0].State != api.SlotGranted || out.Version <= full.Version {
		t.Fatalf("after another broker's end: live %+v, gone %v, version %d (was %d), %v", out.Live, out.Gone, out.Version, full.Version, err)
	}
	// A broker of the version before: a request and a grant in its own
	// words (migration 0195's columns only).
	d.Since = out.Version
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO slots (id, user_id, state, queue_seq, terminal_id, device, requested_at,
		granted_at, lease_until, last_active_at, warned, bytes_up, bytes_down, session_id, device_id, broker)
		VALUES ('old', 'u9', 'queued', nextval('slot_queue_seq'), 'pc9', '', 0, 0, ?, 0, '', 0, 0, '', '', 'old-broker')`,
		now.Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `UPDATE slots SET state = 'granted', granted_at = 1 WHERE id = 's2'`); err != nil {
		t.Fatal(err)
	}
	out, err = l.Decide(ctx, nil, slots.Decision{Now: d.Now, Lease: d.Lease, DefaultCap: 3, Broker: "b1", Since: d.Since})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range out.Live {
		got[r.ID] = r.State
	}
	// The cap is 3 here: s3 is granted beside s1 and s2; s1 did not
	// change, the older broker's request waits.
	if len(got) != 3 || got["s2"] != api.SlotGranted || got["s3"] != api.SlotGranted || got["old"] != api.SlotQueued {
		t.Fatalf("an older broker's writes: live %v", got)
	}
}

// openLedger is an emptied database's ledger, deciding for broker b1
// under cap at a clock that stands at 09:00.
func openLedger(t *testing.T, limit int) (*postgres.Store, slots.Ledger, slots.Decision) {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.Shared(t).Emptied(t), nil, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	return st, st.Slots().(slots.Ledger), slots.Decision{Now: func() time.Time { return now }, Lease: 90 * time.Second, DefaultCap: limit, Broker: "b1"}
}

// ledgerRequest is user u<i>'s new request for pc<i> on broker b1.
func ledgerRequest(i int, now time.Time) slots.Op {
	return slots.Op{Put: &slots.Record{ID: fmt.Sprint("s", i), UserID: fmt.Sprint("u", i), State: api.SlotQueued,
		TerminalID: fmt.Sprint("pc", i), RequestedAt: now, LeaseUntil: now.Add(time.Minute), LastActiveAt: now, Broker: "b1"}}
}
