package storetest

import (
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/terminal"
)

func newTerminal(id, userID string) api.Terminal {
	return api.Terminal{ID: id, Name: "税務課 " + id, Address: "10.1.2.3", RDPPort: 3389, MAC: "00:1a:2b:3c:4d:5e",
		WakeAddr: "10.1.2.255", WakePort: 9, Department: "税務課", UserID: userID, Segment: api.SegmentLGWAN, State: api.TerminalUnknown,
		CreatedAt: at(0), UpdatedAt: at(0)}
}

func addTerminal(t *testing.T, st services.Stores, tm api.Terminal) api.Terminal {
	t.Helper()
	must(t, st.Terminals().CreateTerminal(t.Context(), tm))
	return tm
}

func getTerminal(t *testing.T, st services.Stores, id string) api.Terminal {
	t.Helper()
	tm, err := st.Terminals().GetTerminal(t.Context(), id)
	must(t, err)
	return tm
}

func terminalIDs(ts []api.Terminal) []string {
	var ids []string
	for _, tm := range ts {
		ids = append(ids, tm.ID)
	}
	return ids
}

var terminalBehaviours = []behaviour{
	{"create then get returns every field", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		tm := newTerminal("pc-1", "k1024")
		tm.State, tm.CreatedAt, tm.UpdatedAt = api.TerminalAsleep, subMS, at(1)
		addTerminal(t, st, tm)
		want := tm
		want.CreatedAt = trunc(subMS)
		same(t, "terminal", getTerminal(t, st, "pc-1"), want)
		pool := newTerminal("pc-pool", "")
		pool.Pool, pool.MAC = true, ""
		addTerminal(t, st, pool)
		same(t, "pool terminal", getTerminal(t, st, "pc-pool"), pool)
	}},
	{"create with a taken id is a conflict and keeps the first", func(t *testing.T, st services.Stores) {
		addTerminal(t, st, newTerminal("pc-1", ""))
		dup := newTerminal("pc-1", "")
		dup.Address = "10.9.9.9"
		wantErr(t, "second CreateTerminal", st.Terminals().CreateTerminal(t.Context(), dup), terminal.ErrConflict)
		if got := getTerminal(t, st, "pc-1"); got.Address != "10.1.2.3" {
			t.Errorf("address = %s, want the first", got.Address)
		}
	}},
	{"create paired with a user paired elsewhere is ErrUserPaired", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addTerminal(t, st, newTerminal("pc-1", "k1024"))
		wantErr(t, "CreateTerminal", st.Terminals().CreateTerminal(t.Context(), newTerminal("pc-2", "k1024")), terminal.ErrUserPaired)
		_, err := st.Terminals().GetTerminal(t.Context(), "pc-2")
		wantErr(t, "GetTerminal of the refused PC", err, terminal.ErrNotFound)
	}},
	{"create paired with an unknown user is ErrNoUser", func(t *testing.T, st services.Stores) {
		wantErr(t, "CreateTerminal", st.Terminals().CreateTerminal(t.Context(), newTerminal("pc-1", "nobody")), terminal.ErrNoUser)
		_, err := st.Terminals().GetTerminal(t.Context(), "pc-1")
		wantErr(t, "GetTerminal of the refused PC", err, terminal.ErrNotFound)
	}},
	{"unpaired terminals coexist and none is found for an empty user", func(t *testing.T, st services.Stores) {
		addTerminal(t, st, newTerminal("pc-1", ""))
		addTerminal(t, st, newTerminal("pc-2", ""))
		_, err := st.Terminals().TerminalForUser(t.Context(), "")
		wantErr(t, "TerminalForUser(\"\")", err, terminal.ErrNotFound)
	}},
	{"get unknown and terminal for an unpaired user are not found", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addTerminal(t, st, newTerminal("pc-1", ""))
		_, err := st.Terminals().GetTerminal(t.Context(), "pc-nope")
		wantErr(t, "GetTerminal", err, terminal.ErrNotFound)
		_, err = st.Terminals().TerminalForUser(t.Context(), "k1024")
		wantErr(t, "TerminalForUser", err, terminal.ErrNotFound)
	}},
	{"terminal for user finds the paired PC", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "税務課")
		addUser(t, st, "k2", "税務課")
		addTerminal(t, st, newTerminal("pc-1", "k1"))
		want := addTerminal(t, st, newTerminal("pc-2", "k2"))
		got, err := st.Terminals().TerminalForUser(t.Context(), "k2")
		must(t, err)
		same(t, "terminal of k2", got, want)
	}},
	{"list in id order; the pool lists shared PCs nobody is paired with", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "税務課")
		for _, tm := range []struct {
			id, user string
			pool     bool
		}{{"pc-c", "", true}, {"pc-a", "", false}, {"pc-d", "k1", false}, {"pc-b", "", true}} {
			x := newTerminal(tm.id, tm.user)
			x.Pool = tm.pool
			addTerminal(t, st, x)
		}
		all, err := st.Terminals().ListTerminals(t.Context())
		must(t, err)
		wantIDs(t, "all", terminalIDs(all), []string{"pc-a", "pc-b", "pc-c", "pc-d"})
		pool, err := st.Terminals().PoolTerminals(t.Context())
		must(t, err)
		wantIDs(t, "pool", terminalIDs(pool), []string{"pc-b", "pc-c"})
	}},
	{"update writes what fn changed, pairs and unpairs", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		tm := addTerminal(t, st, newTerminal("pc-1", ""))
		got, err := st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error {
			x.Name, x.Address, x.RDPPort, x.MAC, x.UserID, x.UpdatedAt = "窓口PC", "pc1.city.local", 3390, "", "k1024", subMS
			return nil
		})
		must(t, err)
		want := tm
		want.Name, want.Address, want.RDPPort, want.MAC, want.UserID, want.UpdatedAt = "窓口PC", "pc1.city.local", 3390, "", "k1024", trunc(subMS)
		same(t, "stored", getTerminal(t, st, "pc-1"), want)
		// The returned copy may hold fn's time as given, or as stored.
		got.UpdatedAt = trunc(got.UpdatedAt).UTC()
		same(t, "returned", got, want)
		_, err = st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error {
			x.UserID, x.Pool = "", true
			return nil
		})
		must(t, err)
		want.UserID, want.Pool = "", true
		same(t, "unpaired", getTerminal(t, st, "pc-1"), want)
		_, err = st.Terminals().TerminalForUser(t.Context(), "k1024")
		wantErr(t, "TerminalForUser after unpairing", err, terminal.ErrNotFound)
	}},
	{"update with a failing fn changes nothing", func(t *testing.T, st services.Stores) {
		tm := addTerminal(t, st, newTerminal("pc-1", ""))
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error {
			x.Name, x.Address, x.UpdatedAt = "half written", "10.9.9.9", at(5)
			return errBoom
		})
		wantErr(t, "UpdateTerminal", err, errBoom)
		same(t, "terminal", getTerminal(t, st, "pc-1"), tm)
	}},
	{"update pairing a user paired elsewhere is ErrUserPaired and changes nothing", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addTerminal(t, st, newTerminal("pc-1", "k1024"))
		tm := addTerminal(t, st, newTerminal("pc-2", ""))
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-2", func(x *api.Terminal) error {
			x.Name, x.UserID = "half written", "k1024"
			return nil
		})
		wantErr(t, "UpdateTerminal", err, terminal.ErrUserPaired)
		same(t, "pc-2", getTerminal(t, st, "pc-2"), tm)
		got, err := st.Terminals().TerminalForUser(t.Context(), "k1024")
		must(t, err)
		if got.ID != "pc-1" {
			t.Errorf("k1024 is paired with %s, want pc-1", got.ID)
		}
	}},
	{"update pairing an unknown user is ErrNoUser and changes nothing", func(t *testing.T, st services.Stores) {
		tm := addTerminal(t, st, newTerminal("pc-1", ""))
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error {
			x.UserID = "nobody"
			return nil
		})
		wantErr(t, "UpdateTerminal", err, terminal.ErrNoUser)
		same(t, "pc-1", getTerminal(t, st, "pc-1"), tm)
	}},
	{"update unknown is not found and does not call fn", func(t *testing.T, st services.Stores) {
		called := false
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-nope", func(*api.Terminal) error { called = true; return nil })
		wantErr(t, "UpdateTerminal", err, terminal.ErrNotFound)
		if called {
			t.Error("fn was called for a PC that does not exist")
		}
	}},
	{"delete removes; deleting again is not found", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addTerminal(t, st, newTerminal("pc-1", "k1024"))
		must(t, st.Terminals().DeleteTerminal(t.Context(), "pc-1"))
		_, err := st.Terminals().GetTerminal(t.Context(), "pc-1")
		wantErr(t, "GetTerminal after delete", err, terminal.ErrNotFound)
		wantErr(t, "second DeleteTerminal", st.Terminals().DeleteTerminal(t.Context(), "pc-1"), terminal.ErrNotFound)
		// The user is free to be paired again.
		addTerminal(t, st, newTerminal("pc-2", "k1024"))
	}},
	{"set state records state and time, and an update keeps it", func(t *testing.T, st services.Stores) {
		tm := addTerminal(t, st, newTerminal("pc-1", ""))
		must(t, st.Terminals().SetTerminalState(t.Context(), "pc-1", api.TerminalAwake, subMS))
		want := tm
		want.State, want.UpdatedAt = api.TerminalAwake, trunc(subMS)
		same(t, "after SetTerminalState", getTerminal(t, st, "pc-1"), want)
		_, err := st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error {
			x.Name = "renamed"
			return nil
		})
		must(t, err)
		want.Name = "renamed"
		same(t, "after UpdateTerminal", getTerminal(t, st, "pc-1"), want)
	}},
	{"concurrent updates of a terminal lose none", func(t *testing.T, st services.Stores) {
		addTerminal(t, st, newTerminal("pc-1", ""))
		const writers, rounds = 8, 4
		for i, err := range concurrently(writers, func(int) error {
			for range rounds {
				if _, err := st.Terminals().UpdateTerminal(t.Context(), "pc-1", func(x *api.Terminal) error { x.WakePort++; return nil }); err != nil {
					return err
				}
			}
			return nil
		}) {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		if got := getTerminal(t, st, "pc-1"); got.WakePort != 9+writers*rounds {
			t.Errorf("wake port = %d after %d increments from 9: updates were lost", got.WakePort, writers*rounds)
		}
	}},
}
