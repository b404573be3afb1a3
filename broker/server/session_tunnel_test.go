package server_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// signInTwice pairs a PC with a new user and signs them in from two
// laptops: the real user's and a thief's who knows the password and a
// code. The thief takes the slot and opens a tunnel that echoes.
func signInTwice(t *testing.T, b *brokertest.Broker, id string) (real, thief *brokertest.Session, slot *api.Slot, tun net.Conn) {
	t.Helper()
	ctx := context.Background()
	adm := b.Signin(t, id+"-it", api.RoleAdmin)
	u := b.CreateUser(t, id)
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + id, Name: "PC " + id,
		Address: "127.0.0.1", RDPPort: brokertest.OfficePC(t, brokertest.Echo), UserID: id}); err != nil {
		t.Fatal(err)
	}
	real, thief = b.Login(t, u), b.Login(t, u)
	slot, err := thief.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || slot.State != api.SlotGranted {
		t.Fatalf("slot: %+v %v", slot, err)
	}
	tun, err = thief.DialTunnel(ctx, slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tun.Close() })
	if _, err := tun.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the tunnel: %q %v", buf, err)
	}
	return real, thief, slot, tun
}

// tunnelEnds waits until the tunnel's connection ends, within seconds.
func tunnelEnds(t *testing.T, tun net.Conn) {
	t.Helper()
	_ = tun.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		_, err := tun.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the tunnel was still open 5 s after its sign-in ended")
		}
		return
	}
}

// otherSessionCannotRenew: another sign-in's heartbeat on the slot is
// refused as if the slot did not exist, and so cannot keep it alive.
func otherSessionCannotRenew(t *testing.T, other *brokertest.Session, slot *api.Slot) {
	t.Helper()
	_, err := other.Heartbeat(context.Background(), slot.ID, api.HeartbeatRequest{Active: true})
	if code(err) != api.CodeSlotNotFound {
		t.Fatalf("heartbeat from another sign-in: %v, want %s", err, api.CodeSlotNotFound)
	}
	if err := other.ReleaseSlot(context.Background(), slot.ID); code(err) != api.CodeSlotNotFound {
		t.Fatalf("release from another sign-in: %v", err)
	}
	if _, err := other.DialTunnel(context.Background(), slot.ID); code(err) != api.CodeSlotNotFound {
		t.Fatalf("tunnel from another sign-in: %v", err)
	}
}

// TestTunnelEndsOnLogout: signing out ends the sign-in's slot and its
// tunnels at once, not when the lease runs out.
func TestTunnelEndsOnLogout(t *testing.T) {
	b := brokertest.Start(t)
	real, thief, slot, tun := signInTwice(t, b, "tlogout")
	otherSessionCannotRenew(t, real, slot)
	if err := thief.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	tunnelEnds(t, tun)
	if _, err := real.MySlot(context.Background()); code(err) != api.CodeSlotNotFound {
		t.Fatalf("the slot outlived the logout: %v", err)
	}
	// The real user can connect now.
	if s, err := real.RequestSlot(context.Background(), api.SlotRequest{}); err != nil || s.State != api.SlotGranted {
		t.Fatalf("real user's slot after the thief's logout: %+v %v", s, err)
	}
}

// TestTunnelEndsOnPasswordChange: the real user changing the password,
// or IT resetting it, ends every other sign-in's slot and tunnels within
// seconds; the laptop that changed it keeps its own connection.
func TestTunnelEndsOnPasswordChange(t *testing.T) {
	ctx := context.Background()
	t.Run("by the user", func(t *testing.T) {
		b := brokertest.Start(t)
		real, _, slot, tun := signInTwice(t, b, "tpwchange")
		otherSessionCannotRenew(t, real, slot)
		resp, err := real.ChangePassword(ctx, real.User.Password, "Kaze-Hinode-97-new")
		if err != nil {
			t.Fatal(err)
		}
		real.SetToken(resp.AccessToken)
		tunnelEnds(t, tun)
		if s, err := real.RequestSlot(ctx, api.SlotRequest{}); err != nil || s.State != api.SlotGranted {
			t.Fatalf("real user's slot after the change: %+v %v", s, err)
		}
	})
	t.Run("by IT", func(t *testing.T) {
		b := brokertest.Start(t)
		_, _, _, tun := signInTwice(t, b, "tpwreset")
		adm := b.Signin(t, "tpwreset-it2", api.RoleAdmin)
		if _, err := adm.ResetPassword(ctx, "tpwreset"); err != nil {
			t.Fatal(err)
		}
		tunnelEnds(t, tun)
	})
	t.Run("own laptop keeps its connection", func(t *testing.T) {
		b := brokertest.Start(t)
		_, thief, slot, tun := signInTwice(t, b, "tpwown")
		// The laptop holding the slot changes the password itself.
		resp, err := thief.ChangePassword(ctx, thief.User.Password, "Kaze-Hinode-97-own")
		if err != nil {
			t.Fatal(err)
		}
		thief.SetToken(resp.AccessToken)
		if _, err := thief.Heartbeat(ctx, slot.ID, api.HeartbeatRequest{}); err != nil {
			t.Fatalf("heartbeat from the new sign-in of the same laptop: %v", err)
		}
		if _, err := tun.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		_ = tun.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != "pong" {
			t.Fatalf("own tunnel after own password change: %q %v", buf, err)
		}
	})
}

// TestSlotEndsWithDisabledAccountAndRevokedLaptop: the other ends of a
// sign-in end its slot too.
func TestSlotEndsWithDisabledAccountAndRevokedLaptop(t *testing.T) {
	ctx := context.Background()
	t.Run("disabled", func(t *testing.T) {
		b := brokertest.Start(t)
		_, _, _, tun := signInTwice(t, b, "tdisabled")
		adm := b.Signin(t, "tdisabled-it2", api.RoleAdmin)
		yes := true
		if _, err := b.Services.Auth.UpdateUser(ctx, adm.User.ID, "tdisabled", api.UpdateUserRequest{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		tunnelEnds(t, tun)
	})
	t.Run("revoked laptop", func(t *testing.T) {
		b := brokertest.Start(t)
		_, thief, _, tun := signInTwice(t, b, "trevoked")
		adm := b.Signin(t, "trevoked-it2", api.RoleAdmin)
		if _, err := adm.RevokeDevice(ctx, thief.Login.Device.ID); err != nil {
			t.Fatal(err)
		}
		tunnelEnds(t, tun)
	})
}
