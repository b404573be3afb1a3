package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// nonMemberBodies is a valid body for every chat route that takes one and
// names a channel, by method and the path after the channel: the refusal
// must come from membership, not from a malformed request. A new chat
// route fails TestChatAuthzNonMember until it is listed here.
var nonMemberBodies = map[string]string{
	"POST /messages":        `{"key":"intruder-1","text":"のぞき見"}`,
	"PATCH /messages/{seq}": `{"key":"intruder-2","text":"書き換え"}`,
	"POST /members":         `{"members":["carol"]}`,
	"POST /read":            `{"seq":1}`,
	"PUT /mute":             `{"muted":true}`,
	"PATCH ":                `{"name":"乗っ取り"}`,
}

// moveTo puts a user in another department, as IT does in the roster.
func moveTo(t *testing.T, b *brokertest.Broker, id, dept string) {
	t.Helper()
	if _, err := b.Services.Auth.UpdateUser(context.Background(), "test", id, api.UpdateUserRequest{Department: &dept}); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, what string, err error, code api.Code) {
	t.Helper()
	e := api.AsError(err)
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want %s", what, code)
	case e == nil:
		t.Errorf("%s: %v, want %s", what, err, code)
	case e.Code != code:
		t.Errorf("%s: %s (%d %s), want %s", what, e.Code, e.Status, e.Detail, code)
	case e.MessageJA == "" || e.Message == "":
		t.Errorf("%s: %s without a message to show", what, code)
	}
}

// TestChatAuthzNonMember tries every chat route that names a channel, for
// a department channel, a group and a direct channel, as a colleague of
// another department who is in none of them; then search and the socket:
// nothing of the three may reach them.
func TestChatAuthzNonMember(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	carol := b.Signin(t, "carol")
	moveTo(t, b, "carol", "税務課")
	for _, ch := range channels {
		if _, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: "secret-" + ch, Text: "機密の打ち合わせ"}); err != nil {
			t.Fatal(err)
		}
	}
	// carol's socket is open throughout: it must carry nothing of them.
	cr := newReceiver(t, carol)
	es, err := cr.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()

	covered := map[string]bool{}
	tried, routes := 0, 0
	for _, rt := range b.Server.Routes() {
		if !strings.HasPrefix(rt.Path, "/v1/chat/") {
			continue
		}
		rest, names := strings.CutPrefix(rt.Path, "/v1/chat/channels/{id}")
		if !names {
			continue // checked below, one by one
		}
		key := rt.Method + " " + rest
		body, ok := nonMemberBodies[key]
		if rt.HasBody && !ok {
			t.Errorf("%s %s: no body in nonMemberBodies; add one so this route is tried as a non-member", rt.Method, rt.Path)
			continue
		}
		covered[rt.Method+" "+rt.Path] = true
		routes++
		for _, ch := range channels {
			path := strings.NewReplacer("{id}", ch, "{seq}", "1").Replace(rt.Path)
			var in any
			if body != "" {
				in = strings.NewReader(body)
			}
			err := carol.Do(ctx, rt.Method, path, in, nil)
			wantCode(t, "carol "+rt.Method+" "+rt.Path, err, api.CodeChatNoChannel)
			tried++
			// The same call by a member is not refused for membership.
			if rt.Method == "GET" {
				if err := bob.Do(ctx, rt.Method, path, nil, nil); err != nil {
					t.Errorf("bob %s %s: %v", rt.Method, rt.Path, err)
				}
			}
		}
	}

	// The list, search (long and short queries, all channels or one),
	// and colleague lookup.
	l, err := carol.ChatChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l.Channels {
		if slices.Contains(channels, c.ID) {
			t.Errorf("carol's list holds %s (%s)", c.ID, c.Kind)
		}
	}
	covered["GET /v1/chat/channels"] = true
	for _, q := range []string{"機密の打ち合わせ", "打ち合わせ", "機密", "密"} {
		res, err := carol.ChatSearch(ctx, q, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 0 {
			t.Errorf("carol's search for %s found %d messages of channels she is not in", q, len(res.Hits))
		}
		res, err = bob.ChatSearch(ctx, q, "")
		if err != nil || len(res.Hits) != 3 {
			t.Errorf("bob's search for %s: %d hits %v, want 3", q, len(res.Hits), err)
		}
		for _, ch := range channels {
			_, err := carol.ChatSearch(ctx, q, ch)
			wantCode(t, "carol searches "+ch, err, api.CodeChatNoChannel)
		}
	}
	covered["GET /v1/chat/search"] = true
	// A group carol makes, or a direct channel she opens with alice, is a
	// new channel: never one of alice's and bob's.
	g, err := carol.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "税務課の相談", Members: []string{"alice"}})
	if err != nil || slices.Contains(channels, g.ID) {
		t.Fatalf("carol's group: %+v %v", g, err)
	}
	covered["POST /v1/chat/channels"] = true
	d, err := carol.ChatDirect(ctx, "alice")
	if err != nil || slices.Contains(channels, d.ID) {
		t.Fatalf("carol's direct channel: %+v %v", d, err)
	}
	covered["POST /v1/chat/direct"] = true
	if _, err := carol.ChatPeople(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	covered["GET /v1/chat/people"] = true
	// Presence is the staff directory's, not a channel's: anyone may see
	// it, and a status one sets is one's own.
	if _, err := carol.ChatPresence(ctx, "総務課", nil); err != nil {
		t.Fatal(err)
	}
	covered["GET /v1/chat/presence"] = true
	msg := "税務課です"
	if p, err := carol.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &msg}); err != nil || p.User != "carol" {
		t.Fatalf("carol's status: %+v %v", p, err)
	}
	covered["PUT /v1/chat/status"] = true
	var pol api.ChatPolicy
	if err := carol.Do(ctx, "GET", "/v1/chat/policy", nil, &pol); err != nil || pol.MaxChars == 0 {
		t.Fatalf("the policy the app follows: %+v %v", pol, err)
	}
	covered["GET /v1/chat/policy"] = true
	for _, rt := range b.Server.Routes() {
		if strings.HasPrefix(rt.Path, "/v1/chat/") && !covered[rt.Method+" "+rt.Path] {
			t.Errorf("%s %s is not tried as a non-member", rt.Method, rt.Path)
		}
	}

	// A member may not change another's message either.
	_, err = bob.ChatEdit(ctx, channels[1], 1, api.ChatEditRequest{Key: "bob-edit", Text: "改ざん"})
	wantCode(t, "bob edits alice's message", err, api.CodeChatNotYours)
	_, err = bob.ChatDelete(ctx, channels[1], 1)
	wantCode(t, "bob deletes alice's message", err, api.CodeChatNotYours)

	// Live: alice writes, edits and deletes in all three, bob reads them;
	// then alice writes to carol. Up to that message carol's socket must
	// carry nothing of the three channels.
	for _, ch := range channels {
		m, err := alice.ChatSend(ctx, ch, api.ChatSendRequest{Key: "live-" + ch, Text: "まだ機密"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.ChatEdit(ctx, ch, m.Seq, api.ChatEditRequest{Key: "edit-" + ch, Text: "機密のまま"}); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.ChatDelete(ctx, ch, m.Seq); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.ChatMarkRead(ctx, ch, 4); err != nil {
			t.Fatal(err)
		}
	}
	// A status set in 総務課 is told to 総務課 only.
	away := true
	if _, err := bob.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &away}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ChatSend(ctx, d.ID, api.ChatSendRequest{Key: "to-carol", Text: "税務課へ"}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	frames := 0
	for {
		ev, err := es.Next(rctx)
		if err != nil {
			t.Fatalf("carol's socket: %v", err)
		}
		frames++
		var ref struct {
			Channel    string `json:"channel"`
			ID         string `json:"id"`
			Department string `json:"department"`
		}
		_ = json.Unmarshal(ev.Data, &ref)
		if slices.Contains(channels, ref.Channel) || slices.Contains(channels, ref.ID) {
			t.Errorf("carol's socket carried %s of %s%s", ev.Type, ref.Channel, ref.ID)
		}
		if ev.Type == api.EventChatPresence && ref.Department != "税務課" {
			t.Errorf("carol's socket carried the presence of %s: %s", ref.Department, ev.Data)
		}
		if ev.Type == api.EventChatMessage && ref.Channel == d.ID {
			break
		}
	}
	t.Logf("%d refusals (%d routes that name a channel × 3 channels), %d chat routes tried in all, %d frames on the non-member's socket, none of the channels", tried, routes, len(covered), frames)
}

// TestChatDepartmentFollowsRoster: a move to another department takes a
// member out of the old department's channel at once (read, post,
// receive) and into the new one's, history included.
func TestChatDepartmentFollowsRoster(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	dept := channels[0]
	if _, err := alice.ChatSend(ctx, dept, api.ChatSendRequest{Key: "1", Text: "総務課の皆さんへ"}); err != nil {
		t.Fatal(err)
	}
	moveTo(t, b, "bob", "税務課")
	if _, err := bob.ChatAfter(ctx, dept, 0, 10); api.AsError(err) == nil || api.AsError(err).Code != api.CodeChatNoChannel {
		t.Errorf("bob reads his old department's channel after moving: %v", err)
	}
	_, err := bob.ChatSend(ctx, dept, api.ChatSendRequest{Key: "2", Text: "まだいます"})
	wantCode(t, "bob posts to his old department", err, api.CodeChatNoChannel)
	l, err := bob.ChatChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range l.Channels {
		kinds = append(kinds, c.Kind+":"+c.Name)
		if c.ID == dept {
			t.Error("bob's list still holds his old department's channel")
		}
	}
	if !slices.Contains(kinds, "department:税務課") {
		t.Errorf("bob's channels %v: no 税務課", kinds)
	}
	// Moving back brings the history with it.
	moveTo(t, b, "bob", "総務課")
	h, err := bob.ChatAfter(ctx, dept, 0, 10)
	if err != nil || len(h.Messages) != 1 {
		t.Errorf("bob back in 総務課: %+v %v", h, err)
	}
}

// TestChatSocketFramesFromClient: the event socket takes nothing from the
// app (sends are HTTP requests with an idempotency key). A chat send as a
// frame, malformed JSON or a binary frame gets an error frame, and the
// same socket goes on carrying chat; an oversized frame closes it
// cleanly (1009), and so do more than a handful of frames (1008); the app
// reconnects and chat goes on.
func TestChatSocketFramesFromClient(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	sent := 0
	// next reads frames until a chat message or an error frame, or the end.
	next := func(ctx context.Context, conn *websocket.Conn) (string, websocket.StatusCode) {
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return "", websocket.CloseStatus(err)
			}
			var ev api.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatalf("frame: %v", err)
			}
			if ev.Type == api.EventChatMessage || ev.Type == api.EventError {
				return ev.Type, -1
			}
		}
	}
	post := func() {
		sent++
		if _, err := alice.ChatSend(ctx, channels[1], api.ChatSendRequest{Key: fmt.Sprint("after-", sent), Text: "続けて"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		typ   websocket.MessageType
		data  []byte
		times int
		close websocket.StatusCode // -1: stays open
	}{
		{"a chat send as a frame", websocket.MessageText, []byte(`{"type":"chat.send","data":{"channel":"` + channels[1] + `","text":"x"}}`), 1, -1},
		{"malformed JSON", websocket.MessageText, []byte(`{"type":`), 1, -1},
		{"binary", websocket.MessageBinary, []byte{0, 1, 2}, 1, -1},
		{"oversized", websocket.MessageText, []byte(strings.Repeat("あ", 1<<20)), 1, websocket.StatusMessageTooBig},
		{"a flood", websocket.MessageText, []byte(`{}`), 20, websocket.StatusPolicyViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			conn := dialRaw(t, b, bob)
			for range tc.times {
				_ = conn.Write(rctx, tc.typ, tc.data)
			}
			if tc.close < 0 {
				if typ, st := next(rctx, conn); typ != api.EventError {
					t.Fatalf("after the frame: %q (close %d), want an error frame", typ, st)
				}
				post()
				if typ, st := next(rctx, conn); typ != api.EventChatMessage {
					t.Fatalf("the same socket after the error: %q (close %d), want the next chat message", typ, st)
				}
				return
			}
			var st websocket.StatusCode
			for st == 0 || st == -1 {
				_, st = next(rctx, conn)
			}
			if st != tc.close {
				t.Errorf("close status %d, want %d", st, tc.close)
			}
			// The app reconnects; chat goes on.
			r := newReceiver(t, bob)
			es, err := r.connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer es.Close()
			post()
			before := r.count()
			if err := r.read(rctx, es, 1); err != nil || r.count() != before+1 {
				t.Errorf("after reconnecting: %v, %d new", err, r.count()-before)
			}
		})
	}
}

// dialRaw opens the event socket without the api client, to send what a
// well-behaved app never would.
func dialRaw(t *testing.T, b *brokertest.Broker, s *brokertest.Session) *websocket.Conn {
	t.Helper()
	tlsc := s.TLSConfig()
	tlsc.NextProtos = []string{"http/1.1"}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsc}}
	u := "wss" + strings.TrimPrefix(b.URL, "https") + "/v1/events"
	conn, _, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + s.Token()}}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// TestChatAddMembersWrongUser: only a member of a group may add to it,
// and only a group takes members by hand (a department's follow the
// roster, a direct channel is two people). What a refused add tried
// leaves the group as it was; an add that passes tells every member.
func TestChatAddMembersWrongUser(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	dept, group, direct := channels[0], channels[1], channels[2]
	carol := b.Signin(t, "carol")
	moveTo(t, b, "carol", "税務課")
	b.CreateUser(t, "dave")
	membersOf := func() []string {
		t.Helper()
		c, err := alice.ChatChannel(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		return c.Members
	}
	before := membersOf()

	// Not a member: the group is as unknown to carol as to anyone, for
	// herself and for another.
	for _, who := range []string{"carol", "dave"} {
		_, err := carol.ChatAddMembers(ctx, group, []string{who})
		wantCode(t, "carol adds "+who+" to a group she is not in", err, api.CodeChatNoChannel)
	}
	if got := membersOf(); !slices.Equal(got, before) {
		t.Fatalf("after refused adds the group's members are %q, want %q", got, before)
	}
	// A member, but not of a group.
	_, err := bob.ChatAddMembers(ctx, dept, []string{"carol"})
	wantCode(t, "bob adds carol to his department's channel", err, api.CodeChatNotGroup)
	_, err = bob.ChatAddMembers(ctx, direct, []string{"carol"})
	wantCode(t, "bob adds carol to his direct channel with alice", err, api.CodeChatNotGroup)
	if l, err := carol.ChatChannels(ctx); err != nil || len(l.Channels) != 1 {
		t.Fatalf("carol's channels after refused adds: %+v %v, want her department's only", l, err)
	}
	// Bad lists, from a member.
	_, err = alice.ChatAddMembers(ctx, group, nil)
	wantCode(t, "alice adds nobody", err, api.CodeValidation)
	_, err = alice.ChatAddMembers(ctx, group, []string{"nobody-here"})
	wantCode(t, "alice adds an unknown staff ID", err, api.CodeChatNoColleague)

	// A member adds carol: carol and bob are told, with the new list and
	// none of alice's own marker or mute.
	if err := alice.ChatMute(ctx, group, true); err != nil {
		t.Fatal(err)
	}
	bs, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	cs, err := carol.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for _, es := range []*api.EventStream{bs, cs} {
		if ev, err := es.Next(ctx); err != nil || ev.Type != api.EventHello {
			t.Fatalf("socket: %+v %v", ev, err)
		}
	}
	v, err := alice.ChatAddMembers(ctx, group, []string{"carol"})
	if err != nil || !slices.Contains(v.Members, "carol") {
		t.Fatalf("alice adds carol: %+v %v", v, err)
	}
	for who, es := range map[string]*api.EventStream{"bob": bs, "carol": cs} {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for {
			ev, err := es.Next(rctx)
			if err != nil {
				t.Fatalf("%s's socket before the group's frame: %v", who, err)
			}
			if ev.Type != api.EventChatChannel {
				continue
			}
			var c api.ChatChannel
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				t.Fatal(err)
			}
			if c.ID != group || !slices.Contains(c.Members, "carol") || c.Muted || c.ReadSeq != 0 {
				t.Errorf("%s was told %+v", who, c)
			}
			break
		}
		cancel()
	}

	// One who left is no member any more.
	if err := bob.ChatLeave(ctx, group); err != nil {
		t.Fatal(err)
	}
	_, err = bob.ChatAddMembers(ctx, group, []string{"bob"})
	wantCode(t, "bob adds himself back after leaving", err, api.CodeChatNoChannel)
	if got := membersOf(); slices.Contains(got, "bob") || !slices.Contains(got, "carol") {
		t.Errorf("the group's members at the end: %q", got)
	}
}
