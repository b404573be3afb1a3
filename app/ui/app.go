package ui

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/icons"
)

// Options wires the faces to the rest of the app (main.go fills them).
type Options struct {
	Version     string
	Lang        string  // forced language (-lang); "" uses the saved choice, then the OS
	Preset      Profile // from flags or the installer's config; wins over saved values
	NewClient   func(Profile) (Client, error)
	CheckCert   func(ctx context.Context, brokerURL string) (CertCheck, error) // default CheckCertificate
	Autostart   Autostart                                                      // nil where unsupported
	AutoConnect bool                                                           // connect once signed in (-connect)
	LogStatus   func() oplog.Status                                            // the operation log's upload state; nil: not shown
	BoldFont    func() ([]byte, error)                                         // a bold face with Japanese glyphs (platform/font); nil: Fyne's
	Now         func() time.Time
	Logger      *slog.Logger
	// Chat is the signed-in user's chat (app/chat); nil: no chat window.
	Chat ChatClient
	// Updates is the self-update (app/update); nil: not shown. Restart
	// (called just before the app quits for it) tells main to start the
	// new binary once the app has closed.
	Updates Updates
	Restart func()
}

type screenID int

const (
	scrNone screenID = iota
	scrFirstRun
	scrLogin
	scrEnroll
	scrPassword
	scrHome
	scrSettings
	scrAbout
	scrRevoked // this laptop was revoked (revoked.go)
	scrTelework
	scrMeetings
)

// callTimeout bounds every broker call made from a screen, so a dead network
// ends in a message instead of a spinner forever.
const callTimeout = 30 * time.Second

// UI routes between the screens from core.State snapshots and runs the tray.
// All fields are touched only on the Fyne thread (callbacks, fyne.Do); work
// that may block runs through async and comes back with fyne.Do.
type UI struct {
	app   fyne.App
	win   fyne.Window
	opt   Options
	prefs fyne.Preferences
	tr    *i18n.Tr
	log   *slog.Logger

	client    Client
	gen       int // counts startClient calls, so a late NewClient result is dropped
	unsub     func()
	profile   Profile
	st        core.State
	haveState bool
	screen    screenID
	back      screenID // where Settings/About return to
	home      *homeScreen
	login     *loginScreen
	first     *firstRunScreen
	enroll    *enrollScreen
	password  *passwordScreen
	settings  *settingsScreen
	about     *aboutScreen
	revoked   *revokedScreen
	telework  *teleworkScreen
	meetings  *meetingsScreen
	pendingPw string // typed at login; kept in memory only until a forced step completes
	errs      []recentError
	trayKey   string
	connected bool // AutoConnect fired already
	hidden    bool // told the user once that closing keeps the app in the tray

	chatWin    fyne.Window // nil until chat is first opened
	chatScr    *chatScreen
	chatCur    string // the conversation open in the chat window
	chatShown  bool   // the chat window is on screen
	chatNotice string // the channel of the last chat notice: the tray's chat line opens it
	people     *peopleLookup
	group      *groupMaker   // the group being made ("グループを作る"), for tests
	chatDlg    dialog.Dialog // the chat window's dialog on screen (rename, status, members, delete, leave)

	upd      update.Status // the self-update's last snapshot
	updLater string        // the version whose restart offer "Later" put away

	async func(func())  // runs blocking work off the UI thread (tests run it inline)
	every time.Duration // elapsed-time tick; 0 (tests) ticks only when told
	stop  chan struct{}
}

// New builds the main window; Start decides the first screen.
func New(a fyne.App, opt Options) *UI {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.CheckCert == nil {
		opt.CheckCert = CheckCertificate
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{app: a, opt: opt, prefs: a.Preferences(), log: opt.Logger,
		async: func(f func()) { go f() }, every: time.Second, stop: make(chan struct{})}
	u.tr = i18n.New(u.pickLang())
	u.win = a.NewWindow(u.tr.T(i18n.AppName))
	u.win.SetIcon(icons.App)
	u.win.Resize(fyne.NewSize(560, 720))
	u.win.SetCloseIntercept(u.onClose)
	a.SetIcon(icons.App)
	return u
}

// Show brings the main window forward (tray "Open", a second launch).
func (u *UI) Show() {
	u.win.Show()
	u.win.RequestFocus()
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Lang is the language in use.
func (u *UI) Lang() string { return u.tr.Lang() }

func (u *UI) pickLang() string {
	if u.opt.Lang != "" {
		return i18n.Normalize(u.opt.Lang)
	}
	if l := u.prefs.String(prefLang); l != "" {
		return i18n.Normalize(l)
	}
	if l := i18n.FromEnv(os.Getenv); l != "" {
		return l
	}
	return i18n.Normalize(string(lang.SystemLocale()))
}

// Start shows first run or login (resuming a saved sign-in), sets up the
// tray and the one-second tick.
func (u *UI) Start() {
	u.profile = loadProfile(u.prefs, u.opt.Preset)
	if u.profile.Complete() {
		u.startClient(u.profile)
	} else {
		u.showFirstRun("")
	}
	u.startChat()
	if u.opt.Updates != nil {
		u.opt.Updates.Subscribe(func(s update.Status) { fyne.Do(func() { u.onUpdate(s) }) })
	}
	u.updateTray()
	if desk, ok := u.app.(desktop.App); ok {
		desk.SetSystemTrayWindow(u.win)
	}
	if u.every > 0 {
		go u.ticker()
	}
}

// Started is for the app's Lifecycle OnStarted: work that improves the
// window but must not delay it (the bold Japanese face).
func (u *UI) Started() {
	if u.opt.BoldFont != nil {
		useBoldCJK(u.app, u.opt.BoldFont, u.log)
	}
}

// ShowAndRun shows the window and runs the app until Quit.
func (u *UI) ShowAndRun() { u.win.ShowAndRun() }

func (u *UI) ticker() {
	t := time.NewTicker(u.every)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
			fyne.Do(u.tick)
		}
	}
}

// tick advances the elapsed time while connected, and the About
// screen's upload state while it shows.
func (u *UI) tick() {
	if u.screen == scrAbout && u.about != nil {
		u.about.refresh()
	}
	if u.st.Phase != core.Connected {
		return
	}
	if u.screen == scrHome && u.home != nil {
		u.home.tick(u.opt.Now())
	}
	u.updateTray()
	u.updateTitle()
}

// updateTitle puts the state in the window title, so the taskbar shows
// "connected 0:42:10" or "queued" while the window is behind the RDP one.
func (u *UI) updateTitle() {
	title := u.tr.T(i18n.AppName)
	if st := u.st; st.Phase != core.SignedOut && (st.Phase != core.Ready || !st.Online) {
		title += " — " + tray.Status(st, u.tr, u.opt.Now())
	}
	if u.win.Title() != title {
		u.win.SetTitle(title)
	}
}

// startClient makes the core client for p off the UI thread (it opens the
// OS keyring, which may wait for an unlock prompt), then subscribes and
// tries the saved sign-in. Results from a replaced client are dropped.
func (u *UI) startClient(p Profile) {
	if u.unsub != nil {
		u.unsub()
		u.unsub = nil
	}
	if u.client != nil {
		old := u.client
		u.async(old.Close)
	}
	u.client, u.haveState, u.st = nil, false, core.State{}
	u.gen++
	gen := u.gen
	u.showLogin()
	u.login.setBusy(u.tr.T(i18n.LoginResuming))
	u.async(func() {
		c, err := u.opt.NewClient(p)
		fyne.Do(func() {
			if gen != u.gen {
				if c != nil {
					u.async(c.Close)
				}
				return
			}
			if err != nil {
				u.log.Error("start client", "err", err)
				u.recordErr(err)
				msg := u.tr.T(i18n.ErrStartup)
				if errors.Is(err, ErrNoKeyring) {
					msg = u.tr.T(i18n.ErrNoKeyring)
				}
				u.showFirstRun(msg)
				return
			}
			u.attach(c)
		})
	})
}

// PinLearned keeps a key pin the client learned (core.Deps.PinLearned):
// through a certificate pin of the earlier form, which it replaces, or
// announced by the broker before a key rotation. Any goroutine may call it.
func (u *UI) PinLearned(brokerURL, pin string) {
	fyne.Do(func() {
		if u.profile.BrokerURL != brokerURL || u.profile.hasPin(pin) && u.profile.Fingerprint == "" {
			return
		}
		u.profile = u.profile.withPin(pin)
		saveProfile(u.prefs, u.profile)
		u.log.Info("broker key pin kept", "pin", pin)
	})
}

func (u *UI) attach(c Client) {
	u.client = c
	u.unsub = c.Subscribe(func(st core.State) {
		fyne.Do(func() {
			if u.client == c {
				u.onState(st)
			}
		})
	})
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		ok, err := c.Resume(ctx)
		fyne.Do(func() {
			if u.client != c || u.screen != scrLogin {
				return
			}
			switch {
			case err != nil:
				u.recordErr(err)
				u.login.showError(errorText(u.tr, err), errorCode(err))
			case ok:
				u.onState(c.State())
			default:
				u.login.idle()
			}
		})
	})
}

// onState takes one snapshot: notifications, routing, the home screen, the tray.
func (u *UI) onState(st core.State) {
	prev, had := u.st, u.haveState
	u.st, u.haveState = st, true
	if !had || prev.Phase != st.Phase || prev.Online != st.Online {
		// One line per step: the help desk reads these, tests wait on them.
		u.log.Info("state", "phase", st.Phase.String(), "online", st.Online)
	}
	if (prev.BCP == nil) != (st.BCP == nil) {
		u.log.Info("bcp mode", "on", st.BCP != nil)
	}
	if st.Err != nil && (!had || prev.Err == nil || prev.Err.Code != st.Err.Code || prev.Phase != st.Phase) {
		u.recordErr(st.Err)
	}
	if had && u.prefs.BoolWithFallback(prefNotify, true) {
		for _, n := range tray.Notices(prev, st, u.tr) {
			u.app.SendNotification(n)
		}
		for _, n := range tray.TeleworkNotices(prev, st, u.tr) {
			u.app.SendNotification(n)
		}
	}
	if st.Revoked != nil {
		if u.screen != scrAbout && u.screen != scrSettings {
			u.showRevoked(*st.Revoked)
		}
		u.updateTray()
		u.updateTitle()
		return
	}
	signedIn := st.Phase != core.SignedOut
	if !signedIn {
		u.hideChat() // what it showed is gone with the sign-in
		u.chatCur, u.chatNotice = "", ""
	}
	switch {
	case !signedIn && (u.screen == scrHome || u.screen == scrSettings || u.screen == scrRevoked || u.screen == scrTelework || u.screen == scrMeetings ||
		(u.screen == scrPassword && u.pendingPw == "")):
		u.showLogin()
		if st.Err != nil {
			// Signed out by the broker (device revoked, sign-in expired):
			// say why on the login screen.
			u.login.showError(errorText(u.tr, st.Err), errorCode(st.Err))
		}
	case signedIn && (u.screen == scrLogin || u.screen == scrEnroll || u.screen == scrFirstRun ||
		(u.screen == scrPassword && u.pendingPw != "")):
		u.pendingPw = ""
		u.showHome()
	case u.screen == scrHome && u.home != nil:
		u.home.update(st, u.opt.Now())
		u.home.setUpdate(u.upd, st, u.updLater == u.upd.Target)
	case u.screen == scrTelework && u.telework != nil:
		if prev.Telework != st.Telework || prev.Online != st.Online {
			u.telework.update(st.Telework, st.Online)
			u.lookSectionPresence()
		}
	}
	u.updateTray()
	u.updateTitle()
	if u.opt.AutoConnect && !u.connected && st.Phase == core.Ready && st.Online && st.Terminal != nil {
		u.connected = true
		u.connect()
	}
}

func (u *UI) recordErr(err error) {
	u.errs = append(u.errs, recentError{At: u.opt.Now(), Code: errorCode(err)})
	if len(u.errs) > 10 {
		u.errs = u.errs[len(u.errs)-10:]
	}
}

func (u *UI) setContent(id screenID, c fyne.CanvasObject) {
	u.screen = id
	u.win.SetContent(c)
}

func (u *UI) connect() {
	if c := u.client; c != nil {
		u.async(c.Connect)
	}
}

func (u *UI) disconnect() {
	if c := u.client; c != nil {
		u.async(c.Disconnect)
	}
}

// onClose keeps the app in the tray: staff close the window while a
// session runs, and the session must not end with it.
func (u *UI) onClose() {
	if _, ok := u.app.(desktop.App); !ok {
		u.quit()
		return
	}
	u.win.Hide()
	if !u.hidden {
		u.hidden = true
		u.app.SendNotification(fyne.NewNotification(u.tr.T(i18n.NotifyInTray), u.tr.T(i18n.NotifyInTrayBody)))
	}
}

// quit ends the app. The client's Close (end the session, release the
// slot, flush the journal) talks to the broker, so it runs off the UI
// thread with a bound: a dead network must not keep a frozen window up.
func (u *UI) quit() {
	select {
	case <-u.stop:
		return // already quitting
	default:
		close(u.stop)
	}
	if u.unsub != nil {
		u.unsub()
	}
	u.win.Hide()
	if u.chatWin != nil {
		u.chatWin.Hide()
	}
	c := u.client
	go func() {
		if c != nil {
			done := make(chan struct{})
			go func() { c.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(quitTimeout):
				u.log.Warn("quit: client did not close in time")
			}
		}
		fyne.Do(u.app.Quit)
	}()
}

// quitTimeout bounds the goodbye to the broker at quit.
const quitTimeout = 5 * time.Second

// updateTray rebuilds the tray menu and icon when the model changed.
func (u *UI) updateTray() {
	desk, ok := u.app.(desktop.App)
	if !ok {
		return
	}
	m := tray.Build(u.st, u.tr, u.opt.Now())
	if u.opt.Chat != nil && u.st.Phase != core.SignedOut {
		m = tray.WithChat(m, u.opt.Chat.Unread(), u.tr)
	}
	if _, ok := u.client.(Teleworker); ok {
		m = tray.WithWork(m, u.st, u.tr)
	}
	m = tray.WithUpdate(m, u.upd, u.st, u.tr)
	key := m.Icon + "\x00" + m.Status + "\x00" + u.tr.Lang()
	for _, it := range m.Items {
		key += "\x00" + it.Label
		if it.Disabled {
			key += "\x01"
		}
	}
	if key == u.trayKey {
		return
	}
	u.trayKey = key
	desk.SetSystemTrayMenu(tray.Menu(m, func(a tray.Action) { fyne.Do(func() { u.trayAction(a) }) }))
	desk.SetSystemTrayIcon(icons.Tray(m.Icon))
}

func (u *UI) trayAction(a tray.Action) {
	switch a {
	case tray.ActOpen:
		u.Show()
	case tray.ActConnect:
		u.connect()
	case tray.ActDisconnect:
		u.disconnect()
	case tray.ActQuit:
		u.quit()
	case tray.ActChat:
		u.openChat(u.chatNotice)
	case tray.ActRestart:
		u.restartForUpdate()
	case tray.ActEndWork:
		u.endWork()
	case tray.ActStartHome, tray.ActStartSatellite, tray.ActStartOther:
		u.startWork(tray.PlaceOf(a))
	}
}

// confirm asks a yes/no question with our own button labels (Fyne's
// defaults follow the OS language, not the one chosen in Settings).
func (u *UI) confirm(title, msg string, yes func()) {
	d := dialog.NewCustomConfirm(title, u.tr.T(i18n.OK), u.tr.T(i18n.Cancel), para(msg), func(ok bool) {
		if ok {
			yes()
		}
	}, u.win)
	d.Resize(fyne.NewSize(420, 200))
	d.Show()
}
