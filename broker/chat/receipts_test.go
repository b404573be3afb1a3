package chat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// nextOf reads the socket until a frame of type typ, and decodes it.
func nextOf(t *testing.T, es *api.EventStream, typ string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := es.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if ev.Type == typ {
			if err := json.Unmarshal(ev.Data, v); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

func receipts(t *testing.T, s *brokertest.Session, ch string) *api.ChatReceipts {
	t.Helper()
	r, err := s.ChatReceipts(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChatReceipts: 既読 on a direct message and 既読 N in a group come
// from the read markers, which only move forward and are pushed live;
// unread counts follow them; with receipts switched off by IT, nobody
// sees another's marker.
func TestChatReceipts(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	carol := b.Signin(t, "carol")
	group, direct := channels[1], channels[2]
	if _, err := alice.ChatAddMembers(ctx, group, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	aliceSock, err := alice.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer aliceSock.Close()
	var hello api.Hello
	nextOf(t, aliceSock, api.EventHello, &hello)

	m, err := alice.ChatSend(ctx, direct, api.ChatSendRequest{Key: "d1", Text: "資料を送りました"})
	if err != nil {
		t.Fatal(err)
	}
	if n := receipts(t, alice, direct).ReadBy(m.Seq, "alice"); n != 0 {
		t.Errorf("既読 before bob read: %d", n)
	}
	if err := bob.ChatMute(ctx, direct, true); err != nil {
		t.Fatal(err)
	}
	l, _ := bob.ChatChannels(ctx)
	for _, c := range l.Channels {
		if c.ID == direct && (c.Unread != 1 || !c.Muted) {
			t.Errorf("bob's direct channel: unread %d muted %v, want 1, muted", c.Unread, c.Muted)
		}
	}
	if _, err := bob.ChatMarkRead(ctx, direct, m.Seq); err != nil {
		t.Fatal(err)
	}
	var r api.ChatRead
	nextOf(t, aliceSock, api.EventChatRead, &r)
	if r.User != "bob" || r.Seq != m.Seq || r.Channel != direct {
		t.Errorf("alice was told %+v", r)
	}
	if n := receipts(t, alice, direct).ReadBy(m.Seq, "alice"); n != 1 {
		t.Errorf("既読 after bob read: %d, want 1", n)
	}
	l, _ = bob.ChatChannels(ctx)
	for _, c := range l.Channels {
		if c.ID == direct && (c.Unread != 0 || c.ReadSeq != m.Seq) {
			t.Errorf("bob's direct channel after reading: unread %d, read %d", c.Unread, c.ReadSeq)
		}
	}

	// A group of three: 既読 N counts the others.
	for i := range 3 {
		if _, err := alice.ChatSend(ctx, group, api.ChatSendRequest{Key: "g" + string(rune('0'+i)), Text: "回覧です"}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(_ *api.ChatRead, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(bob.ChatMarkRead(ctx, group, 3))
	must(carol.ChatMarkRead(ctx, group, 1))
	back, err := bob.ChatMarkRead(ctx, group, 1) // never moves back
	if err != nil || back.Seq != 3 {
		t.Errorf("bob's marker moved back: %+v %v", back, err)
	}
	past, err := carol.ChatMarkRead(ctx, group, 1000) // not past the end
	if err != nil || past.Seq != 3 {
		t.Errorf("carol's marker past the end: %+v %v, want 3", past, err)
	}
	must(carol.ChatMarkRead(ctx, group, 1))
	rc := receipts(t, alice, group)
	for seq, want := range map[int64]int{1: 2, 2: 2, 3: 2} {
		if n := rc.ReadBy(seq, "alice"); n != want {
			t.Errorf("既読 on seq %d: %d, want %d", seq, n, want)
		}
	}

	// IT switches receipts off, with a reason.
	admin := b.Signin(t, "it-admin", api.RoleAdmin)
	off := false
	var p api.ChatPolicy
	if err := admin.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{Receipts: &off, Reason: "住民対応の方針"}, &p); err != nil || p.Receipts {
		t.Fatalf("receipts off: %+v %v", p, err)
	}
	// A fresh socket, so that only frames after the switch count.
	aliceSock.Close()
	if aliceSock, err = alice.DialEvents(ctx, 0); err != nil {
		t.Fatal(err)
	}
	defer aliceSock.Close()
	nextOf(t, aliceSock, api.EventHello, &hello)
	rc = receipts(t, alice, group)
	if len(rc.Reads) != 0 || rc.ReadBy(1, "alice") != 0 {
		t.Errorf("with receipts off alice still sees %+v", rc.Reads)
	}
	if _, err := alice.ChatSend(ctx, direct, api.ChatSendRequest{Key: "d2", Text: "もう一件"}); err != nil {
		t.Fatal(err)
	}
	must(bob.ChatMarkRead(ctx, direct, 2))
	// alice's socket gets her own message, and no read marker of bob's.
	var own api.ChatMessage
	nextOf(t, aliceSock, api.EventChatMessage, &own)
	if _, err := alice.ChatSend(ctx, direct, api.ChatSendRequest{Key: "d3", Text: "区切り"}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ev, err := aliceSock.Next(rctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == api.EventChatRead {
			t.Errorf("with receipts off alice was told %s", ev.Data)
		}
		if ev.Type == api.EventChatMessage && strings.Contains(string(ev.Data), "区切り") {
			break
		}
	}
}

// TestChatEditDeleteAndRecord: one's own message can be edited and
// deleted within IT's window, the originals are kept, the change reaches
// the members as entries of the channel; afterwards the window is
// closed. The operation log holds each send, edit and delete with
// metadata only, never the text.
func TestChatEditDeleteAndRecord(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	ch := channels[1]
	m, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: "m1", Text: "会議は十時から（秘密の議題）"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := bob.ChatSend(ctx, ch, api.ChatSendRequest{Key: "r1", Text: "@alice 了解です", ReplyTo: m.Seq})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Quote == nil || reply.Quote.Seq != m.Seq || reply.Quote.Sender != "alice" || len(reply.Mentions) != 1 || reply.Mentions[0] != "alice" {
		t.Errorf("reply: quote %+v mentions %v", reply.Quote, reply.Mentions)
	}
	ed, err := alice.ChatEdit(ctx, ch, m.Seq, api.ChatEditRequest{Key: "e1", Text: "会議は十一時から"})
	if err != nil || ed.Kind != api.ChatKindEdit || ed.Target != m.Seq || ed.Seq != 3 {
		t.Fatalf("edit: %+v %v", ed, err)
	}
	again, err := alice.ChatEdit(ctx, ch, m.Seq, api.ChatEditRequest{Key: "e1", Text: "会議は十一時から"})
	if err != nil || again.Seq != ed.Seq {
		t.Errorf("the edit retried: %+v %v, want the same entry", again, err)
	}
	h, err := bob.ChatAfter(ctx, ch, 0, 10)
	if err != nil || len(h.Messages) != 3 || h.Messages[0].Text != "会議は十一時から" || h.Messages[0].EditedAt.IsZero() {
		t.Fatalf("history after the edit: %+v %v", h, err)
	}
	del, err := alice.ChatDelete(ctx, ch, m.Seq)
	if err != nil || del.Kind != api.ChatKindDelete || del.Seq != 4 {
		t.Fatalf("delete: %+v %v", del, err)
	}
	del2, err := alice.ChatDelete(ctx, ch, m.Seq)
	if err != nil || del2.Seq != del.Seq {
		t.Errorf("deleting again: %+v %v, want the same entry", del2, err)
	}
	_, err = alice.ChatEdit(ctx, ch, m.Seq, api.ChatEditRequest{Key: "e2", Text: "復活"})
	wantCode(t, "edit after delete", err, api.CodeChatDeleted)
	revs, err := b.Store.Chat().Revisions(ctx, ch, m.Seq)
	if err != nil || len(revs) != 2 || revs[0].Text != "会議は十時から（秘密の議題）" || revs[1].Text != "会議は十一時から" {
		t.Errorf("kept for the record: %+v %v", revs, err)
	}

	// The window closes after IT's minutes (60 by default).
	late, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: "m2", Text: "遅い訂正"})
	if err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(61 * time.Minute)
	if _, err := alice.Refresh(ctx, alice.RefreshRequest(b.Now())); err != nil {
		t.Fatal(err)
	}
	_, err = alice.ChatEdit(ctx, ch, late.Seq, api.ChatEditRequest{Key: "e3", Text: "x"})
	wantCode(t, "edit after the window", err, api.CodeChatEditClosed)
	_, err = alice.ChatDelete(ctx, ch, late.Seq)
	wantCode(t, "delete after the window", err, api.CodeChatEditClosed)

	// The operation log: metadata of every change, no text.
	if err := b.Services.Events.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Store.R.QueryContext(ctx, `SELECT type, target, fields FROM oplog_events WHERE type LIKE 'chat.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var types []string
	for rows.Next() {
		var typ, target, fields string
		if err := rows.Scan(&typ, &target, &fields); err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
		for _, text := range []string{"会議", "秘密", "了解", "遅い", "十一時"} {
			if strings.Contains(fields, text) || strings.Contains(target, text) {
				t.Errorf("the operation log holds text of a message: %s %s", typ, fields)
			}
		}
		if typ == "chat.message_sent" && (!strings.Contains(fields, `"chars"`) || target != ch) {
			t.Errorf("send recorded without its metadata: %s %s", target, fields)
		}
	}
	want := "chat.message_sent chat.message_sent chat.message_edited chat.message_deleted chat.message_sent"
	if got := strings.Join(types, " "); !strings.Contains(got, want) {
		t.Errorf("recorded %q, want %q among them", got, want)
	}
}
