package chat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// last returns the newest message of a channel as the app shows it.
func last(c *chat.Client, id string) chat.Message {
	ms := c.Messages(id)
	if len(ms) == 0 {
		return chat.Message{}
	}
	return ms[len(ms)-1]
}

// TestChatReceiptsAndReplies: 既読 on a direct message once the colleague
// has read it, 既読 N in the department channel as members read, and a
// reply that quotes what it answers, with names from the directory.
func TestChatReceiptsAndReplies(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob, carol := b.Signin(t, "alice"), b.Signin(t, "bob"), b.Signin(t, "carol")
	dept := department(t, alice)
	dm, err := alice.ChatDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	q, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "q1", Text: "明日の窓口当番は誰ですか"})
	if err != nil {
		t.Fatal(err)
	}
	lap := newLaptop(t, b, alice, chat.Options{})
	c := lap.chat
	waitUntil(t, "online", 10*time.Second, c.Online)
	c.View(dept)
	if err := c.Send(dept, "私が担当します", q.Seq); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(dm.ID, "資料を送りました", 0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "both sent", 10*time.Second, func() bool { return c.PendingCount() == 0 && last(c, dm.ID).Seq > 0 && last(c, dept).Seq > 0 })
	r := last(c, dept)
	if r.Quote == nil || r.Quote.Seq != q.Seq || r.Quote.Text != "明日の窓口当番は誰ですか" || r.QuoteName != "Test bob" {
		t.Fatalf("reply shows %+v (quote %+v), want a quote of bob's question", r, r.Quote)
	}
	if r.SenderName != "Test alice" || !r.Mine {
		t.Errorf("reply's sender %q mine=%v", r.SenderName, r.Mine)
	}
	if r.ReadBy != 0 {
		t.Errorf("reply read by %d before anyone read it", r.ReadBy)
	}
	// The direct message: 既読 once bob reads it (alice views it, so its
	// receipts are loaded; the marker then arrives live).
	c.View(dm.ID)
	waitUntil(t, "receipts of the direct channel", 10*time.Second, func() bool { return last(c, dm.ID).ReadBy == 0 })
	if _, err := bob.ChatMarkRead(ctx, dm.ID, last(c, dm.ID).Seq); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "既読 on the direct message", 10*time.Second, func() bool { return last(c, dm.ID).ReadBy == 1 })
	// 既読 2 in the department once bob and carol read.
	for _, s := range []*brokertest.Session{bob, carol} {
		if _, err := s.ChatMarkRead(ctx, dept, r.Seq); err != nil {
			t.Fatal(err)
		}
	}
	c.View(dept)
	waitUntil(t, "既読 2 in the department", 10*time.Second, func() bool { return last(c, dept).ReadBy == 2 })
}

// TestChatNotices: a direct message and a mention of the user are
// notices; other channel traffic, a muted channel, the channel on screen
// and the quiet hours are not.
func TestChatNotices(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	dm, err := bob.ChatDirect(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := workTime
	var got []chat.Notice
	lap := newLaptop(t, b, alice, chat.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	c := lap.chat
	c.OnNotice(func(n chat.Notice) { mu.Lock(); got = append(got, n); mu.Unlock() })
	waitUntil(t, "online", 10*time.Second, c.Online)
	notices := func() []chat.Notice { mu.Lock(); defer mu.Unlock(); return append([]chat.Notice(nil), got...) }
	send := func(ch, key, text string) {
		t.Helper()
		if _, err := bob.ChatSend(ctx, ch, api.ChatSendRequest{Key: key, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	send(dept, "1", "会議室を予約しました")
	send(dept, "2", "@alice 午後の件お願いします")
	send(dm.ID, "3", "お疲れさまです")
	waitUntil(t, "two notices", 10*time.Second, func() bool { return len(notices()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	n := notices()
	if len(n) != 2 || !n[0].Mention || n[0].Direct || n[0].SenderName != "Test bob" || !n[1].Direct ||
		n[1].Text != "お疲れさまです" || n[1].ChannelName != "Test bob" {
		t.Fatalf("notices %+v, want the mention and the direct message", n)
	}
	// On screen: no notice. Quiet hours: none either.
	c.View(dm.ID)
	send(dm.ID, "4", "見ていますか")
	c.View("")
	mu.Lock()
	now = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC) // 21:00 in Tokyo
	mu.Unlock()
	send(dm.ID, "5", "夜分に失礼します")
	waitUntil(t, "both shown", 10*time.Second, func() bool { return len(c.Messages(dm.ID)) == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := notices(); len(n) != 2 {
		t.Errorf("notices on screen or in the quiet hours: %+v", n[2:])
	}
	if c.Unread() == 0 {
		t.Error("the message of the quiet hours does not count as unread")
	}
}

// TestChatSearchAndPeople: search finds a Japanese substring with its
// channel's name; colleague lookup finds by kana-folded name and opens a
// direct channel that then lists.
func TestChatSearchAndPeople(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	if _, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "s", Text: "上海市役所との打ち合わせは木曜です"}); err != nil {
		t.Fatal(err)
	}
	lap := newLaptop(t, b, alice, chat.Options{})
	c := lap.chat
	waitUntil(t, "online", 10*time.Second, c.Online)
	hits, _, err := c.Search(ctx, "市役所との")
	if err != nil || len(hits) != 1 || hits[0].ChannelName != "総務課" || hits[0].Message.SenderName != "Test bob" || len(hits[0].Spans) != 1 {
		t.Fatalf("search: %+v %v", hits, err)
	}
	people, err := c.People(ctx, "bob")
	if err != nil || len(people) != 1 || people[0].ID != "bob" {
		t.Fatalf("people: %+v %v", people, err)
	}
	id, err := c.Direct(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the direct channel listed", 10*time.Second, func() bool {
		for _, ch := range c.Channels() {
			if ch.ID == id && ch.Kind == api.ChatDirect && ch.Name == "Test bob" {
				return true
			}
		}
		return false
	})
	if err := c.Send(id, "", 0); err != chat.ErrEmpty {
		t.Errorf("empty send: %v", err)
	}
}

// TestChatSignOutForgets: the session's end wipes what chat held.
func TestChatSignOutForgets(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	alice, bob := b.Signin(t, "alice"), b.Signin(t, "bob")
	dept := department(t, alice)
	if _, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "s", Text: "内部の話"}); err != nil {
		t.Fatal(err)
	}
	c := chat.New(chat.Options{})
	done := make(chan struct{})
	c.Start(alice.Client, "alice", done)
	c.Subscribed() // as core does at hello
	waitUntil(t, "history", 10*time.Second, func() bool { return len(c.Messages(dept)) == 1 })
	close(done)
	waitUntil(t, "forgotten", 10*time.Second, func() bool { return !c.Active() && len(c.Channels()) == 0 })
	if err := c.Send(dept, "x", 0); err != chat.ErrNoSession {
		t.Errorf("send after sign-out: %v", err)
	}
}
