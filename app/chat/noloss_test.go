package chat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestChatOutboxOffline: the laptop's line is down while its user types
// 40 messages into two channels. Each shows as pending at once; when the
// line is back the outbox delivers them once and in the order typed,
// even though the line blips again while they are being sent (answers
// lost, sends retried with their keys).
func TestChatOutboxOffline(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	dm, err := alice.ChatDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	lap := newLaptop(t, b, alice, chat.Options{})
	c := lap.chat
	waitUntil(t, "online", 10*time.Second, c.Online)

	lap.line.set(true)
	waitUntil(t, "offline", 10*time.Second, func() bool { return !c.Online() })
	var typed []string
	for i := range 40 {
		ch := dept
		if i%3 == 0 {
			ch = dm.ID
		}
		text := fmt.Sprintf("オフラインで書いた %d 件目", i)
		if err := c.Send(ch, text, 0); err != nil {
			t.Fatal(err)
		}
		typed = append(typed, text)
	}
	if n := c.PendingCount(); n != 40 {
		t.Fatalf("pending while offline: %d, want 40", n)
	}
	for _, m := range c.Messages(dept) {
		if m.State != chat.Pending || !m.Mine || m.Seq != 0 {
			t.Fatalf("a message typed offline shows as %+v, want pending", m)
		}
	}
	time.Sleep(300 * time.Millisecond) // the outbox retries into the dead line meanwhile

	lap.line.set(false)
	// Blips while the outbox empties: some answers are lost on the way.
	go func() {
		for range 6 {
			time.Sleep(time.Duration(20+rand.IntN(40)) * time.Millisecond)
			lap.line.cut()
		}
	}()
	waitUntil(t, "the outbox empty and every message shown", 30*time.Second, func() bool {
		return c.PendingCount() == 0 && len(c.Messages(dept))+len(c.Messages(dm.ID)) == 40 && allSent(c, dept) && allSent(c, dm.ID)
	})

	// The broker stored each once, in the order typed.
	var got []string
	all := append(stored(t, bob, dept), stored(t, bob, dm.ID)...)
	slices.SortFunc(all, func(a, b api.ChatMessage) int { return a.At.Compare(b.At) })
	seen := map[string]bool{}
	for _, m := range all {
		if seen[m.Key] {
			t.Errorf("key %s stored twice", m.Key)
		}
		seen[m.Key] = true
		got = append(got, m.Text)
	}
	perChannel := func(ms []api.ChatMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Text)
		}
		return out
	}
	var wantDept, wantDM []string
	for i, s := range typed {
		if i%3 == 0 {
			wantDM = append(wantDM, s)
		} else {
			wantDept = append(wantDept, s)
		}
	}
	if g := perChannel(stored(t, bob, dept)); !slices.Equal(g, wantDept) {
		t.Errorf("department channel stored %q,\nwant %q", g, wantDept)
	}
	if g := perChannel(stored(t, bob, dm.ID)); !slices.Equal(g, wantDM) {
		t.Errorf("direct channel stored %q,\nwant %q", g, wantDM)
	}
	if len(got) != 40 {
		t.Errorf("stored %d messages, typed 40", len(got))
	}
	// The app shows them once each, in the broker's order.
	for _, id := range []string{dept, dm.ID} {
		var shown []string
		for _, m := range c.Messages(id) {
			shown = append(shown, m.Text)
		}
		if want := perChannel(stored(t, bob, id)); !slices.Equal(shown, want) {
			t.Errorf("channel %s shows %q, stored %q", id, shown, want)
		}
	}
}

func allSent(c *chat.Client, id string) bool {
	for _, m := range c.Messages(id) {
		if m.State != chat.Sent || m.Seq == 0 {
			return false
		}
	}
	return true
}

// TestChatReconnectRandomDrops: 1,200 messages from a colleague over three
// channels and 120 of the laptop's own through its outbox, while the
// laptop's line is cut at random about forty times (the socket, history
// pages and sends alike). The app ends with every message exactly once,
// in sequence order, and its unread count matches the broker's.
func TestChatReconnectRandomDrops(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	g, err := bob.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "窓口応援", Members: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := bob.ChatDirect(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	channels := []string{dept, g.ID, dm.ID}
	lap := newLaptop(t, b, alice, chat.Options{Keep: 100000})
	c := lap.chat
	waitUntil(t, "online", 10*time.Second, c.Online)

	stop := make(chan struct{})
	var cuts atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(13, 2))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+rnd.IntN(80)) * time.Millisecond):
			}
			if rnd.IntN(4) == 0 {
				lap.line.set(true) // a longer outage
				time.Sleep(time.Duration(50+rnd.IntN(200)) * time.Millisecond)
				lap.line.set(false)
			} else {
				lap.line.cut()
			}
			cuts.Add(1)
		}
	}()
	// Alice types between bob's messages.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 120 {
			if err := c.Send(channels[i%3], fmt.Sprintf("alice %d", i), 0); err != nil {
				t.Error(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := range 1200 {
		req := api.ChatSendRequest{Key: fmt.Sprintf("bob-%d", i), Text: fmt.Sprintf("bob %d", i)}
		if _, err := bob.ChatSend(ctx, channels[i%3], req); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond) // spread over seconds, so the cuts land across the run
	}
	for cuts.Load() < 40 {
		time.Sleep(10 * time.Millisecond)
	}
	waitUntil(t, "alice's outbox empty", 60*time.Second, func() bool { return c.PendingCount() == 0 })
	close(stop)
	wg.Wait()
	lap.line.set(false)
	lap.line.cut() // one more reconnect, so a catch-up follows the last cut
	waitUntil(t, "every message shown", 60*time.Second, func() bool {
		n := 0
		for _, id := range channels {
			n += len(c.Messages(id))
		}
		return n == 1320 && c.Online()
	})
	t.Logf("%d cuts, %d socket connections", cuts.Load(), lap.dialCount())
	for _, id := range channels {
		want := stored(t, bob, id)
		got := c.Messages(id)
		if len(got) != len(want) {
			t.Errorf("channel %s: shows %d, stored %d", id, len(got), len(want))
			continue
		}
		for i := range want {
			if got[i].Seq != want[i].Seq || got[i].Text != want[i].Text || got[i].State != chat.Sent {
				t.Errorf("channel %s entry %d: shows seq %d %q (state %d), stored seq %d %q", id, i, got[i].Seq, got[i].Text,
					got[i].State, want[i].Seq, want[i].Text)
				break
			}
		}
		alices := 0
		for _, m := range want {
			if m.Sender == "alice" {
				alices++
			}
		}
		if alices != 40 {
			t.Errorf("channel %s: alice's messages stored %d times, want 40 (once each)", id, alices)
		}
	}
	// Unread: all of bob's 1,200, as the broker counts them.
	if n := c.Unread(); n != 1200 {
		t.Errorf("unread %d, want 1200", n)
	}
	l, err := alice.ChatChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range l.Channels {
		for _, v := range c.Channels() {
			if v.ID == ch.ID && v.Unread != ch.Unread {
				t.Errorf("channel %s: app counts %d unread, broker %d", ch.ID, v.Unread, ch.Unread)
			}
		}
	}
	// Viewing a channel reads it, here and at the broker.
	c.View(dept)
	waitUntil(t, "department read", 10*time.Second, func() bool {
		l, err := alice.ChatChannels(ctx)
		if err != nil {
			return false
		}
		for _, ch := range l.Channels {
			if ch.ID == dept {
				return ch.Unread == 0
			}
		}
		return false
	})
	if n := c.Unread(); n != 800 {
		t.Errorf("unread after reading the department channel: %d, want 800", n)
	}
}
