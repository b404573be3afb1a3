package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/meet"
	"github.com/zaitaku/zaitaku/broker/services"
)

var meetBehaviours = []behaviour{
	{"a room's host is recorded, touched, forgotten and purged", func(t *testing.T, st services.Stores) {
		m := st.Meet()
		if _, err := m.RoomHost(t.Context(), "r1"); !errors.Is(err, meet.ErrNoHost) {
			t.Fatalf("no room: %v, want ErrNoHost", err)
		}
		h := meet.RoomHost{ID: "r1", Broker: "https://broker1:8443", Title: "定例会議", CreatedBy: "yamada", CreatedAt: at(0), SeenAt: at(0)}
		must(t, m.PutRoomHost(t.Context(), h))
		must(t, m.PutRoomHost(t.Context(), meet.RoomHost{ID: "r2", Broker: "https://broker2:8443", Title: "朝会", CreatedBy: "sato", CreatedAt: at(0), SeenAt: at(0)}))
		got, err := m.RoomHost(t.Context(), "r1")
		must(t, err)
		same(t, "r1", got, h)
		must(t, m.TouchRoomHosts(t.Context(), []string{"r1", "gone"}, at(5)))
		got, err = m.RoomHost(t.Context(), "r1")
		must(t, err)
		if !got.SeenAt.Equal(at(5)) {
			t.Errorf("touched at %v, want %v", got.SeenAt, at(5))
		}
		n, err := m.PurgeRoomHosts(t.Context(), at(1))
		must(t, err)
		if n != 1 {
			t.Errorf("purged %d, want 1 (r2, untouched)", n)
		}
		if _, err := m.RoomHost(t.Context(), "r2"); !errors.Is(err, meet.ErrNoHost) {
			t.Errorf("r2 after the purge: %v", err)
		}
		must(t, m.DeleteRoomHost(t.Context(), "r1"))
		if _, err := m.RoomHost(t.Context(), "r1"); !errors.Is(err, meet.ErrNoHost) {
			t.Errorf("r1 after delete: %v", err)
		}
	}}, {"meet-now rooms are listed to their department and creator while live", func(t *testing.T, st services.Stores) {
		m := st.Meet()
		rooms := []meet.RoomHost{
			{ID: "n1", Broker: "https://broker1:8443", Title: "相談", CreatedBy: "yamada", CreatedAt: at(1), SeenAt: at(4), Department: "税務課"},
			{ID: "n2", Broker: "https://broker2:8443", Title: "急ぎ", CreatedBy: "sato", CreatedAt: at(2), SeenAt: at(4), Department: "税務課"},
			{ID: "n3", Broker: "https://broker2:8443", Title: "他課", CreatedBy: "suzuki", CreatedAt: at(3), SeenAt: at(4), Department: "福祉課"},
			{ID: "old", Broker: "https://broker2:8443", Title: "古い", CreatedBy: "sato", CreatedAt: at(0), SeenAt: at(0), Department: "税務課"},
			{ID: "sched", Broker: "https://broker1:8443", Title: "定例", CreatedBy: "sato", CreatedAt: at(1), SeenAt: at(4), Meeting: "mt1"},
		}
		for _, h := range rooms {
			must(t, m.PutRoomHost(t.Context(), h))
		}
		got, err := m.RoomHost(t.Context(), "sched")
		must(t, err)
		same(t, "a scheduled room's record", got, rooms[4])
		ids := func(hs []meet.RoomHost) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.ID)
			}
			return out
		}
		hs, err := m.NowRoomHosts(t.Context(), "税務課", "nobody", at(2))
		must(t, err)
		same(t, "the department's live rooms, by creation", ids(hs), []string{"n1", "n2"})
		if len(hs) == 2 {
			same(t, "a listed record", hs[1], rooms[1])
		}
		hs, err = m.NowRoomHosts(t.Context(), "", "suzuki", at(2))
		must(t, err)
		same(t, "a creator with no department: their own", ids(hs), []string{"n3"})
		hs, err = m.NowRoomHosts(t.Context(), "福祉課", "sato", at(2))
		must(t, err)
		same(t, "the department's and the creator's, never a scheduled meeting's", ids(hs), []string{"n2", "n3"})
		hs, err = m.RoomHostsOf(t.Context(), []string{"sched", "gone", "old"})
		must(t, err)
		slices.SortFunc(hs, func(a, b meet.RoomHost) int { return strings.Compare(a.ID, b.ID) })
		same(t, "the records of the rooms asked for that have one, live or not", hs, []meet.RoomHost{rooms[3], rooms[4]})
		if hs, err := m.RoomHostsOf(t.Context(), nil); err != nil || len(hs) != 0 {
			t.Errorf("no rooms asked: %v %v", hs, err)
		}
	}}, {"a room is claimed by one broker while its record is live", func(t *testing.T, st services.Stores) {
		m := st.Meet()
		a := meet.RoomHost{ID: "m1", Broker: "https://broker1:8443", Title: "定例", CreatedBy: "yamada", CreatedAt: at(0), SeenAt: at(0)}
		got, err := m.ClaimRoomHost(t.Context(), a, at(-2))
		must(t, err)
		same(t, "first claim", got, a)
		b := a
		b.Broker, b.SeenAt = "https://broker2:8443", at(1)
		got, err = m.ClaimRoomHost(t.Context(), b, at(-1))
		must(t, err)
		same(t, "a second broker's claim while the first's record is live", got, a)
		a2 := a
		a2.SeenAt = at(2)
		got, err = m.ClaimRoomHost(t.Context(), a2, at(1))
		must(t, err)
		same(t, "the same broker's claim again", got, a2)
		b.SeenAt = at(9)
		got, err = m.ClaimRoomHost(t.Context(), b, at(3))
		must(t, err)
		same(t, "a claim once the first broker's record is stale", got, b)
	}},
}
