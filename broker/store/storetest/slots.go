package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// newSlot is a queued request of user, seq-th in line, asked at minute seq.
func newSlot(id, user string, seq int64) slots.Record {
	m := int(seq)
	return slots.Record{ID: id, UserID: user, State: api.SlotQueued, QueueSeq: seq, Device: "dev_" + user,
		SessionID: "sess_" + user, DeviceID: "dev_" + user, RequestedAt: at(m), LeaseUntil: at(m + 2), LastActiveAt: at(m)}
}

func granted(r slots.Record, terminalID string, minute int) slots.Record {
	r.State, r.TerminalID, r.GrantedAt, r.LastActiveAt, r.LeaseUntil = api.SlotGranted, terminalID, at(minute), at(minute), at(minute+2)
	return r
}

func put(r slots.Record) slots.Op { return slots.Op{Put: &r} }

func endOp(r slots.Record, minute int, reason string) slots.Op {
	return slots.Op{End: &slots.Ended{Record: r, EndedAt: at(minute), Reason: reason}}
}

func apply(t *testing.T, st services.Stores, ops ...slots.Op) {
	t.Helper()
	must(t, st.Slots().ApplySlots(t.Context(), ops))
}

func loadSlots(t *testing.T, st services.Stores) []slots.Record {
	t.Helper()
	rs, err := st.Slots().LoadSlots(t.Context())
	must(t, err)
	return rs
}

func lengths(t *testing.T, st services.Stores, n int) []time.Duration {
	t.Helper()
	ls, err := st.Slots().RecentLengths(t.Context(), n)
	must(t, err)
	return ls
}

func wantLengths(t *testing.T, what string, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func endRequestIDs(rs []slots.EndRequest) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.SlotID)
	}
	return ids
}

var slotBehaviours = []behaviour{
	{"a new sign-in of the same laptop taking a slot over is stored", func(t *testing.T, st services.Stores) {
		r := granted(newSlot("s1", "k1", 1), "pc-1", 2)
		apply(t, st, put(r))
		r.SessionID = "sess_k1_again"
		apply(t, st, put(r))
		same(t, "slots", loadSlots(t, st), []slots.Record{r})
	}},
	{"load config before any was set is ErrNoConfig", func(t *testing.T, st services.Stores) {
		_, err := st.Slots().LoadConfig(t.Context())
		wantErr(t, "LoadConfig", err, slots.ErrNoConfig)
	}},
	{"a config written by apply is loaded back; the last of a batch wins", func(t *testing.T, st services.Stores) {
		c1 := api.SlotConfig{Cap: 140, IdleMinutes: 30, MaxMinutes: 480, WarnMinutes: 5, UpdatedAt: at(0), UpdatedBy: "admin"}
		c2 := api.SlotConfig{Cap: 300, IdleMinutes: 0, MaxMinutes: 600, WarnMinutes: 10, UpdatedAt: subMS, UpdatedBy: "情報政策課",
			RDP: api.RDPPolicy{Clipboard: true, Drives: true, Printers: true, SmartCards: true, USB: true, Audio: false}}
		apply(t, st, slots.Op{Config: &c1}, slots.Op{Config: &c2})
		got, err := st.Slots().LoadConfig(t.Context())
		must(t, err)
		want := c2
		want.UpdatedAt = trunc(subMS)
		same(t, "config", got, want)
		c3 := api.SlotConfig{Cap: 0, UpdatedAt: at(2), UpdatedBy: "admin", RDP: api.RDPPolicy{Audio: true}}
		apply(t, st, slots.Op{Config: &c3})
		got, err = st.Slots().LoadConfig(t.Context())
		must(t, err)
		same(t, "config after a second apply", got, c3)
	}},
	{"bcp mode before any was written is off with no cap", func(t *testing.T, st services.Stores) {
		got, err := st.Slots().LoadBCP(t.Context())
		must(t, err)
		same(t, "bcp", got, api.BCP{})
	}},
	{"bcp mode written by apply is loaded back with its lists; the last of a batch wins", func(t *testing.T, st services.Stores) {
		b1 := api.BCP{Cap: 400, Roles: []api.Role{api.RoleSupervisor}, UpdatedAt: at(0), UpdatedBy: "admin"}
		b2 := api.BCP{Active: true, Cap: 600, Roles: []api.Role{api.RoleSupervisor, api.RoleAdmin},
			Departments: []string{"危機管理課", "福祉課, 高齢者支援係"}, Reason: "震度6弱の地震のため", Since: subMS,
			UpdatedAt: subMS, UpdatedBy: "情報政策課"}
		apply(t, st, slots.Op{BCP: &b1}, slots.Op{BCP: &b2})
		got, err := st.Slots().LoadBCP(t.Context())
		must(t, err)
		want := b2
		want.Since, want.UpdatedAt = trunc(subMS), trunc(subMS)
		same(t, "bcp", got, want)
		b3 := api.BCP{Cap: 600, Reason: "復旧", Since: at(3), UpdatedAt: at(3), UpdatedBy: "admin"}
		apply(t, st, slots.Op{BCP: &b3})
		got, err = st.Slots().LoadBCP(t.Context())
		must(t, err)
		same(t, "bcp switched off, lists emptied", got, b3)
	}},
	{"put slots then load them in request order with every field", func(t *testing.T, st services.Stores) {
		r1 := granted(newSlot("s1", "k1", 1), "pc-1", 4)
		r1.GrantedAt, r1.Warned, r1.BytesUp, r1.BytesDown = subMS, api.EndIdle, 1<<40, 12345
		r2 := newSlot("s2", "k2", 2) // a pool user waiting: no PC yet, never granted
		r2.Device = ""
		r3 := newSlot("s3", "k3", 3)
		apply(t, st, put(r3), put(r1))
		apply(t, st, put(r2))
		want := []slots.Record{r1, r2, r3}
		want[0].GrantedAt = trunc(subMS)
		same(t, "slots", loadSlots(t, st), want)
	}},
	{"a second put of a slot updates it in place", func(t *testing.T, st services.Stores) {
		r := newSlot("s1", "k1", 1)
		apply(t, st, put(r))
		g := granted(r, "pc-1", 5)
		g.Warned, g.BytesUp, g.BytesDown = api.EndMaxLength, 10, 20
		apply(t, st, put(g))
		same(t, "slots", loadSlots(t, st), []slots.Record{g})
	}},
	{"ops apply in order within one batch", func(t *testing.T, st services.Stores) {
		a := newSlot("sa", "k1", 1)
		ga := granted(a, "pc-1", 1)
		b := newSlot("sb", "k2", 2)
		apply(t, st, put(a), put(ga), endOp(ga, 31, api.EndUser), put(b))
		same(t, "slots", loadSlots(t, st), []slots.Record{b})
		wantLengths(t, "lengths", lengths(t, st, 10), 30*time.Minute)
	}},
	{"ended slots give the n most recent granted lengths, oldest first", func(t *testing.T, st services.Stores) {
		wantLengths(t, "lengths of an empty history", lengths(t, st, 10))
		e1 := granted(newSlot("s1", "k1", 1), "pc-1", 0)
		e2 := granted(newSlot("s2", "k2", 2), "pc-2", 5)
		e3 := newSlot("s3", "k3", 3) // left the queue: no length
		e4 := granted(newSlot("s4", "k4", 4), "pc-4", 20)
		apply(t, st, put(e1), put(e2), put(e3), put(e4))
		apply(t, st, endOp(e4, 50, api.EndUser), endOp(e1, 10, api.EndLease))
		apply(t, st, endOp(e3, 30, api.EndUser), endOp(e2, 25, api.EndIdle))
		wantLengths(t, "2 most recent", lengths(t, st, 2), 20*time.Minute, 30*time.Minute)
		wantLengths(t, "all", lengths(t, st, 10), 10*time.Minute, 20*time.Minute, 30*time.Minute)
		if rs := loadSlots(t, st); len(rs) != 0 {
			t.Errorf("ended slots are still live: %+v", rs)
		}
	}},
	{"a user holds one live slot, and a failing batch writes nothing", func(t *testing.T, st services.Stores) {
		// The manager reloads from the store after a failed batch: the
		// store must hold exactly what it held before the batch.
		a := newSlot("sa", "k1", 1)
		apply(t, st, put(a))
		c := api.SlotConfig{Cap: 5, UpdatedAt: at(0), UpdatedBy: "admin"}
		err := st.Slots().ApplySlots(t.Context(), []slots.Op{{Config: &c}, put(newSlot("sc", "k2", 2)),
			put(granted(a, "pc-1", 3)), put(newSlot("sb", "k1", 4))})
		if err == nil {
			t.Fatal("a second live slot of k1 was stored")
		}
		same(t, "slots", loadSlots(t, st), []slots.Record{a})
		_, err = st.Slots().LoadConfig(t.Context())
		wantErr(t, "LoadConfig", err, slots.ErrNoConfig)
	}},
	{"an office PC state op updates the terminal", func(t *testing.T, st services.Stores) {
		tm := addTerminal(t, st, newTerminal("pc-1", ""))
		apply(t, st, slots.Op{Terminal: &slots.TerminalState{TerminalID: "pc-1", State: api.TerminalAwake, At: subMS}})
		want := tm
		want.State, want.UpdatedAt = api.TerminalAwake, trunc(subMS)
		same(t, "terminal", getTerminal(t, st, "pc-1"), want)
	}},
	{"ops about a PC or slot that is gone are no-ops, not errors", func(t *testing.T, st services.Stores) {
		// A failed batch would fail everyone's grants in it, so a PC
		// deleted during its wake or bytes reported after a slot's end
		// must not fail one.
		a := newSlot("sa", "k1", 1)
		apply(t, st, put(a),
			slots.Op{Terminal: &slots.TerminalState{TerminalID: "pc-deleted", State: api.TerminalAwake, At: at(1)}},
			slots.Op{Bytes: &slots.LateBytes{SlotID: "s-never", Up: 1, Down: 2}})
		same(t, "slots", loadSlots(t, st), []slots.Record{a})
		g := granted(a, "pc-1", 1)
		apply(t, st, put(g), endOp(g, 11, api.EndUser))
		apply(t, st, slots.Op{Bytes: &slots.LateBytes{SlotID: "sa", Up: 100, Down: 200}})
		wantLengths(t, "lengths", lengths(t, st, 10), 10*time.Minute)
	}},
	{"end requests: listed oldest first, one per slot, deleting is idempotent", func(t *testing.T, st services.Stores) {
		apply(t, st, put(newSlot("sa", "k1", 1)), put(newSlot("sb", "k2", 2)))
		ra := slots.EndRequest{SlotID: "sa", Actor: "admin", Reason: "端末紛失", At: subMS}
		rb := slots.EndRequest{SlotID: "sb", Actor: "admin", Reason: "", At: at(2)}
		must(t, st.Slots().AddEndRequest(t.Context(), rb))
		must(t, st.Slots().AddEndRequest(t.Context(), ra))
		// A second ask for the same slot does not replace the first.
		must(t, st.Slots().AddEndRequest(t.Context(), slots.EndRequest{SlotID: "sa", Actor: "it", Reason: "again", At: at(3)}))
		got, err := st.Slots().EndRequests(t.Context())
		must(t, err)
		wantA := ra
		wantA.At = trunc(subMS)
		same(t, "end requests", got, []slots.EndRequest{wantA, rb})
		must(t, st.Slots().DeleteEndRequest(t.Context(), "sa"))
		must(t, st.Slots().DeleteEndRequest(t.Context(), "sa"))
		must(t, st.Slots().DeleteEndRequest(t.Context(), "s-never"))
		got, err = st.Slots().EndRequests(t.Context())
		must(t, err)
		wantIDs(t, "after delete", endRequestIDs(got), []string{"sb"})
	}},
	{"end request for a slot that is not live fails with slot_not_found", func(t *testing.T, st services.Stores) {
		g := granted(newSlot("sa", "k1", 1), "pc-1", 1)
		apply(t, st, put(g), endOp(g, 5, api.EndUser))
		for _, id := range []string{"s-never", "sa"} {
			err := st.Slots().AddEndRequest(t.Context(), slots.EndRequest{SlotID: id, Actor: "admin", At: at(6)})
			if e := api.AsError(err); e == nil || e.Code != api.CodeSlotNotFound {
				t.Errorf("AddEndRequest(%s): err = %v, want %s", id, err, api.CodeSlotNotFound)
			}
		}
		got, err := st.Slots().EndRequests(t.Context())
		must(t, err)
		wantIDs(t, "end requests", endRequestIDs(got), nil)
	}},
	{"live slots list granted and queued slots with user name, department and PC, in request order", func(t *testing.T, st services.Stores) {
		u1 := addUser(t, st, "k1", "税務課")
		addUser(t, st, "k2", "市民課")
		g := granted(newSlot("s1", "k1", 1), "pc-1", 2)
		g.BytesUp, g.BytesDown, g.GrantedAt = 5, 6, subMS
		q := newSlot("s2", "k2", 2)
		orphan := newSlot("s3", "k9", 3) // its account is gone: listed without a name
		apply(t, st, put(orphan), put(q), put(g))
		got, err := st.Slots().LiveSlots(t.Context())
		must(t, err)
		want := []api.Slot{
			{ID: "s1", UserID: "k1", State: api.SlotGranted, RequestedAt: g.RequestedAt, GrantedAt: trunc(subMS), LeaseUntil: g.LeaseUntil,
				LastActiveAt: g.LastActiveAt, BytesUp: 5, BytesDown: 6, UserName: u1.Name, Department: "税務課"},
			{ID: "s2", UserID: "k2", State: api.SlotQueued, RequestedAt: q.RequestedAt, LeaseUntil: q.LeaseUntil,
				LastActiveAt: q.LastActiveAt, UserName: "職員 k2", Department: "市民課"},
			{ID: "s3", UserID: "k9", State: api.SlotQueued, RequestedAt: orphan.RequestedAt, LeaseUntil: orphan.LeaseUntil,
				LastActiveAt: orphan.LastActiveAt},
		}
		if len(got) != len(want) {
			t.Fatalf("LiveSlots = %+v, want %d slots", got, len(want))
		}
		// Only the PC's ID is promised: the CLI shows no more of it.
		for i, wantPC := range []string{"pc-1", "", ""} {
			switch pc := got[i].Terminal; {
			case wantPC == "" && pc != nil:
				t.Errorf("slot %s has PC %+v, want none", got[i].ID, *pc)
			case wantPC != "" && (pc == nil || pc.ID != wantPC):
				t.Errorf("slot %s has PC %+v, want %s", got[i].ID, pc, wantPC)
			}
			got[i].Terminal = nil
		}
		same(t, "live slots", got, want)
	}},
}
