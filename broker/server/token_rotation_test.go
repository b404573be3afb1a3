package server_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// refreshingProxy forwards TCP connections to the broker; before it lets
// the first one through, it has the app's other half refresh the session,
// so that connection's request carries a token the broker has already
// replaced: the race between keepFresh and a call, made certain.
type refreshingProxy struct {
	ln      net.Listener
	once    sync.Once
	refresh func()
}

func startRefreshingProxy(t *testing.T, target string, refresh func()) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &refreshingProxy{ln: ln, refresh: refresh}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c, target)
		}
	}()
	return ln.Addr().String()
}

func (p *refreshingProxy) pipe(c net.Conn, target string) {
	defer c.Close()
	// The request is already written (TLS handshake aside) by the time the
	// broker reads it; refreshing first puts the rotation in between.
	p.once.Do(p.refresh)
	b, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer b.Close()
	go func() { _, _ = io.Copy(b, c); b.(*net.TCPConn).CloseWrite() }()
	_, _ = io.Copy(c, b)
}

// TestCallsSurviveARefreshInFlight: a refresh invalidates the old access
// token at once, so a call or tunnel dial that was on its way with it is
// refused; the client sends it again with the new token instead of
// failing the user's session (the refused request did nothing).
func TestCallsSurviveARefreshInFlight(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	adm := b.Signin(t, "it01", api.RoleAdmin)
	s := b.Signin(t, "rot01")
	if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-rot01", Name: "PC rot01",
		Address: "127.0.0.1", RDPPort: officePC(t), UserID: "rot01"}); err != nil {
		t.Fatal(err)
	}
	slot, err := s.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || slot.State != api.SlotGranted {
		t.Fatalf("slot: %+v %v", slot, err)
	}
	brokerAddr := b.URL[len("https://"):]

	for _, tc := range []struct {
		name string
		call func(c *api.Client) error
	}{
		{"call", func(c *api.Client) error { _, err := c.MySlot(ctx); return err }},
		{"tunnel", func(c *api.Client) error {
			conn, err := c.DialTunnel(ctx, slot.ID)
			if err == nil {
				conn.Close()
			}
			return err
		}},
		{"event socket", func(c *api.Client) error {
			es, err := c.DialEvents(ctx, 0)
			if err == nil {
				es.Close()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *api.Client
			old := s.Token()
			proxy := startRefreshingProxy(t, brokerAddr, func() {
				resp, err := s.Refresh(ctx, s.RefreshRequest(b.Now()))
				if err != nil {
					t.Errorf("refresh: %v", err)
					return
				}
				s.Login.RefreshToken = resp.RefreshToken
				s.SetToken(resp.AccessToken)
				c.SetToken(resp.AccessToken) // what keepFresh does
			})
			c, err = api.NewClient("https://"+proxy, api.ClientOptions{Pins: []string{b.Pin}})
			if err != nil {
				t.Fatal(err)
			}
			c.SetToken(old)
			c.SetSigner(s.Sign) // the same laptop: it binds its tunnels with its key
			if err := tc.call(c); err != nil {
				t.Fatalf("%s with a token rotated in flight: %v", tc.name, err)
			}
			if c.Token() == old {
				t.Fatal("the proxy did not refresh: the test proved nothing")
			}
			// The old token stays refused: only the new one was used.
			stale, _ := api.NewClient(b.URL, api.ClientOptions{Pins: []string{b.Pin}})
			stale.SetToken(old)
			if _, err := stale.MySlot(ctx); code(err) != api.CodeUnauthenticated {
				t.Fatalf("old token after rotation: %v", err)
			}
		})
	}
}
