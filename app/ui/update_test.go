package ui

import (
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/app/update"
)

// fakeUpdates is a hand-written stand-in for *update.Agent.
type fakeUpdates struct {
	mu   sync.Mutex
	st   update.Status
	subs []func(update.Status)
}

func (f *fakeUpdates) Subscribe(fn func(update.Status)) func() {
	f.mu.Lock()
	f.subs = append(f.subs, fn)
	st := f.st
	f.mu.Unlock()
	fn(st)
	return func() {}
}

func (f *fakeUpdates) push(st update.Status) {
	f.mu.Lock()
	f.st = st
	subs := append([]func(update.Status){}, f.subs...)
	f.mu.Unlock()
	for _, fn := range subs {
		fn(st)
	}
}

// newUpdateUI is a signed-in app on its home screen with fu behind its
// self-update; restarts counts the restarts main was asked for.
func newUpdateUI(t *testing.T, lang string, fu *fakeUpdates, restarts *int) (*UI, *fakeClient, *trayApp) {
	t.Helper()
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: lang, Preset: profile, Updates: fu, Restart: func() { *restarts++ },
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	if u.screen != scrHome {
		t.Fatalf("screen %v, want home", u.screen)
	}
	return u, fc, a
}

// TestUpdateStates: each self-update state as the home screen and the
// tray show it, in Japanese and English: nothing while idle, the
// download's percentage, the restart offer with Later (none during a
// session, where the line says it comes after), a required update that
// holds Connect back, every refusal in its own words, and a rollback.
func TestUpdateStates(t *testing.T) {
	connected := readyState()
	connected.Phase, connected.Since = core.Connected, testNow.Add(-time.Minute)
	for _, tc := range []struct {
		name    string
		lang    string
		st      update.Status
		session core.State
		text    string // "" : the line is hidden
		restart bool   // the Restart button and the tray line
		later   bool
		connect bool // Connect enabled
	}{
		{"idle", "ja", update.Status{}, readyState(), "", false, false, true},
		{"checking", "ja", update.Status{Phase: update.PhaseChecking}, readyState(), "", false, false, true},
		{"broker away", "ja", update.Status{Phase: update.PhaseFailed}, readyState(), "", false, false, true},
		{"downloading", "ja", update.Status{Phase: update.PhaseDownloading, Target: "1.5.0", Done: 420, Total: 1000}, readyState(),
			"更新をダウンロードしています（42%）", false, false, true},
		{"ready", "ja", update.Status{Phase: update.PhaseReady, Target: "1.5.0"}, readyState(),
			"新しいバージョン（1.5.0）の準備ができました。アプリを再起動すると切り替わります。", true, true, true},
		{"ready in English", "en", update.Status{Phase: update.PhaseReady, Target: "1.5.0"}, readyState(),
			"Version 1.5.0 is ready. Restart the app to switch to it.", true, true, true},
		{"ready during a session", "ja", update.Status{Phase: update.PhaseReady, Target: "1.5.0"}, connected,
			"この接続を終えた後", false, false, true},
		{"required", "ja", update.Status{Phase: update.PhaseReady, Target: "1.5.0", Required: true}, readyState(),
			"このバージョンでは接続できません", true, false, false},
		{"refused: signature", "ja", update.Status{Phase: update.PhaseRefused, Reason: update.ReasonSignature, Target: "1.5.0"}, readyState(),
			"署名が正しくない", false, false, true},
		{"refused: truncated", "ja", update.Status{Phase: update.PhaseRefused, Reason: update.ReasonTruncated}, readyState(),
			"途中で切れた", false, false, true},
		{"refused: expired", "ja", update.Status{Phase: update.PhaseRefused, Reason: update.ReasonExpired}, readyState(),
			"有効期限が切れている", false, false, true},
		{"refused: older", "en", update.Status{Phase: update.PhaseRefused, Reason: update.ReasonOlder}, readyState(),
			"older than a version already verified", false, false, true},
		{"refused: untrusted", "en", update.Status{Phase: update.PhaseRefused, Reason: update.ReasonUntrusted}, readyState(),
			"a key the app does not trust", false, false, true},
		{"rolled back", "ja", update.Status{RolledBack: "1.5.0"}, readyState(),
			"新しいバージョン（1.5.0）が起動できなかったため、元のバージョンに戻しました", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fu := &fakeUpdates{}
			restarts := 0
			u, fc, a := newUpdateUI(t, tc.lang, fu, &restarts)
			fc.push(tc.session)
			fu.push(tc.st)
			bar := u.home.upd
			if tc.text == "" {
				if bar.root.Visible() {
					t.Fatalf("update line shows %q", bar.text.Text)
				}
			} else if !bar.root.Visible() || !strings.Contains(bar.text.Text, tc.text) {
				t.Fatalf("update line %q (shown %v), want %q", bar.text.Text, bar.root.Visible(), tc.text)
			}
			restart, later := bar.root.Visible() && bar.restart.Visible(), bar.root.Visible() && bar.later.Visible()
			if restart != tc.restart || later != tc.later {
				t.Errorf("restart shown %v, later %v; want %v, %v", restart, later, tc.restart, tc.later)
			}
			if u.home.button.Disabled() == tc.connect && tc.session.Phase == core.Ready {
				t.Errorf("connect enabled %v, want %v", !u.home.button.Disabled(), tc.connect)
			}
			label := u.tr.T("tray.update_restart", tc.st.Target)
			inTray := false
			for _, it := range a.menu.Items {
				if it.Label == label {
					inTray = true
				}
			}
			if inTray != tc.restart {
				t.Errorf("tray restart line %v, want %v", inTray, tc.restart)
			}
			if tc.restart {
				test.Tap(bar.restart)
				if restarts != 1 {
					t.Fatalf("restart pressed: main asked %d times", restarts)
				}
			}
		})
	}
}

// TestUpdateNeverRestartsDuringSession: the restart offer waits for the
// session's end; Later puts it away until another version comes.
func TestUpdateNeverRestartsDuringSession(t *testing.T) {
	fu := &fakeUpdates{}
	restarts := 0
	u, fc, _ := newUpdateUI(t, "ja", fu, &restarts)
	connected := readyState()
	connected.Phase = core.Connected
	fc.push(connected)
	fu.push(update.Status{Phase: update.PhaseReady, Target: "1.5.0"})
	u.trayAction(tray.ActRestart) // as a menu built before the session would send it
	u.restartForUpdate()
	if restarts != 0 {
		t.Fatal("restarted during a session")
	}
	fc.push(readyState())
	if !u.home.upd.restart.Visible() {
		t.Fatal("no restart offer after the session ended")
	}
	test.Tap(u.home.upd.later)
	if u.home.upd.root.Visible() {
		t.Fatal("Later did not put the offer away")
	}
	fc.push(readyState()) // another snapshot keeps it away
	if u.home.upd.root.Visible() {
		t.Fatal("the offer came back for the same version")
	}
	fu.push(update.Status{Phase: update.PhaseReady, Target: "1.5.1"})
	if !u.home.upd.restart.Visible() {
		t.Fatal("no offer for the next version")
	}
}

// TestUpdateOfferedAtLogin: before sign-in no session can be cut short,
// so the login screen offers the restart too.
func TestUpdateOfferedAtLogin(t *testing.T) {
	fu := &fakeUpdates{}
	restarts := 0
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: "ja", Preset: profile, Updates: fu, Restart: func() { restarts++ },
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	if u.screen != scrLogin {
		t.Fatalf("screen %v, want login", u.screen)
	}
	if u.login.upd.root.Visible() {
		t.Fatal("update line before any update")
	}
	fu.push(update.Status{Phase: update.PhaseReady, Target: "1.5.0"})
	if !u.login.upd.root.Visible() || !strings.Contains(u.login.upd.text.Text, "1.5.0") {
		t.Fatalf("login screen: %q", u.login.upd.text.Text)
	}
	test.Tap(u.login.upd.restart)
	if restarts != 1 {
		t.Fatalf("restarts %d", restarts)
	}
}
