package server_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// ownerGrants stands in for the slot manager: slot → (owner, target).
type ownerGrants struct {
	mu    sync.Mutex // guards slots, up, down
	slots map[string][2]string
	up    int64
	down  int64
}

func (g *ownerGrants) Target(_ context.Context, h slots.Holder, slotID string) (string, error) {
	userID := h.UserID
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slots[slotID]
	if !ok || s[0] != userID {
		return "", api.Err(api.CodeSlotNotFound)
	}
	return s[1], nil
}

func (g *ownerGrants) AddBytes(_ string, up, down int64) {
	g.mu.Lock()
	g.up += up
	g.down += down
	g.mu.Unlock()
}

// TestTunnelRouteThroughMiddleware drives the tunnel through the real
// broker: TLS listener, auth middleware, route table and hijack.
func TestTunnelRouteThroughMiddleware(t *testing.T) {
	b := brokertest.Start(t)
	pc, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		for {
			c, err := pc.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	g := &ownerGrants{slots: map[string][2]string{"slot-y": {"tun-yamada", pc.Addr().String()}}}
	b.Services.Relay.SetGrants(g)
	yamada := b.Signin(t, "tun-yamada")
	sato := b.Signin(t, "tun-sato")

	conn, err := yamada.DialTunnel(context.Background(), "slot-y")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	conn.Close()

	tests := []struct {
		name string
		c    *api.Client
		slot string
		want api.Code
	}{
		{"another user's slot", sato.Client, "slot-y", api.CodeSlotNotFound},
		{"anonymous", b.Client(t), "slot-y", api.CodeUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.DialTunnel(context.Background(), tc.slot)
			if e := api.AsError(err); e == nil || e.Code != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		s := b.Signin(t, "tun-late")
		g.mu.Lock()
		g.slots["slot-l"] = [2]string{"tun-late", pc.Addr().String()}
		g.mu.Unlock()
		b.Clock.Advance(auth.AccessTTL + time.Minute)
		_, err := s.DialTunnel(context.Background(), "slot-l")
		if e := api.AsError(err); e == nil || e.Status != 401 {
			t.Fatalf("err = %v, want a 401", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Services.Relay.Live()) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.up != 4 || g.down != 4 {
		t.Fatalf("counted %d up, %d down; want 4 and 4", g.up, g.down)
	}
}
