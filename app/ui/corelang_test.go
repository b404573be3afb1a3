package ui

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestCoreMessagesFollowTheLanguageSwitch: the app starts in Japanese
// (the OS language) with the real core client against a real broker; the
// user switches to English in Settings. Everything that starts in core
// afterwards — the terminal's state, the session-end warning, its desktop
// notification, a failure with its code, the end and its reason — reads
// in English on the home screen, in the tray and in the notifications.
func TestCoreMessagesFollowTheLanguageSwitch(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "ja_JP.UTF-8")
	b := brokertest.Start(t)
	ctx := context.Background()
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	user := b.CreateUser(t, "yamada")
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-yamada", Name: "ZAISEI-PC-012", Address: "127.0.0.1",
		RDPPort: screenSender(t), UserID: user.ID}); err != nil {
		t.Fatal(err)
	}
	idle, warn := 30, 5
	if _, err := it.SetSlotConfig(ctx, api.SlotConfigUpdate{IdleMinutes: &idle, WarnMinutes: &warn}); err != nil {
		t.Fatal(err)
	}
	rdp := &holdingLauncher{}
	c, err := core.New(core.Config{BrokerURL: b.URL, Fingerprint: b.Fingerprint, DeviceName: "laptop-yamada"},
		core.Deps{Launcher: rdp, Now: b.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pc := &pumpedClient{Client: c, states: make(chan core.State, 1024)}

	a := &notifyApp{App: test.NewTempApp(t)}
	u := New(a, Options{Preset: profile, Now: b.Now, NewClient: func(Profile) (Client, error) { return pc, nil }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	if _, err := c.Login(ctx, user.ID, user.Password, b.Code(t, user), false); err != nil {
		t.Fatal(err)
	}
	pc.pumpUntil(t, "home with the terminal known", func(s core.State) bool {
		return s.Phase == core.Ready && s.Online && s.Terminal != nil && s.SlotsCap > 0
	})
	if u.screen != scrHome || u.home.button.Text != "職場のパソコンに接続" {
		t.Fatalf("want the Japanese home screen first, got %v %q", u.screen, u.home.button.Text)
	}

	test.Tap(findButton(t, u.home.root, "設定"))
	u.settings.lang.SetSelected("English")
	test.Tap(findButton(t, u.settings.root, "Back"))
	english := func(where string) {
		t.Helper()
		m := tray.Build(u.st, u.tr, b.Now())
		words := append(homeTexts(u.home), u.win.Title(), m.Status)
		for _, it := range m.Items {
			words = append(words, it.Label)
		}
		for _, s := range words {
			if hasJapanese(s) {
				t.Errorf("%s: %q is not English", where, s)
			}
		}
	}
	english("ready")

	// The RDP client fails before the office screen shows: an error with
	// its code and what to do next.
	rdp.fail(127)
	test.Tap(u.home.button)
	pc.pumpUntil(t, "failed", func(s core.State) bool { return s.Phase == core.Failed })
	if u.home.errCode.Text != "Error code: slot_client_failed" || !strings.HasPrefix(u.home.status.Text, api.Err(api.CodeSlotClientFailed).Message) {
		t.Errorf("failure: status %q, code %q", u.home.status.Text, u.home.errCode.Text)
	}
	english("failed")
	rdp.fail(0)

	test.Tap(u.home.button) // "Try again"
	pc.pumpUntil(t, "connected", func(s core.State) bool { return s.Phase == core.Connected })
	english("connected")

	// The user leaves the office PC alone: the broker warns, then ends the
	// session. Its clock moves in lease-sized steps; the heartbeats that
	// keep the lease report no typing.
	slots := b.Services.Slots
	slot, err := slots.Mine(user.ID)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := slots.HolderOf(slot.ID) // heartbeats as the app's sign-in
	idleFor := func(minutes int) {
		for range minutes {
			b.Clock.Advance(time.Minute)
			_, _ = slots.Heartbeat(ctx, app, slot.ID, api.HeartbeatRequest{})
			if err := slots.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	idleFor(26)
	st := pc.pumpUntil(t, "the idle warning", func(s core.State) bool { return s.Warning.Active() })
	at := i18n.TimeOfDay(st.Warning.EndsAt)
	if want := "No activity: the session ends at " + at + ". Use the remote desktop to keep it."; u.home.warning.Text != want {
		t.Errorf("warning on the home screen %q, want %q", u.home.warning.Text, want)
	}
	if n := a.last(); n == nil || n.Title != "Notice" || !strings.Contains(n.Content, at) || hasJapanese(n.Content) {
		t.Errorf("warning notification %+v, want it in English with the time %s", n, at)
	}
	english("warned")

	idleFor(5)
	pc.pumpUntil(t, "the idle end", func(s core.State) bool { return s.Phase == core.Ready && s.EndReason != "" })
	if !u.home.ended.Visible() || u.home.ended.Text != "Last session: The session ended after a period without activity." {
		t.Errorf("end on the home screen %q (visible %v)", u.home.ended.Text, u.home.ended.Visible())
	}
	if n := a.last(); n == nil || n.Title != "Session ended" || hasJapanese(n.Content) {
		t.Errorf("end notification %+v, want it in English", n)
	}
	english("ended")
}

// TestEveryCoreCodeHasEnglishWords: each reason, stage and state core can
// put in a snapshot is worded in English on the home screen and in the
// tray, not just the ones the flow above happens to reach.
func TestEveryCoreCodeHasEnglishWords(t *testing.T) {
	test.NewTempApp(t)
	en := i18n.New("en")
	var states []core.State
	add := func(f func(*core.State)) {
		st := readyState()
		f(&st)
		states = append(states, st)
	}
	for _, r := range append(allEndReasons, "something-new") {
		add(func(s *core.State) { s.EndReason = r })
	}
	for _, r := range []string{api.EndIdle, api.EndMaxLength, api.EndHours} {
		add(func(s *core.State) {
			s.Phase, s.Since = core.Connected, testNow
			s.Warning = core.EndWarning{Reason: r, EndsAt: testNow.Add(5 * time.Minute)}
		})
	}
	for _, w := range []core.WakeStage{core.WakeChecking, core.WakeSending, core.WakeWaiting, core.WakeReady, core.WakeFailed} {
		add(func(s *core.State) { s.Phase, s.Wake = core.Waking, w })
	}
	for _, ts := range []core.TerminalState{core.TerminalUnknown, core.TerminalAsleep, core.TerminalAwake, core.TerminalInUse} {
		add(func(s *core.State) { s.Terminal = &core.Terminal{Name: "ZAISEI-PC-012", State: ts} })
	}
	for p := core.SignedOut; p <= core.Failed; p++ {
		add(func(s *core.State) { s.Phase = p })
		add(func(s *core.State) { s.Phase, s.Online, s.Queue, s.QueueETA = p, false, 3, time.Minute })
	}
	add(func(s *core.State) { s.Terminal = nil })
	add(func(s *core.State) { s.Phase, s.Err = core.Failed, api.Err(api.CodeSlotClientFailed, "exit code 127") })
	for _, st := range states {
		h := makeHome(en, st, testNow, homeActions{})
		m := tray.Build(st, en, testNow)
		words := append(homeTexts(h), m.Status)
		for _, it := range m.Items {
			words = append(words, it.Label)
		}
		for _, n := range tray.Notices(core.State{Phase: core.Connected}, st, en) {
			words = append(words, n.Title, n.Content)
		}
		for _, w := range words {
			if hasJapanese(w) {
				t.Errorf("state %+v: %q is not English", st, w)
			}
		}
	}
}

// homeTexts are the home screen's words that come from core's state (not
// the user's name and department, which are the roster's).
func homeTexts(h *homeScreen) []string {
	out := []string{h.terminalState.Text, h.status.Text, h.button.Text, h.slots.Text}
	for _, w := range []*message{h.warning, h.offline} {
		if w.Visible() {
			out = append(out, w.Text)
		}
	}
	if h.elapsed.Visible() {
		out = append(out, h.elapsed.Text)
	}
	if h.errCode.Visible() {
		out = append(out, h.errCode.Text)
	}
	if h.ended.Visible() {
		out = append(out, h.ended.Text)
	}
	return out
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			return true
		}
	}
	return false
}

// pumpedClient hands core's state snapshots to the UI on the test's
// goroutine, in order, so that the test reads widgets no other goroutine
// writes (the test driver's fyne.Do runs where it is called).
type pumpedClient struct {
	*core.Client
	states chan core.State
	toUI   func(core.State)
}

func (p *pumpedClient) Subscribe(fn func(core.State)) func() {
	p.toUI = fn
	return p.Client.Subscribe(func(st core.State) { p.states <- st })
}

// pumpUntil delivers states to the UI until one satisfies ok.
func (p *pumpedClient) pumpUntil(t *testing.T, what string, ok func(core.State) bool) core.State {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case st := <-p.states:
			p.toUI(st)
			if ok(st) {
				return st
			}
		case <-timeout:
			t.Fatalf("%s: not reached; core's state %+v", what, p.Client.State())
		}
	}
}

// notifyApp keeps the desktop notifications the UI sends.
type notifyApp struct {
	fyne.App
	mu   sync.Mutex // guards sent
	sent []*fyne.Notification
}

func (a *notifyApp) SendNotification(n *fyne.Notification) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = append(a.sent, n)
}

func (a *notifyApp) last() *fyne.Notification {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sent) == 0 {
		return nil
	}
	return a.sent[len(a.sent)-1]
}

// screenSender stands in for the office PC's RDP port: it sends a
// "screen" to whoever connects. It returns the port.
func screenSender(t *testing.T) int {
	t.Helper()
	return brokertest.OfficePC(t, brokertest.SendScreen("SCREEN"))
}

// holdingLauncher plays an RDP client nobody types into: it reads the
// screen and stays until the session ends, or exits at once with the code
// set by fail.
type holdingLauncher struct {
	mu       sync.Mutex // guards failCode
	failCode int
}

func (l *holdingLauncher) fail(code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failCode = code
}

func (l *holdingLauncher) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	l.mu.Lock()
	code := l.failCode
	l.mu.Unlock()
	if code != 0 {
		return code, nil
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return 1, err
	}
	defer conn.Close()
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	<-ctx.Done()
	return 0, nil
}

// allEndReasons is every reason core can end a session with.
var allEndReasons = []core.EndReason{core.EndUser, core.EndIdle, core.EndMaxLength, core.EndAdmin, core.EndLease, core.EndSignInEnded, core.EndHours,
	core.EndClosed, core.EndDisconnected, core.EndSignedOut, core.EndByTerminal, core.EndNetwork}
