package events_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
)

// TestBroadcastReachesEveryOpenSocket: an announcement (BCP mode) goes to
// every socket of every user at once, and is state, not history: nothing
// is stored, no user's numbering moves.
func TestBroadcastReachesEveryOpenSocket(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "z.db"))
	defer st.Close()
	h, err := events.New(ctx, st.Events(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	subs := []*events.Sub{}
	for _, c := range []events.Client{{UserID: "yamada", DeviceID: "d1"}, {UserID: "yamada", DeviceID: "d2"}, {UserID: "sato", DeviceID: "d3"}} {
		s, err := h.SubscribeClient(c)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	h.Publish("yamada", "test", nil)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.Broadcast(api.EventBCP, api.BCPNotice{Active: true, Reason: "震度6弱"})
	for i, s := range subs {
		for {
			select {
			case ev := <-s.C:
				if ev.Type != api.EventBCP {
					continue // yamada's stored event came first
				}
				if ev.Seq != 0 || string(ev.Data) != `{"active":true,"reason":"震度6弱"}` {
					t.Fatalf("socket %d got %+v", i, ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("socket %d did not get the announcement", i)
			}
			break
		}
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if h.LastSeq("yamada") != 1 || h.LastSeq("sato") != 0 {
		t.Fatalf("numbering moved: yamada %d, sato %d", h.LastSeq("yamada"), h.LastSeq("sato"))
	}
}
