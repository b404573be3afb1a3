package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestChatEditDeleteMuteGroups: one's own message is editable within IT's
// edit window and shows edited, then deleted; past the window it is not
// offered; a muted channel counts in no total and notifies of nothing; a
// group made from the app lists with its members, is renamed (the
// colleague's app hears the name), takes a member later (both apps hear
// the new list) and is left.
func TestChatEditDeleteMuteGroups(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	var mu sync.Mutex
	now := workTime
	now = b.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	lap := newLaptop(t, b, alice, chat.Options{Now: clock})
	c := lap.chat
	bobLap := newLaptop(t, b, bob, chat.Options{})
	waitUntil(t, "online", 10*time.Second, func() bool { return c.Online() && bobLap.chat.Online() })
	waitUntil(t, "the policy", 10*time.Second, func() bool { return c.Policy().EditWindowMinutes == 60 })

	if err := c.Send(dept, "会議は10時からです", 0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "sent", 10*time.Second, func() bool { return last(c, dept).Seq > 0 })
	m := last(c, dept)
	if !m.Editable {
		t.Fatalf("own message just sent: %+v, want editable", m)
	}
	if err := c.Edit(ctx, dept, m.Seq, "会議は11時からです"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "edited", 10*time.Second, func() bool { m := last(c, dept); return m.Edited && m.Text == "会議は11時からです" })
	waitUntil(t, "bob sees the edit", 10*time.Second, func() bool { m := last(bobLap.chat, dept); return m.Edited && m.Text == "会議は11時からです" })
	if err := c.Edit(ctx, dept, m.Seq, "   "); !errors.Is(err, chat.ErrEmpty) {
		t.Errorf("an empty edit: %v", err)
	}
	if err := c.Delete(ctx, dept, m.Seq); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "deleted", 10*time.Second, func() bool { m := last(c, dept); return m.Deleted && m.Text == "" && !m.Editable })
	waitUntil(t, "bob sees the delete", 10*time.Second, func() bool { return last(bobLap.chat, dept).Deleted })
	// A colleague's message is never editable; one's own past the window
	// is not offered, and the broker would refuse it anyway.
	if err := c.Send(dept, "資料は共有フォルダにあります", 0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "sent", 10*time.Second, func() bool { return last(c, dept).Seq > m.Seq+1 })
	past := last(c, dept).At.Add(61 * time.Minute) // the window runs from the broker's time of the message
	mu.Lock()
	now = past
	mu.Unlock()
	if last(c, dept).Editable {
		t.Error("own message past the edit window is offered for editing")
	}
	if ms := bobLap.chat.Messages(dept); ms[len(ms)-1].Editable {
		t.Error("a colleague's message is editable")
	}

	// Mute: the department's unread messages leave the total.
	if _, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "m1", Text: "@alice 確認お願いします"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "unread", 10*time.Second, func() bool { return c.Unread() == 1 })
	if err := c.SetMuted(ctx, dept, true); err != nil {
		t.Fatal(err)
	}
	if c.Unread() != 0 {
		t.Errorf("muted: total unread %d", c.Unread())
	}
	var notices []chat.Notice
	c.OnNotice(func(n chat.Notice) { mu.Lock(); notices = append(notices, n); mu.Unlock() })
	if _, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "m2", Text: "@alice もう一件"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the second mention", 10*time.Second, func() bool { return last(c, dept).Text == "@alice もう一件" })
	if chs := c.Channels(); chs[0].ID != dept || !chs[0].Muted || chs[0].Unread != 2 {
		t.Errorf("muted channel listed as %+v", chs[0])
	}
	if err := c.SetMuted(ctx, dept, false); err != nil {
		t.Fatal(err)
	}
	if c.Unread() != 2 {
		t.Errorf("unmuted: total unread %d", c.Unread())
	}
	mu.Lock()
	if len(notices) != 0 {
		t.Errorf("a muted channel notified: %+v", notices)
	}
	mu.Unlock()
	// The broker keeps the mute: a new session of alice's reads it.
	l, err := alice.ChatChannels(ctx)
	if err != nil || l.Channels[0].Muted {
		t.Errorf("broker's mute after unmuting: %+v %v", l, err)
	}

	// A group.
	g, err := c.CreateGroup(ctx, "窓口応援", []string{"bob"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "bob holds the group", 10*time.Second, func() bool { return hasChannel(bobLap.chat, g, "窓口応援") })
	if ms := c.Members(g); len(ms) != 2 || ms[0].Name != "Test alice" || ms[1].Name != "Test bob" {
		t.Errorf("group members %+v", ms)
	}
	if err := c.Rename(ctx, g, "窓口応援（4月）"); err != nil {
		t.Fatal(err)
	}
	if !hasChannel(c, g, "窓口応援（4月）") {
		t.Errorf("renamed group: %+v", c.Channels())
	}
	waitUntil(t, "bob hears the new name", 10*time.Second, func() bool { return hasChannel(bobLap.chat, g, "窓口応援（4月）") })
	// A member added later: both apps hear the new list; the
	// department's channel takes nobody by hand.
	b.CreateUser(t, "carol")
	if err := c.AddMembers(ctx, g, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	if ms := c.Members(g); len(ms) != 3 || ms[2].ID != "carol" {
		t.Errorf("group members after adding carol: %+v", ms)
	}
	waitUntil(t, "bob hears carol joined", 10*time.Second, func() bool { return len(bobLap.chat.Members(g)) == 3 })
	if err := c.AddMembers(ctx, dept, []string{"carol"}); api.AsError(err) == nil || api.AsError(err).Code != api.CodeChatNotGroup {
		t.Errorf("adding to the department's channel: %v", err)
	}
	if err := c.AddMembers(ctx, g, nil); !errors.Is(err, chat.ErrNoMembers) {
		t.Errorf("adding nobody: %v", err)
	}
	if _, err := c.CreateGroup(ctx, " ", []string{"bob"}); api.AsError(err) == nil || api.AsError(err).Code != api.CodeValidation {
		t.Errorf("a group without a name: %v", err)
	}
	if err := c.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	if hasChannel(c, g, "") {
		t.Error("the group left is still listed")
	}
	if _, err := bob.ChatChannel(ctx, g); err != nil {
		t.Errorf("bob's group after alice left: %v", err)
	}
	// Leaving on another device: the next catch-up drops it here too.
	g2, err := bobLap.chat.CreateGroup(ctx, "庶務", []string{"alice"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "alice holds 庶務", 10*time.Second, func() bool { return hasChannel(c, g2, "庶務") })
	if err := alice.ChatLeave(ctx, g2); err != nil {
		t.Fatal(err)
	}
	lap.line.cut()
	waitUntil(t, "庶務 gone after the reconnect", 10*time.Second, func() bool { return !hasChannel(c, g2, "") && c.Online() })
}

// hasChannel reports whether c lists the channel (with that name, when given).
func hasChannel(c *chat.Client, id, name string) bool {
	for _, ch := range c.Channels() {
		if ch.ID == id && (name == "" || ch.Name == name) {
			return true
		}
	}
	return false
}

// TestChatIdleAndPresence: the app shows its colleagues' presence and
// status messages; after IT's idle time with no input the broker has the
// user 離席中, input brings them back at once, and a broker that forgot
// (the socket reopened) is told again; one's own status message reaches
// the colleague's app.
func TestChatIdleAndPresence(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	three := 3
	if err := it.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{IdleMinutes: &three, Reason: "試験"}, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := workTime
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	lap := newLaptop(t, b, alice, chat.Options{Now: clock, IdleCheck: time.Hour}) // the test says when to look
	c := lap.chat
	bobLap := newLaptop(t, b, bob, chat.Options{})
	waitUntil(t, "online", 10*time.Second, func() bool { return c.Online() && bobLap.chat.Online() })
	waitUntil(t, "the policy", 10*time.Second, func() bool { return c.Policy().IdleMinutes == 3 })
	state := func(cl *chat.Client, id string) string { p, _ := cl.Presence(id); return p.State }
	// What sockets change (alice's app opening) reaches colleagues by the
	// broker's presence sweep, a job every 10 s: the test runs it.
	sees := func(want string) func() bool {
		return func() bool {
			if err := b.Services.Chat.SweepPresence(ctx); err != nil {
				t.Fatal(err)
			}
			return state(bobLap.chat, "alice") == want
		}
	}
	waitUntil(t, "bob sees alice online", 10*time.Second, sees(api.PresenceOnline))
	brokerState := func() string {
		l, err := bob.ChatPresence(ctx, "", []string{"alice"})
		if err != nil || len(l.People) != 1 {
			t.Fatalf("presence: %+v %v", l, err)
		}
		return l.People[0].State
	}

	advance(2 * time.Minute)
	c.CheckIdle()
	if c.Away() {
		t.Error("away after 2 of 3 minutes")
	}
	c.Activity() // input at 2 minutes: the 3 count from here
	advance(2 * time.Minute)
	c.CheckIdle()
	if c.Away() {
		t.Error("away 2 minutes after input")
	}
	advance(time.Minute + time.Second)
	c.CheckIdle()
	waitUntil(t, "alice 離席中 at the broker", 10*time.Second, func() bool { return c.Away() && brokerState() == api.PresenceAway })
	waitUntil(t, "bob's app shows alice 離席中", 10*time.Second, func() bool { return state(bobLap.chat, "alice") == api.PresenceAway })
	if p, _ := c.Presence("alice"); p.State != api.PresenceAway {
		t.Errorf("alice's own presence in her app: %+v", p)
	}
	// The socket reopens (a restarted broker would have forgotten too):
	// still 離席中 afterwards.
	dials := lap.dialCount()
	lap.line.cut()
	// Back once the socket reopened and chat caught up again (Online
	// alone may still read the old socket's true).
	waitUntil(t, "back online", 10*time.Second, func() bool { return lap.dialCount() > dials && c.Online() })
	waitUntil(t, "離席中 told again", 10*time.Second, func() bool {
		return brokerState() == api.PresenceAway && sees(api.PresenceAway)()
	})
	c.Activity()
	waitUntil(t, "back from 離席中", 10*time.Second, func() bool { return !c.Away() && brokerState() == api.PresenceOnline })
	waitUntil(t, "bob's app shows alice back", 10*time.Second, sees(api.PresenceOnline))

	if err := c.SetStatusMessage(ctx, "午後は窓口"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "bob's app shows the status", 10*time.Second, func() bool { p, _ := bobLap.chat.Presence("alice"); return p.Status == "午後は窓口" })
	if ms := bobLap.chat.Members(department(t, bob)); len(ms) != 3 {
		t.Errorf("department members with presence: %+v", ms) // alice, bob, it-admin
	}
}
