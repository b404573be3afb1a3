package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

type browserSpy struct {
	mu    sync.Mutex
	links []string
	err   error
}

func (b *browserSpy) OpenURL(_ context.Context, link string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.links = append(b.links, link)
	return nil
}

type journalSpy struct {
	mu     sync.Mutex
	events []string
	fields []map[string]string
}

func (j *journalSpy) Record(event string, f map[string]string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events, j.fields = append(j.events, event), append(j.fields, f)
	return nil
}

// TestMeetingsThroughCore: meet now opens the browser on the host's
// one-time link (with the lobby); a colleague joins the running room and
// a scheduled meeting from the list; a guest link is made; the journal
// records each opening and the guest link, never a token; a browser that
// cannot be opened is an error with what to do.
func TestMeetingsThroughCore(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	signIn := func(id string) (*Client, *browserSpy, *journalSpy) {
		t.Helper()
		u := b.CreateUser(t, id)
		br, j := &browserSpy{}, &journalSpy{}
		c, err := New(Config{BrokerURL: b.URL, Pins: []string{b.Pin}, DeviceName: "laptop-" + id}, Deps{Now: b.Now, Browser: br, Recorder: j})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		fastTiming(c)
		if _, err := c.Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
			t.Fatal(err)
		}
		return c, br, j
	}
	host, hostBr, hostJ := signIn("mc-host")
	colleague, colBr, colJ := signIn("mc-colleague")

	j, err := host.MeetNow(ctx, "朝会")
	if err != nil {
		t.Fatal(err)
	}
	if len(hostBr.links) != 1 || !strings.Contains(hostBr.links[0], "/meet/"+j.Room.ID+"#join=zmj_") || !strings.Contains(hostBr.links[0], "&lobby=zml_") {
		t.Fatalf("meet now opened %v", hostBr.links)
	}
	l, err := host.GuestLink(ctx, j.Room.ID, "株式会社サンプル 田中様")
	if err != nil || !strings.Contains(l.URL, "#guest=zmg_") {
		t.Fatalf("guest link: %+v, %v", l, err)
	}

	list, err := colleague.Meetings(ctx)
	if err != nil || len(list.Rooms) != 1 || list.Rooms[0].ID != j.Room.ID {
		t.Fatalf("the colleague's list: %+v, %v", list, err)
	}
	if _, err := colleague.JoinRoom(ctx, j.Room.ID); err != nil {
		t.Fatal(err)
	}
	m, err := host.API().CreateMeeting(ctx, api.CreateMeetingRequest{Title: "課内定例", StartsAt: b.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	list, err = colleague.Meetings(ctx)
	if err != nil || len(list.Meetings) != 1 || list.Meetings[0].ID != m.ID {
		t.Fatalf("the colleague's meetings: %+v, %v", list, err)
	}
	mj, err := colleague.JoinMeeting(ctx, m.ID)
	if err != nil || mj.Room.MeetingID != m.ID {
		t.Fatalf("join the scheduled meeting: %+v, %v", mj, err)
	}
	if len(colBr.links) != 2 || strings.Contains(colBr.links[0], "lobby=") {
		t.Errorf("the colleague's browser got %v (no lobby: not the host)", colBr.links)
	}

	opened := func(js *journalSpy) []map[string]string {
		js.mu.Lock()
		defer js.mu.Unlock()
		var out []map[string]string
		for i, e := range js.events {
			for _, v := range js.fields[i] {
				if strings.Contains(v, "zm") && strings.Contains(v, "_") && (strings.Contains(v, "zmj_") || strings.Contains(v, "zmg_") || strings.Contains(v, "zml_")) {
					t.Errorf("the journal's %s carries a token: %v", e, js.fields[i])
				}
			}
			if e == "meet.opened" {
				out = append(out, js.fields[i])
			}
		}
		return out
	}
	if o := opened(hostJ); len(o) != 1 || o[0]["room"] != j.Room.ID || o[0]["how"] != "now" {
		t.Errorf("host's journal: %v", o)
	}
	if o := opened(colJ); len(o) != 2 || o[1]["meeting"] != m.ID || o[1]["how"] != "scheduled" {
		t.Errorf("colleague's journal: %v", o)
	}
	hostJ.mu.Lock()
	guestNoted := strings.Contains(strings.Join(hostJ.events, " "), "meet.guest_link")
	hostJ.mu.Unlock()
	if !guestNoted {
		t.Error("no meet.guest_link in the host's journal")
	}

	colBr.mu.Lock()
	colBr.err = errors.New("exec: \"xdg-open\": executable file not found in $PATH")
	colBr.mu.Unlock()
	_, err = colleague.JoinRoom(ctx, j.Room.ID)
	if e := api.AsError(err); e == nil || e.Code != api.CodeMeetBrowser || !strings.Contains(e.MessageJA, "ブラウザー") {
		t.Errorf("a browser that does not open: %v", err)
	}
}
