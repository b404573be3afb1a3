package meet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// awaitClosed reads until the broker closes the socket.
func (s *sock) awaitClosed() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := s.conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				s.t.Fatal("the broker did not close the socket")
			}
			return
		}
	}
}

func joinCode(t *testing.T, s *brokertest.Session, room string) api.Code {
	t.Helper()
	_, err := s.JoinRoom(context.Background(), room)
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

// TestMeetHostControls: the host mutes and removes participants, locks
// and unlocks the room and ends it for all; anyone else who tries is told
// they are not the host and stays in. A removed participant cannot come
// back, a locked room lets no one new in (a token issued before the lock
// included), in-meeting chat reaches everyone and is size-limited, and
// every host action is in the operation log.
func TestMeetHostControls(t *testing.T) {
	b := brokertest.Start(t)
	hostS, aS, bS, cS := b.Signin(t, "mh-host"), b.Signin(t, "mh-a"), b.Signin(t, "mh-b"), b.Signin(t, "mh-c")
	r, err := hostS.CreateRoom(context.Background(), api.CreateRoomRequest{Title: "課内会議"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Room.ID
	open := func(tok string) (*sock, api.MeetSignal) {
		s, st, code := dial(t, b, id, tok)
		if s == nil {
			t.Fatalf("dial: %d %s", st, code)
		}
		return s, s.await("welcome")
	}
	host, hw := open(r.Token)
	if !hw.Participant.Host {
		t.Error("the host's welcome does not mark them host")
	}
	a, aw := open(join(t, aS, id).Token)
	bb, bw := open(join(t, bS, id).Token)
	if aw.Participant.Host {
		t.Error("a participant is marked host")
	}

	// Not the host: refused, and still in.
	bb.send(`{"type":"host","action":"remove","target":"` + aw.Participant.ID + `"}`)
	if e := bb.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetNotHost {
		t.Fatalf("a participant's host action: %+v", e.Error)
	}

	// Chat reaches everyone, the sender too; too long is refused.
	bb.send(`{"type":"chat","text":"資料を共有します"}`)
	for _, s := range []*sock{host, a, bb} {
		if m := s.await("chat"); m.Text != "資料を共有します" || m.Participant.ID != bw.Participant.ID || m.Sent.IsZero() {
			t.Fatalf("chat: %+v", m)
		}
	}
	a.send(`{"type":"chat","text":"` + strings.Repeat("長", api.MaxMeetChat+1) + `"}`)
	if e := a.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetBadMessage {
		t.Fatalf("an oversized chat: %+v", e.Error)
	}

	// Mute is a request to the participant.
	host.send(`{"type":"host","action":"mute","target":"` + aw.Participant.ID + `"}`)
	if m := a.await("muted"); m.Participant == nil || m.Participant.ID != hw.Participant.ID {
		t.Fatalf("muted: %+v", m)
	}
	host.send(`{"type":"host","action":"mute","target":"nobody"}`)
	if e := host.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetBadMessage {
		t.Fatalf("mute of nobody: %+v", e.Error)
	}

	// Remove: told, out, cannot come back.
	host.send(`{"type":"host","action":"remove","target":"` + bw.Participant.ID + `"}`)
	if m := bb.await("removed"); m.Error == nil || m.Error.Code != api.CodeMeetRemoved {
		t.Fatalf("removed: %+v", m)
	}
	bb.awaitClosed()
	if m := a.await("left"); m.Participant.ID != bw.Participant.ID {
		t.Fatalf("left: %+v", m)
	}
	if code := joinCode(t, bS, id); code != api.CodeMeetRemoved {
		t.Fatalf("a removed participant's join: %q", code)
	}

	// Lock: no one new, not even with a token from before; the host may.
	early := join(t, cS, id).Token
	host.send(`{"type":"host","action":"lock"}`)
	for _, s := range []*sock{host, a} {
		if m := s.await("room"); m.Room == nil || !m.Room.Locked {
			t.Fatalf("room after lock: %+v", m)
		}
	}
	if code := joinCode(t, cS, id); code != api.CodeMeetLocked {
		t.Fatalf("join of a locked room: %q", code)
	}
	late, _, _ := dial(t, b, id, early)
	if e := late.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetLocked {
		t.Fatalf("a token from before the lock: %+v", e.Error)
	}
	if code := joinCode(t, hostS, id); code != "" {
		t.Fatalf("the host cannot join their locked room: %q", code)
	}
	host.send(`{"type":"host","action":"unlock"}`)
	if m := a.await("room"); m.Room.Locked {
		t.Fatal("still locked after unlock")
	}
	c, _ := open(join(t, cS, id).Token)

	// End for all.
	host.send(`{"type":"host","action":"end"}`)
	for _, s := range []*sock{host, a, c} {
		s.await("ended")
		s.awaitClosed()
	}
	if code := joinCode(t, aS, id); code != api.CodeMeetRoomNotFound {
		t.Fatalf("join of an ended room: %q", code)
	}

	page, err := b.Services.Oplog.Search(context.Background(), oplog.Query{Type: "meet.host_action", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range page.Events {
		actions[e.Fields["action"]]++
	}
	for _, want := range []string{"mute", "remove", "lock", "unlock", "end"} {
		if actions[want] == 0 {
			t.Errorf("no meet.host_action %s in the operation log: %v", want, actions)
		}
	}
}
