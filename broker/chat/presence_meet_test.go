package chat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// presenceOf reads one colleague's presence as s sees it.
func presenceOf(t *testing.T, s *brokertest.Session, user string) api.ChatPresence {
	t.Helper()
	l, err := s.ChatPresence(context.Background(), "", []string{user})
	if err != nil || len(l.People) != 1 {
		t.Fatalf("presence of %s: %+v %v", user, l, err)
	}
	return l.People[0]
}

// toldOf reads presence frames until one of user in the given state.
func toldOf(t *testing.T, es *api.EventStream, user, state string) {
	t.Helper()
	for {
		var p api.ChatPresence
		nextOf(t, es, api.EventChatPresence, &p)
		if p.User == user && p.State == state {
			return
		}
	}
}

// enterMeeting opens s's signalling socket to the room and waits for the
// broker's welcome: from there s is a participant. The socket closed is
// the participant gone.
func enterMeeting(t *testing.T, b *brokertest.Broker, s *brokertest.Session, room string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := s.JoinRoom(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(b.URL, "https://", "wss://", 1) + "/v1/meet/rooms/" + room + "/signal?join=" + j.Token
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: b.Client(t).HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the welcome: %v", err)
		}
		var m api.MeetSignal
		if json.Unmarshal(data, &m) == nil && m.Type == "welcome" {
			return conn
		}
	}
}

// TestChatPresenceMeeting: a member of staff in a web meeting is 会議中
// (above 離席中 and オンライン: the meeting runs in a browser, where the
// app sees no input), their department hears it at once, and it ends
// when they leave their last meeting — not their first of two.
func TestChatPresenceMeeting(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, _ := threeChannels(t, b)
	aliceSock, err := alice.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer aliceSock.Close()
	var hello api.Hello
	nextOf(t, aliceSock, api.EventHello, &hello)
	bobSock, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bobSock.Close()
	nextOf(t, bobSock, api.EventHello, &hello)
	yes := true
	if _, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &yes}); err != nil {
		t.Fatal(err)
	}
	toldOf(t, aliceSock, "bob", api.PresenceAway)

	r1, err := alice.CreateRoom(ctx, api.CreateRoomRequest{Title: "課内会議"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := alice.CreateRoom(ctx, api.CreateRoomRequest{Title: "予算ヒアリング"})
	if err != nil {
		t.Fatal(err)
	}
	c1 := enterMeeting(t, b, bob, r1.Room.ID)
	toldOf(t, aliceSock, "bob", api.PresenceMeeting) // at once, without a sweep
	if p := presenceOf(t, alice, "bob"); p.State != api.PresenceMeeting {
		t.Errorf("bob in a meeting: %s", p.State)
	}
	c2 := enterMeeting(t, b, bob, r2.Room.ID)
	c1.Close(websocket.StatusNormalClosure, "")
	// Still in the second: the first's leaving changes nothing. Leaving
	// the second does; alice's own meeting is hers alone.
	c2.Close(websocket.StatusNormalClosure, "")
	toldOf(t, aliceSock, "bob", api.PresenceAway)
	if p := presenceOf(t, alice, "bob"); p.State != api.PresenceAway {
		t.Errorf("bob out of his meetings, app idle: %s", p.State)
	}
	if p := presenceOf(t, bob, "alice"); p.State != api.PresenceOnline {
		t.Errorf("alice, never in a meeting: %s", p.State)
	}
}

// TestChatPresenceIdle: the app says its user is idle and back (the
// idle time is IT's policy, 10 minutes unless set, within bounds), and
// presence goes 離席中 and back to オンライン, told to the department each
// time.
func TestChatPresenceIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := brokertest.Start(t)
	alice, bob, _ := threeChannels(t, b)
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	var p api.ChatPolicy
	if err := bob.Do(ctx, "GET", "/v1/chat/policy", nil, &p); err != nil || p.IdleMinutes != 10 {
		t.Fatalf("default idle time: %+v %v", p, err)
	}
	five := 5
	if err := it.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{IdleMinutes: &five, Reason: "窓口の交代に合わせる"}, &p); err != nil || p.IdleMinutes != 5 {
		t.Fatalf("idle time set: %+v %v", p, err)
	}
	for _, bad := range []int{0, 241} {
		err := it.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{IdleMinutes: &bad, Reason: "x"}, nil)
		wantCode(t, "idle minutes out of bounds", err, api.CodeValidation)
	}
	if err := bob.Do(ctx, "GET", "/v1/chat/policy", nil, &p); err != nil || p.IdleMinutes != 5 {
		t.Fatalf("the app reads idle time: %+v %v", p, err)
	}

	aliceSock, err := alice.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer aliceSock.Close()
	var hello api.Hello
	nextOf(t, aliceSock, api.EventHello, &hello)
	bobSock, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bobSock.Close()
	nextOf(t, bobSock, api.EventHello, &hello)
	yes, no := true, false
	for range 2 {
		if got, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &yes}); err != nil || got.State != api.PresenceAway {
			t.Fatalf("idle: %+v %v", got, err)
		}
		toldOf(t, aliceSock, "bob", api.PresenceAway)
		if got, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &no}); err != nil || got.State != api.PresenceOnline {
			t.Fatalf("back: %+v %v", got, err)
		}
		toldOf(t, aliceSock, "bob", api.PresenceOnline)
	}
	// Idle means nothing once the app is closed: オフライン, not 離席中.
	if _, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &yes}); err != nil {
		t.Fatal(err)
	}
	bobSock.Close()
	// The socket's end reaches the hub on its own time: wait for it (a
	// condition, not a time).
	for presenceOf(t, alice, "bob").State != api.PresenceOffline {
		select {
		case <-ctx.Done():
			t.Fatal("bob stays 離席中 with his app closed")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestChatGroupRename: a member renames a group and every member's socket
// hears the new name; a non-member cannot, nor can anyone rename a
// department or direct channel; a name must be given and is bounded.
func TestChatGroupRename(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, chans := threeChannels(t, b)
	carol := b.Signin(t, "carol")
	bobSock, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bobSock.Close()
	var hello api.Hello
	nextOf(t, bobSock, api.EventHello, &hello)
	got, err := alice.ChatRename(ctx, chans[1], "  窓口応援（4月）  ")
	if err != nil || got.Name != "窓口応援（4月）" {
		t.Fatalf("rename: %+v %v", got, err)
	}
	var told api.ChatChannel
	nextOf(t, bobSock, api.EventChatChannel, &told)
	if told.ID != chans[1] || told.Name != "窓口応援（4月）" {
		t.Errorf("bob was told %+v", told)
	}
	if l, err := bob.ChatChannel(ctx, chans[1]); err != nil || l.Name != "窓口応援（4月）" {
		t.Errorf("bob reads %+v %v", l, err)
	}
	_, err = carol.ChatRename(ctx, chans[1], "乗っ取り")
	wantCode(t, "a non-member renames", err, api.CodeChatNoChannel)
	for _, id := range []string{chans[0], chans[2]} {
		_, err = alice.ChatRename(ctx, id, "新しい名前")
		wantCode(t, "rename a department or direct channel", err, api.CodeChatNotGroup)
	}
	for _, bad := range []string{" ", strings.Repeat("名", 101)} {
		_, err = alice.ChatRename(ctx, chans[1], bad)
		wantCode(t, "a bad name", err, api.CodeValidation)
	}
}
