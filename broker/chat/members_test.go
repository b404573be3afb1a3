package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// socket opens the user's event socket and reads its hello.
func socket(t *testing.T, s *brokertest.Session) *api.EventStream {
	t.Helper()
	ctx := context.Background()
	es, err := s.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	if ev, err := es.Next(ctx); err != nil || ev.Type != api.EventHello {
		t.Fatalf("first frame %+v %v, want hello", ev, err)
	}
	return es
}

// messagesUntil reads chat messages from the socket until one with the
// text until, and returns the texts before it.
func messagesUntil(t *testing.T, es *api.EventStream, until string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for {
		ev, err := es.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %q (after %q): %v", until, got, err)
		}
		if ev.Type != api.EventChatMessage {
			continue
		}
		var m api.ChatMessage
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Text == until {
			return got
		}
		got = append(got, m.Text)
	}
}

// TestChatMembersFollowChanges: chat keeps member lists in memory, and a
// change of who is in a channel is followed at the next message: a
// colleague moved to another department, or who left a group, gets
// nothing more of it; one moved in, newly created or added gets it. The
// lists are read at the first message, so every change here comes after
// one was kept (within memberMaxAge, so only the drop can explain what
// the next message reaches).
func TestChatMembersFollowChanges(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, carol := b.Signin(t, "alice"), b.Signin(t, "bob"), b.Signin(t, "carol")
	erin := b.Signin(t, "erin")
	moveTo(t, b, "erin", "税務課")
	l, err := alice.ChatChannels(ctx)
	if err != nil || len(l.Channels) != 1 {
		t.Fatalf("alice's channels: %+v %v", l, err)
	}
	dept := l.Channels[0].ID
	dc, err := alice.ChatDirect(ctx, "carol") // for telling carol's socket that the test is done with it
	if err != nil {
		t.Fatal(err)
	}
	de, err := alice.ChatDirect(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "窓口応援", Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	bs, cs, es := socket(t, bob), socket(t, carol), socket(t, erin)
	keys := 0
	send := func(ch, text string) {
		t.Helper()
		keys++
		if _, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: fmt.Sprintf("k-%d", keys), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	// expect checks what each socket got, in order, until its marker (a
	// direct message sent after everything else).
	expect := func(who string, es *api.EventStream, direct, marker string, want ...string) {
		t.Helper()
		send(direct, marker)
		got := messagesUntil(t, es, marker)
		if len(got) != len(want) {
			t.Errorf("%s got %q, want %q", who, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s got %q, want %q", who, got, want)
				return
			}
		}
	}
	bd, err := alice.ChatDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}

	// The department: the lists are kept at the first message.
	send(dept, "総務1")
	send(g.ID, "応援1")
	expect("bob", bs, bd.ID, "bob-1", "総務1", "応援1")
	expect("carol", cs, dc.ID, "carol-1", "総務1", "応援1")
	expect("erin", es, de.ID, "erin-1")

	// carol moves out, erin moves in, frank is created in the department.
	moveTo(t, b, "carol", "税務課")
	moveTo(t, b, "erin", "総務課")
	frank := b.Signin(t, "frank")
	fs := socket(t, frank)
	df, err := alice.ChatDirect(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	send(dept, "総務2")
	expect("bob", bs, bd.ID, "bob-2", "総務2")
	expect("carol", cs, dc.ID, "carol-2")
	expect("erin", es, de.ID, "erin-2", "総務2")
	expect("frank", fs, df.ID, "frank-2", "総務2")

	// The group: carol leaves, erin is added.
	if err := carol.ChatLeave(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ChatAddMembers(ctx, g.ID, []string{"erin"}); err != nil {
		t.Fatal(err)
	}
	send(g.ID, "応援2")
	expect("bob", bs, bd.ID, "bob-3", "応援2")
	expect("carol", cs, dc.ID, "carol-3")
	expect("erin", es, de.ID, "erin-3", "応援2")
	// Who left may no longer post there.
	_, err = carol.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: "left-1", Text: "まだいます"})
	wantCode(t, "carol sends to the group she left", err, api.CodeChatNoChannel)
}
