package meet_test

import (
	"context"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// TestMeetScheduled: a scheduled meeting is listed to the organizer's
// department and to invitees from elsewhere, upcoming or running; its
// room opens with the first to join, hosted by the organizer; someone of
// another department who is not invited neither sees nor joins it; an
// ended one cannot be joined. "Meet now" rooms are listed to the
// department. Bad requests say what to fix.
func TestMeetScheduled(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	org := b.Signin(t, "s-org")
	colleagueU := b.CreateUser(t, "s-colleague")
	colleague := b.Login(t, colleagueU)
	tax := b.CreateUser(t, "s-tax")
	guestDept := b.CreateUser(t, "s-invitee")
	other := "税務課"
	for _, id := range []string{tax.ID, guestDept.ID} {
		if _, err := b.Services.Auth.UpdateUser(ctx, "test", id, api.UpdateUserRequest{Department: &other}); err != nil {
			t.Fatal(err)
		}
	}
	taxS, invS := b.Login(t, tax), b.Login(t, guestDept)

	now := b.Now()
	for _, bad := range []api.CreateMeetingRequest{
		{StartsAt: now.Add(time.Hour)},
		{Title: "x"},
		{Title: "x", StartsAt: now.Add(time.Hour), EndsAt: now.Add(30 * time.Minute)},
		{Title: "x", StartsAt: now.Add(-48 * time.Hour)},
		{Title: "x", StartsAt: now.Add(time.Hour), Invitees: []string{"no-such-person"}},
	} {
		if _, err := org.CreateMeeting(ctx, bad); code(err) != api.CodeValidation {
			t.Errorf("%+v: %v, want %s", bad, err, api.CodeValidation)
		}
	}
	m, err := org.CreateMeeting(ctx, api.CreateMeetingRequest{Title: "予算説明会", StartsAt: now.Add(30 * time.Minute),
		EndsAt: now.Add(90 * time.Minute), Invitees: []string{"s-invitee"}})
	if err != nil {
		t.Fatal(err)
	}
	later, err := org.CreateMeeting(ctx, api.CreateMeetingRequest{Title: "翌日の打合せ", StartsAt: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	adhoc, err := colleague.CreateRoom(ctx, api.CreateRoomRequest{Title: "今すぐ会議"})
	if err != nil {
		t.Fatal(err)
	}

	ids := func(s *brokertest.Session) ([]string, []string) {
		t.Helper()
		l, err := s.Meetings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ms, rs []string
		for _, x := range l.Meetings {
			ms = append(ms, x.ID)
		}
		for _, r := range l.Rooms {
			rs = append(rs, r.ID)
		}
		return ms, rs
	}
	if ms, rs := ids(colleague); len(ms) != 2 || ms[0] != m.ID || ms[1] != later.ID || len(rs) != 1 || rs[0] != adhoc.Room.ID {
		t.Errorf("the department sees meetings %v and rooms %v, want [%s %s] and [%s]", ms, rs, m.ID, later.ID, adhoc.Room.ID)
	}
	if ms, _ := ids(invS); len(ms) != 1 || ms[0] != m.ID {
		t.Errorf("the invitee sees %v, want [%s]", ms, m.ID)
	}
	if ms, rs := ids(taxS); len(ms) != 0 || len(rs) != 0 {
		t.Errorf("another department sees %v and rooms %v", ms, rs)
	}
	if _, err := taxS.JoinMeeting(ctx, m.ID); code(err) != api.CodeMeetingNotFound {
		t.Errorf("joining a meeting one is not invited to: %v", err)
	}

	// Early is fine: the invitee opens the room; the organizer hosts it.
	j, err := invS.JoinMeeting(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Room.MeetingID != m.ID || j.Room.CreatedBy != "s-org" || j.Room.Title != "予算説明会" || j.LobbyToken != "" {
		t.Errorf("the meeting's room: %+v", j)
	}
	s, st, c := dial(t, b, j.Room.ID, j.Token)
	if s == nil {
		t.Fatalf("invitee: %d %s", st, c)
	}
	s.await("welcome")
	oj, err := org.JoinMeeting(ctx, m.ID)
	if err != nil || oj.Room.ID != j.Room.ID || oj.LobbyToken == "" {
		t.Fatalf("the organizer joins another room or is no host: %+v, %v", oj, err)
	}
	hs, _, _ := dial(t, b, oj.Room.ID, oj.Token)
	if w := hs.await("welcome"); !w.Participant.Host {
		t.Error("the organizer is not the host of their meeting's room")
	}
	l, err := colleague.Meetings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Meetings[0].Room == nil || l.Meetings[0].Room.Participants != 2 || l.Meetings[1].Room != nil {
		t.Errorf("running state in the list: %+v", l.Meetings)
	}

	// Over: not listed, not joined.
	b.Clock.Advance(91 * time.Minute)
	colleague = b.Login(t, colleagueU) // the access token expired meanwhile
	if _, err := colleague.JoinMeeting(ctx, m.ID); code(err) != api.CodeMeetingOver {
		t.Errorf("joining a meeting that ended: %v", err)
	}
	if ms, _ := ids(colleague); len(ms) != 1 || ms[0] != later.ID {
		t.Errorf("after the first ended: %v", ms)
	}
	page, err := b.Services.Oplog.Search(ctx, oplog.Query{Type: "meet.meeting_scheduled", Limit: 10})
	if err != nil || len(page.Events) != 2 {
		t.Errorf("meet.meeting_scheduled in the operation log: %+v, %v", page.Events, err)
	}
}
