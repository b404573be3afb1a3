package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
)

// fakeMeeter is a fakeClient with meetings: it notes each call and
// answers with list, or err.
type fakeMeeter struct {
	*fakeClient
	mmu  sync.Mutex
	list *api.MeetingList
	err  error
}

var _ Meeter = (*fakeMeeter)(nil)

func (f *fakeMeeter) Meetings(context.Context) (*api.MeetingList, error) {
	f.record("meetings")
	f.mmu.Lock()
	defer f.mmu.Unlock()
	return f.list, nil
}

func (f *fakeMeeter) join(call, title string) (*api.MeetJoin, error) {
	f.record(call)
	if f.err != nil {
		return nil, f.err
	}
	return &api.MeetJoin{Room: api.Room{ID: "r-new", Title: title}, URL: "https://broker/meet/r-new#join=zmj_x"}, nil
}

func (f *fakeMeeter) MeetNow(_ context.Context, title string) (*api.MeetJoin, error) {
	return f.join("now "+title, title)
}
func (f *fakeMeeter) JoinRoom(_ context.Context, id string) (*api.MeetJoin, error) {
	return f.join("room "+id, "")
}
func (f *fakeMeeter) JoinMeeting(_ context.Context, id string) (*api.MeetJoin, error) {
	return f.join("meeting "+id, "")
}
func (f *fakeMeeter) GuestLink(_ context.Context, room, name string) (*api.GuestLink, error) {
	f.record("guest " + room + " " + name)
	if f.err != nil {
		return nil, f.err
	}
	return &api.GuestLink{Name: name, URL: "https://broker/meet/" + room + "#guest=zmg_secret",
		ExpiresAt: time.Date(2026, 4, 1, 10, 30, 0, 0, time.Local)}, nil
}

func demoMeetings() *api.MeetingList {
	at := func(h, m int) time.Time { return time.Date(2026, 4, 1, h, m, 0, 0, time.Local) }
	return &api.MeetingList{
		Rooms: []api.Room{
			{ID: "r1", Title: "窓口の応援について", CreatedBy: "k1024", Participants: 3, Capacity: 30},
			{ID: "r2", Title: "係内ミーティング", CreatedBy: "k2001", Participants: 30, Capacity: 30, Locked: true},
		},
		Meetings: []api.Meeting{
			{ID: "mtg_1", Title: "予算ヒアリング（財政課）", StartsAt: at(10, 0), EndsAt: at(11, 0), CreatedBy: "k2001",
				Room: &api.Room{ID: "r3", Participants: 5, Capacity: 30}},
			{ID: "mtg_2", Title: "株式会社サンプルとの打合せ", StartsAt: at(14, 0), CreatedBy: "k1024"},
		},
	}
}

// newMeetingsUI signs in and opens the meetings screen from the home
// screen's button.
func newMeetingsUI(t *testing.T, lang string, list *api.MeetingList) (*UI, *fakeMeeter) {
	t.Helper()
	fc := &fakeMeeter{fakeClient: &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}, list: list}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: lang, Preset: profile,
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.win.Resize(fyne.NewSize(720, 900))
	u.Start()
	fc.push(readyState())
	if u.screen != scrHome || u.home.meetings == nil {
		t.Fatalf("screen %v, meetings button %v", u.screen, u.home.meetings)
	}
	test.Tap(u.home.meetings)
	if u.screen != scrMeetings || u.meetings == nil {
		t.Fatalf("screen %v after the meetings button", u.screen)
	}
	return u, fc
}

// TestMeetingsScreen: the department's running rooms and the scheduled
// meetings with who is in and when; meet now, joining a room and a
// scheduled meeting call core (which opens the browser) and say so; a
// guest link needs the guest's name, goes to the clipboard and is
// offered only on the caller's own running rooms; a refusal is shown
// from the catalogue.
func TestMeetingsScreen(t *testing.T) {
	u, fc := newMeetingsUI(t, "ja", demoMeetings())
	s := u.meetings
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "meetings") {
		t.Fatalf("the list was not read: %s", calls)
	}
	wantTexts(t, "meetings", s.root, "今すぐ会議", "録画・録音しません", "開催中の会議（課内）", "窓口の応援について", "参加者 3人（最大 30人）",
		"係内ミーティング", "参加者 30人（最大 30人）　ロック中", "予定の会議", "予算ヒアリング（財政課）",
		"2026年4月1日（水） 10:00〜11:00　開催中（参加者 5人）", "株式会社サンプルとの打合せ", "2026年4月1日（水） 14:00〜")
	if s.guests["r1"] == nil || s.guests["r2"] != nil || s.guests["mtg_1"] != nil || s.guests["mtg_2"] != nil {
		t.Errorf("guest link buttons on %v: want only the caller's own running room r1", s.guests)
	}

	test.Type(s.nowTitle, "急ぎの相談")
	test.Tap(s.now)
	wantMsg(t, "after meet now", s, "ブラウザーで「急ぎの相談」を開きました。")
	test.Tap(s.joins["r2"])
	test.Tap(s.joins["mtg_1"])
	calls := strings.Join(fc.Calls(), ",")
	for _, want := range []string{"now 急ぎの相談", "room r2", "meeting mtg_1"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q in %s", want, calls)
		}
	}

	s = u.meetings
	test.Tap(s.guests["r1"])
	wantMsg(t, "a guest link without a name", s, "ゲストの名前を入力してください。")
	test.Type(s.guestName, "株式会社サンプル 田中様")
	test.Tap(s.guests["r1"])
	if got := u.app.Clipboard().Content(); got != "https://broker/meet/r1#guest=zmg_secret" {
		t.Errorf("clipboard %q", got)
	}
	wantMsg(t, "guest link copied", s, "株式会社サンプル 田中様さん用のゲストリンクをコピーしました（10:30まで有効）")

	fc.err = api.Err(api.CodeMeetRoomFull)
	test.Tap(s.joins["r2"])
	wantMsg(t, "a full room", s, "会議が満員です（最大30人）")
}

// TestMeetingsScreenEnglish: the same screen in English, empty lists said so.
func TestMeetingsScreenEnglish(t *testing.T) {
	u, _ := newMeetingsUI(t, "en", &api.MeetingList{})
	wantTexts(t, "meetings", u.meetings.root, "Meet now", "Meetings are not recorded", "Running now (your department)",
		"No meeting is running.", "No meeting is scheduled.")
}

func wantMsg(t *testing.T, where string, s *meetingsScreen, want string) {
	t.Helper()
	if !s.msg.Visible() || !strings.Contains(s.msg.Text, want) {
		t.Errorf("%s: message %q (shown %v), want %q", where, s.msg.Text, s.msg.Visible(), want)
	}
}
