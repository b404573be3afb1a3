package server_test

import (
	"context"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestRevokeEndsLiveSession: a laptop reported lost goes dark at once: its
// slot ends (freeing the cap) and its tokens stop working, without waiting
// for the lease to lapse. Disabling an account does the same.
func TestRevokeEndsLiveSession(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	adm := b.Signin(t, "it01", api.RoleAdmin)
	for _, tc := range []struct {
		name string
		cut  func(s *brokertest.Session) error
	}{
		{"revoke laptop", func(s *brokertest.Session) error {
			_, err := adm.RevokeDevice(ctx, s.Login.Device.ID)
			return err
		}},
		{"disable account", func(s *brokertest.Session) error {
			yes := true
			return adm.Do(ctx, "PATCH", "/admin/v1/users/"+s.User.ID, api.UpdateUserRequest{Disabled: &yes}, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "lost-" + map[bool]string{true: "a", false: "b"}[tc.name == "revoke laptop"]
			s := b.Signin(t, id)
			if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + id, Name: "PC " + id,
				Address: "127.0.0.1", RDPPort: 9, UserID: id}); err != nil {
				t.Fatal(err)
			}
			slot, err := s.RequestSlot(ctx, api.SlotRequest{})
			if err != nil {
				t.Fatal(err)
			}
			before, err := adm.Sessions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			live := false
			for _, l := range before.Sessions {
				live = live || l.ID == slot.ID
			}
			if !live {
				t.Fatalf("slot %s not listed as live before the cut: %+v", slot.ID, before)
			}
			if err := tc.cut(s); err != nil {
				t.Fatal(err)
			}
			after, err := adm.Sessions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, live := range after.Sessions {
				if live.ID == slot.ID {
					t.Fatalf("slot %s still live after %s (before: %d sessions)", slot.ID, tc.name, len(before.Sessions))
				}
			}
			if _, err := s.MySlot(ctx); code(err) != api.CodeUnauthenticated && code(err) != api.CodeAccountDisabled {
				t.Fatalf("the blocked laptop still reaches its slot: %v", err)
			}
		})
	}
}
