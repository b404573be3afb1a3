package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/events"
)

// closedWith reads the stream until it ends and returns its close code.
func closedWith(t *testing.T, s *api.EventStream) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, err := s.Next(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the socket was still open after 5 s")
			}
			return s.CloseStatus()
		}
	}
}

// dialReady opens the event socket and waits for its hello, which the
// broker sends once the socket is subscribed (so that the order of two
// sockets is the order of the dials).
func dialReady(t *testing.T, s *api.Client) *api.EventStream {
	t.Helper()
	es, err := s.DialEvents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := es.Next(ctx)
	if err != nil || ev.Type != api.EventHello {
		t.Fatalf("first event %+v %v, want hello", ev, err)
	}
	return es
}

// TestEventSocketOnePerLaptop: a new event socket of a laptop replaces
// its old one; a user holds a few at most; a sign-out closes its socket.
func TestEventSocketOnePerLaptop(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	u := b.CreateUser(t, "sock01")
	s := b.Login(t, u)
	first := dialReady(t, s.Client)
	second := dialReady(t, s.Client)
	if code := closedWith(t, first); code != events.StatusReplaced {
		t.Fatalf("the first socket closed with %d, want %d (replaced)", code, events.StatusReplaced)
	}
	// Other laptops each get theirs, up to the bound.
	var others []*api.EventStream
	for i := 1; i < events.MaxSocketsPerUser; i++ {
		others = append(others, dialReady(t, b.Login(t, u).Client))
	}
	extra, err := b.Login(t, u).DialEvents(ctx, 0)
	if err == nil {
		if code := closedWith(t, extra); code != websocket.StatusPolicyViolation {
			t.Fatalf("socket %d closed with %d, want policy violation", events.MaxSocketsPerUser+1, code)
		}
	}
	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if code := closedWith(t, second); code != events.StatusSignedOut {
		t.Fatalf("socket after sign-out closed with %d, want %d", code, events.StatusSignedOut)
	}
	for _, es := range others {
		es.Close()
	}
}
