package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// stageMarks renders the stage row as + (done), > (current), . (to do).
func stageMarks(h *homeScreen) string {
	var b strings.Builder
	for _, sv := range h.stages {
		switch sv.label.Importance {
		case widget.SuccessImportance:
			if sv.label.TextStyle.Bold {
				b.WriteByte('*') // done, and the current phase (connected)
				continue
			}
			b.WriteByte('+')
		case widget.HighImportance:
			b.WriteByte('>')
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestHomeStates(t *testing.T) {
	ready := readyState()
	with := func(f func(*core.State)) core.State {
		st := readyState()
		f(&st)
		return st
	}
	for _, tc := range []struct {
		name     string
		st       core.State
		button   string
		enabled  bool
		status   string // substring
		stages   string
		elapsed  string
		danger   bool
		errCode  string
		offlineB bool
	}{
		{"ready", ready, "職場のパソコンに接続", true, "接続の準備ができています", ".....", "", false, "", false},
		{"ready without pc", with(func(s *core.State) { s.Terminal = nil }), "職場のパソコンに接続", false, "登録されていません", ".....", "", false, "", false},
		{"offline", with(func(s *core.State) { s.Online = false }), "オフラインのため接続できません", false, "接続が戻りしだい", ".....", "", false, "", true},
		{"requesting", with(func(s *core.State) { s.Phase = core.Requesting }), "接続を中止", true, "接続枠を確保しています", ">....", "", false, "", false},
		{"queued", with(func(s *core.State) { s.Phase, s.Queue, s.QueueETA = core.Queued, 4, 150*time.Second }),
			"接続を中止", true, "順番待ち 4 番目です（目安 約3分）", "+>...", "", false, "", false},
		{"waking", with(func(s *core.State) { s.Phase, s.Wake = core.Waking, core.WakeSending }),
			"接続を中止", true, "職場のパソコンを起動しています", "++>..", "", false, "", false},
		{"waking: waiting", with(func(s *core.State) { s.Phase, s.Wake = core.Waking, core.WakeWaiting }),
			"接続を中止", true, "起動を待っています", "++>..", "", false, "", false},
		{"connecting", with(func(s *core.State) { s.Phase = core.Connecting }), "接続を中止", true, "リモートデスクトップを開いています", "+++>.", "", false, "", false},
		{"connected", with(func(s *core.State) {
			s.Phase, s.Since = core.Connected, testNow.Add(-(42*time.Minute + 7*time.Second))
			s.Terminal = &core.Terminal{Name: "ZAISEI-PC-012", State: core.TerminalInUse}
		}), "切断する", true, "職場のパソコンに接続しています", "++++*", "経過時間 42:07", false, "", false},
		{"ending", with(func(s *core.State) { s.Phase = core.Ending }), "切断しています…", false, "切断しています", "++++>", "", false, "", false},
		{"failed", with(func(s *core.State) { s.Phase, s.Err = core.Failed, api.Err(api.CodeNetwork) }),
			"もう一度接続", true, "インターネット接続を確認してください", ".....", "", true, "エラーコード: network", false},
		// A My Number PC from home: the broker says why, and where it can be used.
		{"segment refused", with(func(s *core.State) {
			e := api.Err(api.CodeSegmentRefused, "from 203.0.113.9")
			e.DetailJA = "接続元: 203.0.113.9"
			s.Phase, s.Err = core.Failed, e
		}), "もう一度接続", true, "サテライトオフィスからのみ利用できます", ".....", "", true, "エラーコード: segment_refused", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			var pressed []string
			h := makeHome(i18n.New("ja"), core.State{}, testNow, homeActions{
				Connect:    func() { pressed = append(pressed, "connect") },
				Disconnect: func() { pressed = append(pressed, "disconnect") },
			})
			h.update(tc.st, testNow)
			if h.button.Text != tc.button {
				t.Errorf("button %q, want %q", h.button.Text, tc.button)
			}
			if h.button.Disabled() == tc.enabled {
				t.Errorf("button enabled = %v, want %v", !h.button.Disabled(), tc.enabled)
			}
			if !strings.Contains(h.status.Text, tc.status) {
				t.Errorf("status %q, want it to contain %q", h.status.Text, tc.status)
			}
			if got := stageMarks(h); got != tc.stages {
				t.Errorf("stages %s, want %s", got, tc.stages)
			}
			if tc.elapsed == "" && h.elapsed.Visible() {
				t.Errorf("elapsed shown: %q", h.elapsed.Text)
			}
			if tc.elapsed != "" && (!h.elapsed.Visible() || h.elapsed.Text != tc.elapsed) {
				t.Errorf("elapsed %q (visible %v), want %q", h.elapsed.Text, h.elapsed.Visible(), tc.elapsed)
			}
			if (h.status.Importance == widget.DangerImportance) != tc.danger {
				t.Errorf("status importance %v", h.status.Importance)
			}
			if tc.errCode != "" && (!h.errCode.Visible() || h.errCode.Text != tc.errCode) {
				t.Errorf("error code %q", h.errCode.Text)
			}
			if h.offline.Visible() != tc.offlineB {
				t.Errorf("offline banner visible = %v", h.offline.Visible())
			}
			if tc.st.Terminal != nil && h.terminalName.Text != tc.st.Terminal.Name {
				t.Errorf("pc name %q", h.terminalName.Text)
			}
			if h.slots.Text != "空き 28 / 140" {
				t.Errorf("slots %q", h.slots.Text)
			}
			if h.user.Text != "山田 太郎 さん（財政課）" {
				t.Errorf("user %q", h.user.Text)
			}
			if tc.enabled {
				test.Tap(h.button)
				want := "connect"
				if tc.st.Phase.Busy() {
					want = "disconnect"
				}
				if len(pressed) != 1 || pressed[0] != want {
					t.Errorf("button did %v, want %s", pressed, want)
				}
			}
		})
	}
}

func TestHomePCStates(t *testing.T) {
	test.NewTempApp(t)
	h := makeHome(i18n.New("ja"), readyState(), testNow, homeActions{})
	st := readyState()
	st.Terminal = nil
	h.update(st, testNow)
	if h.terminalName.Text != "未登録" {
		t.Errorf("no pc: %q", h.terminalName.Text)
	}
	for pc, want := range map[core.TerminalState]string{core.TerminalAsleep: "スリープ中", core.TerminalAwake: "起動中", core.TerminalInUse: "使用中", core.TerminalUnknown: "状態不明"} {
		st := readyState()
		st.Terminal = &core.Terminal{Name: "X", State: pc}
		h.update(st, testNow)
		if h.terminalState.Text != want {
			t.Errorf("%q: %q, want %q", pc, h.terminalState.Text, want)
		}
	}
}

func TestHomeElapsedTicks(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	u := newTestUI(t, fc, "en", profile)
	st := readyState()
	st.Phase, st.Since = core.Connected, testNow
	fc.push(st)
	now := testNow.Add(59 * time.Second)
	u.opt.Now = func() time.Time { return now }
	u.tick()
	if u.home.elapsed.Text != "Elapsed 0:59" {
		t.Fatalf("elapsed %q", u.home.elapsed.Text)
	}
	now = now.Add(time.Hour + time.Second)
	u.tick()
	if u.home.elapsed.Text != "Elapsed 1:01:00" {
		t.Fatalf("elapsed %q", u.home.elapsed.Text)
	}
	if u.win.Title() != "Zaitaku — Connected (1:01:00)" {
		t.Errorf("title %q", u.win.Title())
	}
}

func TestHomeEndReasonAndNotifications(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	u := newTestUI(t, fc, "ja", profile)
	st := readyState()
	st.Phase, st.Queue = core.Queued, 2
	fc.push(st)
	st.Phase, st.Wake = core.Waking, core.WakeChecking
	test.AssertNotificationSent(t, fyne.NewNotification("順番が来ました", "職場のパソコンへの接続を開始します。"),
		func() { fc.push(st) })
	st.Phase, st.Since = core.Connected, testNow
	fc.push(st)
	st = readyState()
	st.EndReason = "idle"
	fc.push(st)
	if !u.home.ended.Visible() || !strings.Contains(u.home.ended.Text, "一定時間操作がなかった") {
		t.Errorf("end reason %q", u.home.ended.Text)
	}
}

func TestSignedOutStateReturnsToLogin(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	u := newTestUI(t, fc, "ja", profile)
	if u.screen != scrHome {
		t.Fatal("want home")
	}
	// The broker revoked the device: core signs out with the reason.
	fc.push(core.State{Phase: core.SignedOut, Online: true, Err: api.Err(api.CodeDeviceRevoked)})
	if u.screen != scrLogin {
		t.Fatalf("screen %v, want login", u.screen)
	}
	if u.login.msg.Text != api.Err(api.CodeDeviceRevoked).MessageJA || !u.login.code.Visible() {
		t.Errorf("login should say why: %q", u.login.msg.Text)
	}
}

func TestAutoConnect(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	a := test.NewTempApp(t)
	u := New(a, Options{Lang: "ja", Preset: profile, AutoConnect: true,
		NewClient: func(Profile) (Client, error) { return fc, nil }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	fc.push(readyState())
	n := 0
	for _, c := range fc.Calls() {
		if c == "connect" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("connect called %d times, want once: %v", n, fc.Calls())
	}
}

// TestHomeSessionEnds: each way a session ends has its own words on the
// home screen in both languages, none of them an error; the ends the user
// did not cause also come as a desktop notification.
func TestHomeSessionEnds(t *testing.T) {
	for _, tc := range []struct {
		reason core.EndReason
		ja, en string // distinctive parts of the words
		notify bool
	}{
		{core.EndUser, "切断しました", "You disconnected", false},
		{core.EndClosed, "画面を閉じたので", "You closed the remote desktop window", false},
		{core.EndDisconnected, "「切断」を選んだので", "You chose Disconnect on your office PC", false},
		{core.EndSignedOut, "サインアウトしたので", "You signed out of your office PC", false},
		{core.EndByTerminal, "職場のパソコンの側で接続が終了されました", "Your office PC ended the connection", true},
		{core.EndAdmin, "情報政策課により", "IT", true},
		{core.EndMaxLength, "接続時間の上限", "time limit", true},
		{core.EndIdle, "一定時間操作がなかった", "without activity", true},
		{core.EndNetwork, "通信が途切れたため", "The connection was lost", true},
		{core.EndLease, "通信が途切れたため", "", true},
	} {
		for _, lang := range []string{"ja", "en"} {
			want := tc.ja
			if lang == "en" {
				want = tc.en
			}
			t.Run(string(tc.reason)+"/"+lang, func(t *testing.T) {
				fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
				a := &notifyApp{App: test.NewTempApp(t)}
				u := New(a, Options{Lang: lang, Preset: profile, NewClient: func(Profile) (Client, error) { return fc, nil },
					Now: func() time.Time { return testNow }})
				u.async, u.every = func(f func()) { f() }, 0
				u.Start()
				st := readyState()
				st.Phase, st.Since = core.Connected, testNow
				fc.push(st)
				st = readyState()
				st.EndReason = tc.reason
				fc.push(st)
				h := u.home
				if !h.ended.Visible() || !strings.Contains(h.ended.Text, want) {
					t.Errorf("ended %q (visible %v), want it to say %q", h.ended.Text, h.ended.Visible(), want)
				}
				if h.errCode.Visible() || h.status.Importance == widget.DangerImportance || h.button.Disabled() {
					t.Errorf("a normal end shown as an error: code %q visible %v, status importance %v", h.errCode.Text, h.errCode.Visible(), h.status.Importance)
				}
				n := a.last()
				if got := n != nil; got != tc.notify {
					t.Fatalf("notification %+v, want one: %v", n, tc.notify)
				}
				if n != nil && !strings.Contains(n.Content, want) {
					t.Errorf("notification %q, want it to say %q", n.Content, want)
				}
			})
		}
	}
}

// TestHomeTerminalBeforeConnect: before Connect the home screen says what
// the broker's probe found (awake, asleep, in use) and when the PC last
// answered, in both languages; today's time alone, an older one with its
// date.
func TestHomeTerminalBeforeConnect(t *testing.T) {
	test.NewTempApp(t)
	today := testNow.Add(-5 * time.Minute)                     // 8:25
	yesterday := testNow.Add(-(14*time.Hour + 25*time.Minute)) // 31 Mar 18:05
	for _, tc := range []struct {
		state           core.TerminalState
		seen            time.Time
		stateJA, seenJA string
		stateEN, seenEN string
	}{
		{core.TerminalAwake, today, "起動中", "最終確認 08:25", "Awake", "last seen 08:25"},
		{core.TerminalAsleep, yesterday, "スリープ中", "最終確認 3月31日 18:05", "Asleep", "last seen 31 Mar 18:05"},
		{core.TerminalInUse, today, "使用中", "最終確認 08:25", "In use", "last seen 08:25"},
		{core.TerminalUnknown, time.Time{}, "状態不明", "", "Unknown", ""},
	} {
		for _, lang := range []string{"ja", "en"} {
			st := readyState()
			st.Terminal = &core.Terminal{Name: "総務課-01", State: tc.state, SeenAt: tc.seen}
			h := makeHome(i18n.New(lang), st, testNow, homeActions{})
			wantState, wantSeen := tc.stateJA, tc.seenJA
			if lang == "en" {
				wantState, wantSeen = tc.stateEN, tc.seenEN
			}
			if h.terminalState.Text != wantState || h.terminalSeen.Text != wantSeen {
				t.Errorf("%s %s: %q %q, want %q %q", tc.state, lang, h.terminalState.Text, h.terminalSeen.Text, wantState, wantSeen)
			}
			if h.button.Disabled() {
				t.Errorf("%s %s: Connect disabled", tc.state, lang)
			}
		}
	}
}
