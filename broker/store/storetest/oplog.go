package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/oplog"
	"github.com/zaitaku/zaitaku/broker/services"
)

// oprow is event seq of device dev, at the given time, of user.
func oprow(dev string, seq int64, when time.Time, user string) oplog.Row {
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", dev, seq))
	return oplog.Row{DeviceID: dev, Seq: seq, At: when.UnixMilli(), UserID: user, Department: "税務課", Type: "rdp.connect",
		Target: "pc-1", Fields: `{"target":"pc-1"}`, Prev: make([]byte, 32), Hash: h[:], ReceivedAt: t0.UnixMilli()}
}

func insertRows(t *testing.T, st services.Stores, rows ...oplog.Row) int {
	t.Helper()
	var n int
	must(t, st.Oplog().InTx(t.Context(), func(tx oplog.Tx) error {
		var err error
		n, err = tx.Insert(t.Context(), rows)
		return err
	}))
	return n
}

func search(t *testing.T, st services.Stores, q oplog.Query) []oplog.Row {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = oplog.MaxLimit
	}
	rows, err := st.Oplog().Search(t.Context(), q)
	must(t, err)
	return rows
}

func rowKeys(rows []oplog.Row) []string {
	var ks []string
	for _, r := range rows {
		ks = append(ks, fmt.Sprintf("%s/%d", r.DeviceID, r.Seq))
	}
	return ks
}

func sortedKeys(rows []oplog.Row) []string {
	ks := rowKeys(rows)
	slices.Sort(ks)
	return ks
}

// inTx runs fn in a transaction that must commit.
func inTx(t *testing.T, st services.Stores, fn func(ctx context.Context, tx oplog.Tx) error) {
	t.Helper()
	must(t, st.Oplog().InTx(t.Context(), func(tx oplog.Tx) error { return fn(t.Context(), tx) }))
}

func tipOf(t *testing.T, st services.Stores, dev string) oplog.Tip {
	t.Helper()
	var tip oplog.Tip
	inTx(t, st, func(ctx context.Context, tx oplog.Tx) error {
		var err error
		tip, err = tx.Tip(ctx, dev)
		return err
	})
	return tip
}

// wantOrdered fails unless rows follow (at, id) in the direction asked:
// the keyset the cursors page by.
func wantOrdered(t *testing.T, what string, rows []oplog.Row, asc bool) {
	t.Helper()
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		less := a.At < b.At || a.At == b.At && a.ID < b.ID
		if !asc {
			less = a.At > b.At || a.At == b.At && a.ID > b.ID
		}
		if !less {
			t.Fatalf("%s: row %d (at %d, id %d) is not %s row %d (at %d, id %d)", what, i-1, a.At, a.ID,
				map[bool]string{true: "before", false: "after"}[asc], i, b.At, b.ID)
		}
	}
}

var oplogBehaviours = []behaviour{
	{"tip and stored hash of an unknown device are zero", func(t *testing.T, st services.Stores) {
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error {
			tip, err := tx.Tip(ctx, "dev_new")
			must(t, err)
			same(t, "tip", tip, oplog.Tip{})
			h, err := tx.StoredHash(ctx, "dev_new", 1)
			must(t, err)
			if h != nil {
				t.Errorf("stored hash = %x, want nil", h)
			}
			return nil
		})
	}},
	{"set tip is read back by later transactions, and a new tip replaces it", func(t *testing.T, st services.Stores) {
		for _, tip := range []oplog.Tip{{Seq: 3, Hash: key(3)}, {Seq: 5, Hash: key(5)}} {
			inTx(t, st, func(ctx context.Context, tx oplog.Tx) error { return tx.SetTip(ctx, "dev_1", tip, t0.UnixMilli()) })
			same(t, "tip", tipOf(t, st, "dev_1"), tip)
		}
		same(t, "tip of another device", tipOf(t, st, "dev_2"), oplog.Tip{})
	}},
	{"insert stores every field and reports how many rows were new", func(t *testing.T, st services.Stores) {
		r1, r2 := oprow("dev_1", 1, at(0), "k1024"), oprow("dev_1", 2, at(1), "k1024")
		// A broker event: no department, no target, no fields.
		r3 := oplog.Row{DeviceID: api.OplogBrokerDevice, Seq: 1, At: at(2).UnixMilli(), UserID: "system", Type: "oplog.purged",
			Prev: make([]byte, 32), Hash: key(9), ReceivedAt: at(2).UnixMilli()}
		if n := insertRows(t, st, r1, r2, r3); n != 3 {
			t.Errorf("Insert = %d, want 3", n)
		}
		got := search(t, st, oplog.Query{Asc: true})
		if len(got) != 3 {
			t.Fatalf("search found %d rows, want 3", len(got))
		}
		ids := map[int64]bool{}
		for i, want := range []oplog.Row{r1, r2, r3} {
			if got[i].ID <= 0 || ids[got[i].ID] {
				t.Errorf("row %d has id %d: want a positive id of its own", i, got[i].ID)
			}
			ids[got[i].ID] = true
			want.ID = got[i].ID
			same(t, fmt.Sprintf("row %d", i), got[i], want)
		}
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error {
			h, err := tx.StoredHash(ctx, "dev_1", 2)
			must(t, err)
			same(t, "stored hash", h, r2.Hash)
			return nil
		})
	}},
	{"insert of a stored (device, seq) is skipped, not an error, and keeps the first copy", func(t *testing.T, st services.Stores) {
		r1, r2 := oprow("dev_1", 1, at(0), "k1024"), oprow("dev_1", 2, at(1), "k1024")
		insertRows(t, st, r1, r2)
		other := r2
		other.Type, other.Hash = "edited", key(7)
		if n := insertRows(t, st, other, oprow("dev_1", 3, at(2), "k1024")); n != 1 {
			t.Errorf("Insert of a stored and a new row = %d, want 1", n)
		}
		if n := insertRows(t, st, r1, r2); n != 0 {
			t.Errorf("Insert of a retried batch = %d, want 0", n)
		}
		// The same sequence of another device is another event.
		if n := insertRows(t, st, oprow("dev_2", 2, at(1), "k2048")); n != 1 {
			t.Errorf("Insert of another device's seq 2 = %d, want 1", n)
		}
		rows := search(t, st, oplog.Query{Device: "dev_1", Asc: true})
		wantIDs(t, "rows", rowKeys(rows), []string{"dev_1/1", "dev_1/2", "dev_1/3"})
		if len(rows) == 3 && (rows[1].Type != r2.Type || string(rows[1].Hash) != string(r2.Hash)) {
			t.Errorf("dev_1/2 is %q %x, want the first copy %q %x", rows[1].Type, rows[1].Hash, r2.Type, r2.Hash)
		}
	}},
	{"insert of many rows in one call counts them all", func(t *testing.T, st services.Stores) {
		// More than one statement's worth on any engine's parameter limit
		// for small chunks; ingest inserts up to a whole batch at once.
		var rows []oplog.Row
		for i := range 250 {
			rows = append(rows, oprow("dev_1", int64(i+1), at(i), "k1024"))
		}
		if n := insertRows(t, st, rows...); n != 250 {
			t.Errorf("Insert = %d, want 250", n)
		}
		if n := insertRows(t, st, rows...); n != 0 {
			t.Errorf("Insert again = %d, want 0", n)
		}
		if got := search(t, st, oplog.Query{}); len(got) != 250 {
			t.Errorf("search found %d rows, want 250", len(got))
		}
	}},
	{"insert and add findings of nothing are no-ops", func(t *testing.T, st services.Stores) {
		// Ingest of a batch that holds only retries inserts nothing.
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error {
			n, err := tx.Insert(ctx, nil)
			must(t, err)
			if n != 0 {
				t.Errorf("Insert(nil) = %d", n)
			}
			return tx.AddFindings(ctx, nil)
		})
	}},
	{"a failing transaction stores nothing", func(t *testing.T, st services.Stores) {
		err := st.Oplog().InTx(t.Context(), func(tx oplog.Tx) error {
			ctx := t.Context()
			r := oprow("dev_1", 1, at(0), "k1024")
			if _, err := tx.Insert(ctx, []oplog.Row{r}); err != nil {
				return err
			}
			if err := tx.AddFindings(ctx, []api.OplogFinding{{DeviceID: "dev_1", Seq: 1, Kind: api.FindingGap, Detail: "x", At: t0}}); err != nil {
				return err
			}
			if err := tx.SetTip(ctx, "dev_1", oplog.Tip{Seq: 1, Hash: r.Hash}, t0.UnixMilli()); err != nil {
				return err
			}
			return errBoom
		})
		wantErr(t, "InTx", err, errBoom)
		same(t, "tip", tipOf(t, st, "dev_1"), oplog.Tip{})
		if rows := search(t, st, oplog.Query{}); len(rows) != 0 {
			t.Errorf("%d rows stored", len(rows))
		}
		fs, err := st.Oplog().Findings(t.Context(), "", 0, 100)
		must(t, err)
		if len(fs) != 0 {
			t.Errorf("%d findings stored", len(fs))
		}
	}},
	{"search returns newest first, or oldest first when asked, ties by id", func(t *testing.T, st services.Stores) {
		insertRows(t, st, oprow("dev_1", 1, at(0), "k1"), oprow("dev_1", 2, at(2), "k1"))
		insertRows(t, st, oprow("dev_2", 1, at(1), "k2"), oprow("dev_2", 2, at(2), "k2"))
		desc := search(t, st, oplog.Query{})
		wantOrdered(t, "newest first", desc, false)
		asc := search(t, st, oplog.Query{Asc: true})
		wantOrdered(t, "oldest first", asc, true)
		if len(desc) != 4 || len(asc) != 4 {
			t.Fatalf("found %d and %d rows, want 4", len(desc), len(asc))
		}
		if desc[3].At != at(0).UnixMilli() || asc[0].At != at(0).UnixMilli() {
			t.Errorf("the oldest row is not last newest first and first oldest first")
		}
		if got := search(t, st, oplog.Query{Limit: 2}); len(got) != 2 {
			t.Errorf("limit 2 gave %d rows", len(got))
		}
	}},
	{"search filters by user, device, type and the time range [from, to)", func(t *testing.T, st services.Stores) {
		var rows []oplog.Row
		for i := range 4 {
			r := oprow("dev_1", int64(i+1), at(i), "k1")
			r.Type = []string{"a", "b"}[i%2]
			rows = append(rows, r)
		}
		rows = append(rows, oprow("dev_2", 1, at(0), "k2"), oprow("dev_2", 2, at(1), "k2"))
		insertRows(t, st, rows...)
		for _, c := range []struct {
			name string
			q    oplog.Query
			want []string
		}{
			{"user", oplog.Query{User: "k2"}, []string{"dev_2/1", "dev_2/2"}},
			{"device", oplog.Query{Device: "dev_1"}, []string{"dev_1/1", "dev_1/2", "dev_1/3", "dev_1/4"}},
			{"type", oplog.Query{Type: "b"}, []string{"dev_1/2", "dev_1/4"}},
			{"user and type", oplog.Query{User: "k1", Type: "a"}, []string{"dev_1/1", "dev_1/3"}},
			{"from", oplog.Query{From: at(2).UnixMilli()}, []string{"dev_1/3", "dev_1/4"}},
			{"to", oplog.Query{To: at(1).UnixMilli()}, []string{"dev_1/1", "dev_2/1"}},
			{"from and to", oplog.Query{From: at(1).UnixMilli(), To: at(3).UnixMilli()}, []string{"dev_1/2", "dev_1/3", "dev_2/2"}},
			{"nothing matches", oplog.Query{User: "k1", Device: "dev_2"}, nil},
		} {
			wantIDs(t, c.name, sortedKeys(search(t, st, c.q)), c.want)
		}
	}},
	{"search by department finds its staff's rows", func(t *testing.T, st services.Stores) {
		// The users exist, as they do in the broker: an engine may reach a
		// department's rows through its staff.
		addUser(t, st, "k1", "税務課")
		addUser(t, st, "k2", "市民課")
		r1, r2 := oprow("dev_1", 1, at(0), "k1"), oprow("dev_2", 1, at(0), "k2")
		r2.Department = "市民課"
		insertRows(t, st, r1, r2, oprow("dev_1", 2, at(1), "k1"))
		wantIDs(t, "税務課", sortedKeys(search(t, st, oplog.Query{Department: "税務課"})), []string{"dev_1/1", "dev_1/2"})
		wantIDs(t, "市民課", sortedKeys(search(t, st, oplog.Query{Department: "市民課"})), []string{"dev_2/1"})
	}},
	{"a department's search finds the department stored with the event, whoever has moved since", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "市民課") // k1 moved from 税務課 after event 1
		r1, r2 := oprow("dev_1", 1, at(0), "k1"), oprow("dev_1", 2, at(1), "k1")
		r2.Department = "市民課"
		insertRows(t, st, r1, r2)
		wantIDs(t, "税務課", sortedKeys(search(t, st, oplog.Query{Department: "税務課"})), []string{"dev_1/1"})
		wantIDs(t, "市民課", sortedKeys(search(t, st, oplog.Query{Department: "市民課"})), []string{"dev_1/2"})
	}},
	{"department and type searches across hours: exact bounds, newest first, pages cover each row once", func(t *testing.T, st services.Stores) {
		// Rows of three devices every 20 minutes over ten hours, on hour
		// boundaries and between them, plus one from a device whose clock
		// says 1969; a range that starts and ends inside an hour.
		var rows []oplog.Row
		for i := range 30 {
			r := oprow(fmt.Sprintf("dev_%d", i%3), int64(i/3+1), t0.Add(time.Duration(i)*20*time.Minute), "k1")
			r.Type = []string{"a", "b"}[i%2]
			rows = append(rows, r)
		}
		old := oprow("dev_old", 1, time.UnixMilli(-5_400_000), "k1") // 1969-12-31 22:30 UTC
		rows = append(rows, old)
		insertRows(t, st, rows...)
		from, to := t0.Add(70*time.Minute).UnixMilli(), t0.Add(7*time.Hour).UnixMilli()
		for _, c := range []struct {
			name string
			q    oplog.Query
			keep func(oplog.Row) bool
		}{
			{"department in range", oplog.Query{Department: "税務課", From: from, To: to}, func(r oplog.Row) bool { return r.At >= from && r.At < to }},
			{"type in range", oplog.Query{Type: "b", From: from, To: to}, func(r oplog.Row) bool { return r.Type == "b" && r.At >= from && r.At < to }},
			{"department, open range", oplog.Query{Department: "税務課"}, func(oplog.Row) bool { return true }},
			{"type before 1970", oplog.Query{Type: "rdp.connect", To: 1}, func(r oplog.Row) bool { return r.DeviceID == "dev_old" }},
		} {
			var want []oplog.Row
			for _, r := range rows {
				if c.keep(r) {
					want = append(want, r)
				}
			}
			slices.SortStableFunc(want, func(a, b oplog.Row) int { return -cmpInt(a.At, b.At) })
			got := search(t, st, c.q)
			if !slices.Equal(rowKeys(got), rowKeys(want)) && !sameTimes(got, want) {
				t.Errorf("%s: got %v, want %v", c.name, rowKeys(got), rowKeys(want))
			}
			var paged []oplog.Row
			q := c.q
			q.Limit = 4
			for range 20 {
				page := search(t, st, q)
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				last := page[len(page)-1]
				q.After = &oplog.Cursor{K1: last.At, K2: last.ID}
			}
			wantIDs(t, c.name+" (pages)", rowKeys(paged), rowKeys(got))
		}
	}},
	{"search pages by cursor cover every row exactly once, either way", func(t *testing.T, st services.Stores) {
		var rows []oplog.Row
		for i := range 11 {
			// Three rows share each time: the cursor must break ties.
			rows = append(rows, oprow(fmt.Sprintf("dev_%d", i%2), int64(i+1), at(i/3), "k1"))
		}
		insertRows(t, st, rows[:6]...)
		insertRows(t, st, rows[6:]...)
		for _, asc := range []bool{false, true} {
			all := search(t, st, oplog.Query{Asc: asc})
			var paged []oplog.Row
			q := oplog.Query{Asc: asc, Limit: 3}
			for range 20 {
				page := search(t, st, q)
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				last := page[len(page)-1]
				q.After = &oplog.Cursor{K1: last.At, K2: last.ID}
			}
			wantIDs(t, fmt.Sprintf("pages (asc %v)", asc), rowKeys(paged), rowKeys(all))
			if len(all) != 11 {
				t.Errorf("asc %v: %d rows, want 11", asc, len(all))
			}
		}
	}},
	{"timeline pages by sequence, not by time", func(t *testing.T, st services.Stores) {
		var rows []oplog.Row
		for seq := int64(1); seq <= 7; seq++ {
			// The device's clock went back: time order is not sequence order.
			rows = append(rows, oprow("dev_1", seq, at(10-int(seq)), "k1"))
		}
		rows = append(rows, oprow("dev_2", 1, at(0), "k2"))
		insertRows(t, st, rows...)
		for _, c := range []struct {
			asc  bool
			want []string
		}{
			{true, []string{"dev_1/1", "dev_1/2", "dev_1/3", "dev_1/4", "dev_1/5", "dev_1/6", "dev_1/7"}},
			{false, []string{"dev_1/7", "dev_1/6", "dev_1/5", "dev_1/4", "dev_1/3", "dev_1/2", "dev_1/1"}},
		} {
			var paged []oplog.Row
			q := oplog.Query{Device: "dev_1", BySeq: true, Asc: c.asc, Limit: 3}
			for range 10 {
				page := search(t, st, q)
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				q.After = &oplog.Cursor{K1: page[len(page)-1].Seq}
			}
			wantIDs(t, fmt.Sprintf("timeline (asc %v)", c.asc), rowKeys(paged), c.want)
		}
	}},
	{"findings come in id order, paged after an id, of one device or all", func(t *testing.T, st services.Stores) {
		in := []api.OplogFinding{
			{DeviceID: "dev_1", UserID: "k1", Seq: 3, Kind: api.FindingGap, Detail: "events 3 to 4 are missing", At: subMS},
			{DeviceID: "dev_2", UserID: "k2", Seq: 1, Kind: api.FindingChain, Detail: "prev mismatch", At: at(1)},
			{DeviceID: "dev_1", Seq: 7, Kind: api.FindingConflict, Detail: "他の内容", At: at(2)},
			{DeviceID: "dev_1", UserID: "k1", Seq: 2, Kind: api.FindingOutOfOrder, Detail: "late", At: at(3)},
		}
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error { return tx.AddFindings(ctx, in[:2]) })
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error { return tx.AddFindings(ctx, in[2:]) })
		all, err := st.Oplog().Findings(t.Context(), "", 0, 100)
		must(t, err)
		if len(all) != 4 {
			t.Fatalf("%d findings, want 4", len(all))
		}
		for i := range all {
			want := in[i]
			want.ID, want.At = all[i].ID, trunc(in[i].At)
			same(t, fmt.Sprintf("finding %d", i), all[i], want)
			if i > 0 && all[i].ID <= all[i-1].ID {
				t.Errorf("finding %d has id %d after %d", i, all[i].ID, all[i-1].ID)
			}
		}
		page, err := st.Oplog().Findings(t.Context(), "dev_1", 0, 2)
		must(t, err)
		if len(page) != 2 || page[0].ID != all[0].ID || page[1].ID != all[2].ID {
			t.Fatalf("dev_1's first page = %+v, want findings 0 and 2", page)
		}
		page, err = st.Oplog().Findings(t.Context(), "dev_1", page[1].ID, 2)
		must(t, err)
		if len(page) != 1 || page[0].ID != all[3].ID {
			t.Errorf("dev_1's second page = %+v, want finding 3", page)
		}
		page, err = st.Oplog().Findings(t.Context(), "", all[3].ID, 100)
		must(t, err)
		if len(page) != 0 {
			t.Errorf("after the last finding: %+v", page)
		}
	}},
	{"holds: the same kind and subject twice is a conflict; listed by kind then subject", func(t *testing.T, st services.Stores) {
		hs := []api.OplogHold{
			{Kind: api.HoldUser, Subject: "k2", Reason: "事件 2026-17", CreatedBy: "admin", CreatedAt: subMS},
			{Kind: api.HoldDevice, Subject: "dev_1", Reason: "lost laptop", CreatedBy: "admin", CreatedAt: at(1)},
			{Kind: api.HoldUser, Subject: "k1", Reason: "audit", CreatedBy: "it", CreatedAt: at(2)},
			{Kind: api.HoldDevice, Subject: "k1", Reason: "a device named like a user", CreatedBy: "it", CreatedAt: at(3)},
		}
		for _, h := range hs {
			must(t, st.Oplog().PutHold(t.Context(), h))
		}
		again := hs[2]
		again.Reason = "another case"
		wantErr(t, "second hold", st.Oplog().PutHold(t.Context(), again), oplog.ErrConflict)
		got, err := st.Oplog().Holds(t.Context())
		must(t, err)
		want := []api.OplogHold{hs[1], hs[3], hs[2], hs[0]}
		want[3].CreatedAt = trunc(subMS)
		same(t, "holds", got, want)
	}},
	{"release: an unknown hold is not found; a released hold can be placed again", func(t *testing.T, st services.Stores) {
		wantErr(t, "DeleteHold", st.Oplog().DeleteHold(t.Context(), api.HoldUser, "k1"), oplog.ErrNotFound)
		h := api.OplogHold{Kind: api.HoldUser, Subject: "k1", Reason: "audit", CreatedBy: "it", CreatedAt: at(0)}
		must(t, st.Oplog().PutHold(t.Context(), h))
		wantErr(t, "DeleteHold of the other kind", st.Oplog().DeleteHold(t.Context(), api.HoldDevice, "k1"), oplog.ErrNotFound)
		must(t, st.Oplog().DeleteHold(t.Context(), api.HoldUser, "k1"))
		wantErr(t, "second DeleteHold", st.Oplog().DeleteHold(t.Context(), api.HoldUser, "k1"), oplog.ErrNotFound)
		must(t, st.Oplog().PutHold(t.Context(), h))
		got, err := st.Oplog().Holds(t.Context())
		must(t, err)
		same(t, "holds", got, []api.OplogHold{h})
	}},
	{"purge deletes rows before the cutoff, at most limit a call", func(t *testing.T, st services.Stores) {
		var rows []oplog.Row
		for i := range 7 {
			rows = append(rows, oprow("dev_1", int64(i+1), at(i), "k1"))
		}
		insertRows(t, st, rows...)
		var got []int64
		for range 5 {
			n, err := st.Oplog().Purge(t.Context(), at(5).UnixMilli(), 2)
			must(t, err)
			got = append(got, n)
		}
		if !slices.Equal(got, []int64{2, 2, 1, 0, 0}) {
			t.Errorf("purge counts = %v, want [2 2 1 0 0]", got)
		}
		wantIDs(t, "kept", sortedKeys(search(t, st, oplog.Query{})), []string{"dev_1/6", "dev_1/7"})
	}},
	{"purge skips held users and devices and keeps chain tips", func(t *testing.T, st services.Stores) {
		insertRows(t, st, oprow("dev_1", 1, at(0), "k1"), oprow("dev_2", 1, at(0), "k2"), oprow("dev_3", 1, at(0), "k3"))
		tip := oplog.Tip{Seq: 1, Hash: oprow("dev_3", 1, at(0), "k3").Hash}
		inTx(t, st, func(ctx context.Context, tx oplog.Tx) error { return tx.SetTip(ctx, "dev_3", tip, t0.UnixMilli()) })
		must(t, st.Oplog().PutHold(t.Context(), api.OplogHold{Kind: api.HoldUser, Subject: "k1", Reason: "r", CreatedBy: "it", CreatedAt: at(0)}))
		must(t, st.Oplog().PutHold(t.Context(), api.OplogHold{Kind: api.HoldDevice, Subject: "dev_2", Reason: "r", CreatedBy: "it", CreatedAt: at(0)}))
		cutoff := at(60).UnixMilli()
		n, err := st.Oplog().Purge(t.Context(), cutoff, 100)
		must(t, err)
		if n != 1 {
			t.Errorf("purged %d, want 1", n)
		}
		wantIDs(t, "kept under hold", sortedKeys(search(t, st, oplog.Query{})), []string{"dev_1/1", "dev_2/1"})
		same(t, "tip of the purged device", tipOf(t, st, "dev_3"), tip)
		must(t, st.Oplog().DeleteHold(t.Context(), api.HoldUser, "k1"))
		n, err = st.Oplog().Purge(t.Context(), cutoff, 100)
		must(t, err)
		if n != 1 {
			t.Errorf("purged %d after the release, want 1", n)
		}
		wantIDs(t, "kept", sortedKeys(search(t, st, oplog.Query{})), []string{"dev_2/1"})
	}},
	{"settings: unknown is not found, put overwrites", func(t *testing.T, st services.Stores) {
		_, err := st.Oplog().GetSetting(t.Context(), "oplog.retention_days")
		wantErr(t, "GetSetting", err, oplog.ErrNotFound)
		must(t, st.Oplog().PutSetting(t.Context(), "oplog.retention_days", "1825", at(0).UnixMilli()))
		must(t, st.Oplog().PutSetting(t.Context(), "oplog.retention_days", "3650", at(1).UnixMilli()))
		v, err := st.Oplog().GetSetting(t.Context(), "oplog.retention_days")
		must(t, err)
		if v != "3650" {
			t.Errorf("retention = %q, want 3650", v)
		}
	}},
	{"transactions are serialized: concurrent chain appends lose no link", func(t *testing.T, st services.Stores) {
		// The broker's audit writer and a CLI process both extend the
		// "broker" chain from the tip they read inside the transaction.
		const writers, rounds = 4, 5
		for i, err := range concurrently(writers, func(int) error {
			for range rounds {
				err := st.Oplog().InTx(t.Context(), func(tx oplog.Tx) error {
					tip, err := tx.Tip(t.Context(), api.OplogBrokerDevice)
					if err != nil {
						return err
					}
					r := oprow(api.OplogBrokerDevice, tip.Seq+1, at(0), "system")
					if n, err := tx.Insert(t.Context(), []oplog.Row{r}); err != nil {
						return err
					} else if n != 1 {
						return fmt.Errorf("seq %d was taken by a transaction that ran alongside", r.Seq)
					}
					return tx.SetTip(t.Context(), api.OplogBrokerDevice, oplog.Tip{Seq: r.Seq, Hash: r.Hash}, t0.UnixMilli())
				})
				if err != nil {
					return err
				}
			}
			return nil
		}) {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		if tip := tipOf(t, st, api.OplogBrokerDevice); tip.Seq != writers*rounds {
			t.Errorf("tip = %d, want %d", tip.Seq, writers*rounds)
		}
		if rows := search(t, st, oplog.Query{Device: api.OplogBrokerDevice}); len(rows) != writers*rounds {
			t.Errorf("%d rows, want %d", len(rows), writers*rounds)
		}
	}},
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameTimes: the same rows in the same time order (rows that share a
// time may come in either order of their keys).
func sameTimes(got, want []oplog.Row) bool {
	if len(got) != len(want) || !slices.Equal(sortedKeys(got), sortedKeys(want)) {
		return false
	}
	for i := range got {
		if got[i].At != want[i].At {
			return false
		}
	}
	return true
}
