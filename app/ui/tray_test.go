package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/icons"
)

// trayApp is a test app with a system tray that records what it was given.
type trayApp struct {
	fyne.App
	menu *fyne.Menu
	icon fyne.Resource
	win  fyne.Window
	sets int
}

func (a *trayApp) SetSystemTrayMenu(m *fyne.Menu)    { a.menu = m; a.sets++ }
func (a *trayApp) SetSystemTrayIcon(r fyne.Resource) { a.icon = r }
func (a *trayApp) SetSystemTrayWindow(w fyne.Window) { a.win = w }
func (a *trayApp) item(t *testing.T, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range a.menu.Items {
		if it.Label == label {
			return it
		}
	}
	var have []string
	for _, it := range a.menu.Items {
		have = append(have, it.Label)
	}
	t.Fatalf("no tray item %q in %q", label, have)
	return nil
}

func TestTrayFollowsState(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	a := &trayApp{App: test.NewTempApp(t)}
	now := testNow
	u := New(a, Options{Lang: "ja", Preset: profile,
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return now }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	if a.win != u.win {
		t.Error("the tray should show the main window on click")
	}
	if a.icon != icons.Tray(icons.Ready) {
		t.Errorf("icon %v, want ready", a.icon.Name())
	}
	a.item(t, "職場のパソコンに接続").Action()
	if c := fc.Calls(); c[len(c)-1] != "connect" {
		t.Errorf("tray connect: calls %v", c)
	}

	st := readyState()
	st.Phase, st.Since = core.Connected, testNow
	fc.push(st)
	if a.icon != icons.Tray(icons.Connected) {
		t.Errorf("icon %v, want connected", a.icon.Name())
	}
	a.item(t, "接続中（0:00）")
	sets := a.sets
	now = now.Add(65 * time.Second)
	u.tick()
	a.item(t, "接続中（1:05）")
	if a.sets != sets+1 {
		t.Errorf("the tick should rebuild the menu once, did %d", a.sets-sets)
	}
	u.tick()
	if a.sets != sets+1 {
		t.Error("an unchanged menu must not be rebuilt")
	}
	a.item(t, "切断する").Action()
	if c := fc.Calls(); c[len(c)-1] != "disconnect" {
		t.Errorf("tray disconnect: calls %v", c)
	}
	if last := a.menu.Items[len(a.menu.Items)-1]; !last.IsQuit || last.Label != "終了" {
		t.Errorf("last item %q quit=%v", last.Label, last.IsQuit)
	}

	// Closing the window keeps the app (and the session) running in the tray.
	u.win.Show()
	u.onClose()
	if fc.Calls()[len(fc.Calls())-1] == "close" {
		t.Error("closing the window must not close the client")
	}
}
