package chat_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestChatPresence: presence follows what the broker knows — オフライン
// with no app open, オンライン with it, テレワーク中 with a granted slot,
// 離席中 when the app says its user is idle — and a status message is
// kept and told to the department.
func TestChatPresence(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, _ := threeChannels(t, b)
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	state := func() (string, string) {
		t.Helper()
		l, err := alice.ChatPresence(ctx, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range l.People {
			if p.User == "bob" {
				return p.State, p.Status
			}
		}
		t.Fatalf("bob is not in alice's department's presence: %+v", l.People)
		return "", ""
	}
	if st, _ := state(); st != api.PresenceOffline {
		t.Errorf("bob with no app open: %s", st)
	}
	// alice's socket, to be told of bob's status.
	aliceSock, err := alice.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer aliceSock.Close()
	var hello api.Hello
	nextOf(t, aliceSock, api.EventHello, &hello)
	sweep := func() {
		t.Helper()
		if err := b.Services.Chat.SweepPresence(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sweep() // the first takes note
	bobSock, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	nextOf(t, bobSock, api.EventHello, &hello)
	if st, _ := state(); st != api.PresenceOnline {
		t.Errorf("bob with the app open: %s", st)
	}
	// The sweep tells the department.
	sweep()
	var told api.ChatPresence
	nextOf(t, aliceSock, api.EventChatPresence, &told)
	if told.User != "bob" || told.State != api.PresenceOnline {
		t.Errorf("alice was told %+v, want bob online", told)
	}
	msg, yes, no := "午後は窓口", true, false
	if _, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &msg, Away: &yes}); err != nil {
		t.Fatal(err)
	}
	nextOf(t, aliceSock, api.EventChatPresence, &told)
	if told.User != "bob" || told.State != api.PresenceAway || told.Status != msg {
		t.Errorf("alice was told %+v", told)
	}
	if st, status := state(); st != api.PresenceAway || status != msg {
		t.Errorf("bob idle: %s %q", st, status)
	}
	if _, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &no}); err != nil {
		t.Fatal(err)
	}
	// Connected to his office PC.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-bob", Name: "bobのPC", Address: "127.0.0.1",
		RDPPort: ln.Addr().(*net.TCPAddr).Port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: "bob"}); err != nil {
		t.Fatal(err)
	}
	if sl, err := bob.RequestSlot(ctx, api.SlotRequest{}); err != nil || sl.State != api.SlotGranted {
		t.Fatalf("bob's slot: %+v %v", sl, err)
	}
	if st, status := state(); st != api.PresenceTelework || status != msg {
		t.Errorf("bob on his office PC: %s %q", st, status)
	}
	sweep()
	for told.State != api.PresenceTelework { // after the online of away=false
		nextOf(t, aliceSock, api.EventChatPresence, &told)
	}
	if told.User != "bob" {
		t.Errorf("alice was told %+v", told)
	}
	// The app closes; the session goes on: still テレワーク中.
	bobSock.Close()
	if st, _ := state(); st != api.PresenceTelework {
		t.Errorf("bob's app closed, session on: %s", st)
	}
	// By staff ID, and bad input.
	l, err := alice.ChatPresence(ctx, "", []string{"bob", "nobody"})
	if err != nil || len(l.People) != 1 || l.People[0].User != "bob" {
		t.Errorf("by ID: %+v %v", l, err)
	}
	tooLong := strings.Repeat("長", 101)
	_, err = bob.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &tooLong})
	wantCode(t, "a status of 101 characters", err, api.CodeValidation)
	ctrl := "\x1b]0;x\x07"
	_, err = bob.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &ctrl})
	wantCode(t, "a status with control characters", err, api.CodeValidation)
}

// TestChatPeople: a colleague is found by part of the name however it is
// typed (katakana for hiragana, full-width letters), by staff ID or by
// department; disabled accounts are not offered.
func TestChatPeople(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, _, _ := threeChannels(t, b)
	b.CreateUser(t, "yamada")
	b.CreateUser(t, "gone")
	name, dept := "やまだ はなこ", "税務課"
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "yamada", api.UpdateUserRequest{Name: &name, Department: &dept}); err != nil {
		t.Fatal(err)
	}
	// A kanji name is found by its reading, as the roster gives it.
	b.CreateUser(t, "sato")
	kanji, kana := "佐藤 花子", "サトウ ハナコ"
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "sato", api.UpdateUserRequest{Name: &kanji, Kana: &kana, Department: &dept}); err != nil {
		t.Fatal(err)
	}
	off := true
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "gone", api.UpdateUserRequest{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"ヤマダ", []string{"yamada"}},
		{"やまだ", []string{"yamada"}},
		{"YAMADA", []string{"yamada"}},
		{"ｙａｍａ", []string{"yamada"}},
		{"税務", []string{"sato", "yamada"}},
		{"さとう", []string{"sato"}},
		{"サトウ　ハナ", []string{"sato"}},
		{"佐藤", []string{"sato"}},
		{"gone", nil},
	} {
		l, err := alice.ChatPeople(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range l.People {
			got = append(got, p.ID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("people %q: %v, want %v", tc.q, got, tc.want)
		}
	}
}
