package storetest

import (
	"errors"
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
