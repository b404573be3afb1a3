package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
)

type fakeAutostart struct {
	on   bool
	fail bool
}

func (f *fakeAutostart) Enable() error {
	if f.fail {
		return errors.New("read-only config")
	}
	f.on = true
	return nil
}
func (f *fakeAutostart) Disable() error         { f.on = false; return nil }
func (f *fakeAutostart) Enabled() (bool, error) { return f.on, nil }

func TestLanguageSwitch(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	u := newTestUI(t, fc, "", profile)
	t.Setenv("LANG", "ja_JP.UTF-8")
	if u.screen != scrHome || u.home.button.Text != "職場のパソコンに接続" {
		t.Fatalf("want Japanese home, got %v %q", u.screen, u.home.button.Text)
	}
	if u.win.Title() != "在宅" {
		t.Errorf("title %q", u.win.Title())
	}
	test.Tap(findButton(t, u.home.root, "設定"))
	if u.screen != scrSettings {
		t.Fatal("settings did not open")
	}
	u.settings.lang.SetSelected("English")
	if u.Lang() != "en" || u.prefs.String(prefLang) != "en" {
		t.Fatalf("lang %q, saved %q", u.Lang(), u.prefs.String(prefLang))
	}
	if !containsText(u.settings.root, "Language") || !containsText(u.settings.root, "Sign out") {
		t.Errorf("settings not rebuilt in English: %q", texts(u.settings.root))
	}
	if u.win.Title() != "Zaitaku" {
		t.Errorf("title %q", u.win.Title())
	}
	test.Tap(findButton(t, u.settings.root, "Back"))
	if u.screen != scrHome || u.home.button.Text != "Connect to office PC" {
		t.Fatalf("home after switch: %v %q", u.screen, u.home.button.Text)
	}
	// "Follow the system" goes back to the OS language.
	test.Tap(findButton(t, u.home.root, "Settings"))
	u.settings.lang.SetSelected("Follow the system")
	if u.Lang() != "ja" || u.prefs.String(prefLang) != "" {
		t.Fatalf("system language: %q, saved %q", u.Lang(), u.prefs.String(prefLang))
	}
}

func TestLanguageFollowsOS(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "en_GB.UTF-8")
	u := newTestUI(t, fc, "", profile)
	if u.Lang() != "en" || !containsText(u.login.root, "Sign in") {
		t.Fatalf("lang %q", u.Lang())
	}
}

func TestSettingsAutostartNotifySignOut(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	a := test.NewTempApp(t)
	as := &fakeAutostart{}
	u := New(a, Options{Lang: "ja", Preset: profile, Autostart: as,
		NewClient: func(Profile) (Client, error) { return fc, nil }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	u.showSettings()
	u.settings.autostart.SetChecked(true)
	if !as.on {
		t.Error("autostart not enabled")
	}
	as.fail = true
	u.settings.autostart.SetChecked(false)
	u.settings.autostart.SetChecked(true)
	if u.settings.autostart.Checked || !strings.Contains(u.settings.msg.Text, "予期しないエラー") {
		t.Errorf("a failed enable must uncheck and say so; checked=%v msg=%q", u.settings.autostart.Checked, u.settings.msg.Text)
	}
	u.settings.notify.SetChecked(false)
	if u.prefs.BoolWithFallback(prefNotify, true) {
		t.Error("notifications preference not saved")
	}
	u.signOut() // the confirm dialog's OK calls this
	if u.screen != scrLogin {
		t.Fatalf("screen %v after sign-out", u.screen)
	}
	if c := fc.Calls(); c[len(c)-1] != "logout" {
		t.Errorf("calls %v", c)
	}
}

func TestVoluntaryPasswordChange(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	fc.change = func(oldPw, newPw string) (*LoginStep, error) { return &LoginStep{Stage: "ok"}, nil }
	u := newTestUI(t, fc, "ja", profile)
	u.showSettings()
	test.Tap(findButton(t, u.settings.root, "パスワードを変更"))
	if u.screen != scrPassword || !containsObj(u.password.root, u.password.old) {
		t.Fatal("the voluntary change asks for the current password")
	}
	u.password.old.SetText("old")
	u.password.newPw.SetText("Abcdefgh-1234")
	u.password.again.SetText("Abcdefgh-1234")
	test.Tap(u.password.submit)
	if u.password.msg.Text != "パスワードを変更しました。" {
		t.Errorf("message %q", u.password.msg.Text)
	}
}
