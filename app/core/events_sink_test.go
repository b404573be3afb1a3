package core

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// sinkRecorder is an EventSink that notes what it was told, in order.
type sinkRecorder struct {
	mu  sync.Mutex // guards log
	log []string
}

func (s *sinkRecorder) Subscribed()        { s.add("subscribed") }
func (s *sinkRecorder) Down()              { s.add("down") }
func (s *sinkRecorder) Event(ev api.Event) { s.add(ev.Type) }
func (s *sinkRecorder) add(x string)       { s.mu.Lock(); s.log = append(s.log, x); s.mu.Unlock() }
func (s *sinkRecorder) count(x string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.log {
		if l == x {
			n++
		}
	}
	return n
}

// TestEventSinkGetsChatFrames: chat frames on the one event socket reach
// Deps.Events (app/chat), hello is told as Subscribed after every
// (re)connect and a failed socket as Down, so chat can catch up.
func TestEventSinkGetsChatFrames(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	u, err := url.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	alice := b.CreateUser(t, "alice")
	bob := b.Signin(t, "bob")
	sink := &sinkRecorder{}
	c, err := New(Config{BrokerURL: "https://" + proxy.ln.Addr().String(), Pins: []string{b.Pin}, DeviceName: "laptop-alice"},
		Deps{Events: sink, Now: b.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	fastTiming(c)
	if _, err := c.Login(ctx, alice.ID, alice.Password, b.Code(t, alice), false); err != nil {
		t.Fatal(err)
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; sink saw %q", what, sink.log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("subscribed", func() bool { return sink.count("subscribed") == 1 })
	dm, err := bob.ChatDirect(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ChatSend(ctx, dm.ID, api.ChatSendRequest{Key: "k", Text: "お疲れさまです"}); err != nil {
		t.Fatal(err)
	}
	wait("the chat frame", func() bool { return sink.count(api.EventChatMessage) == 1 && sink.count(api.EventChatChannel) == 1 })
	proxy.cut(true)
	wait("down", func() bool { return sink.count("down") >= 1 })
	proxy.cut(false)
	wait("subscribed again", func() bool { return sink.count("subscribed") == 2 })
}
