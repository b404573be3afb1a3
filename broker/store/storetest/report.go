package storetest

import (
	"testing"

	"github.com/zaitaku/zaitaku/broker/report"
	"github.com/zaitaku/zaitaku/broker/services"
)

// reportBehaviours: the usage reports read what slots wrote, ended and
// live, with the users' departments, in request order, within the range.
var reportBehaviours = []behaviour{
	{"sessions_history_and_live_in_request_order", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "総務課")
		addUser(t, st, "k2", "税務課")
		a := granted(newSlot("s_a", "k1", 10), "", 12)
		b := newSlot("s_b", "k2", 5) // gave up in the queue
		c := granted(newSlot("s_c", "k2", 20), "", 20)
		old := granted(newSlot("s_old", "k1", 1), "", 1)
		gone := granted(newSlot("s_gone", "ghost", 30), "", 30) // a user since deleted
		apply(t, st, put(old), endOp(old, 3, "released"), put(a), put(b), endOp(a, 50, "released"), endOp(b, 8, "left_queue"),
			put(c), put(gone), endOp(gone, 40, "released"))
		got, err := st.Reports().Sessions(t.Context(), at(4), at(100))
		must(t, err)
		want := []report.Session{
			{UserID: "k2", Department: "税務課", Requested: trunc(at(5)), Ended: trunc(at(8))},
			{UserID: "k1", Department: "総務課", Requested: trunc(at(10)), Granted: trunc(at(12)), Ended: trunc(at(50))},
			{UserID: "k2", Department: "税務課", Requested: trunc(at(20)), Granted: trunc(at(20))}, // live
			{UserID: "ghost", Requested: trunc(at(30)), Granted: trunc(at(30)), Ended: trunc(at(40))},
		}
		if len(got) != len(want) {
			t.Fatalf("Sessions = %+v, want %+v (the one that ended at minute 3 is before the range)", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.UserID != w.UserID || g.Department != w.Department || !g.Requested.Equal(w.Requested) ||
				!g.Granted.Equal(w.Granted) || !g.Ended.Equal(w.Ended) || g.Granted.IsZero() != w.Granted.IsZero() || g.Ended.IsZero() != w.Ended.IsZero() {
				t.Errorf("Sessions[%d] = %+v, want %+v", i, g, w)
			}
		}
		none, err := st.Reports().Sessions(t.Context(), at(200), at(300))
		must(t, err)
		if len(none) != 1 || none[0].UserID != "k2" { // only the live one, requested before
			t.Errorf("a later range = %+v, want only the live session", none)
		}
	}},
}
