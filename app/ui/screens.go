package ui

import (
	"context"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// This file builds each screen with its actions. Actions that call the
// broker run through u.async and come back with fyne.Do; they check that
// the client is still the same one, since first run may have replaced it.

func (u *UI) showFirstRun(msg string) {
	preset := u.profile
	// Only IT's values count as "the value given".
	preset.Pins, preset.Fingerprint, preset.TrustOS = u.opt.Preset.Pins, u.opt.Preset.Fingerprint, u.opt.Preset.TrustOS
	if preset.DeviceName == "" {
		preset.DeviceName, _ = os.Hostname()
	}
	u.first = makeFirstRun(u.tr, preset, firstRunActions{
		Check: func(brokerURL string) {
			s := u.first
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
				defer cancel()
				c, err := u.opt.CheckCert(ctx, brokerURL)
				fyne.Do(func() {
					if err != nil {
						u.recordErr(err)
					}
					s.showCheck(brokerURL, c, err)
				})
			})
		},
		Save: func(p Profile) {
			saveProfile(u.prefs, p)
			u.profile = p
			u.startClient(p)
		},
		Settings: u.showSettings,
		Help:     u.showAbout,
		Focus:    func(f fyne.Focusable) { u.win.Canvas().Focus(f) },
	})
	if msg != "" {
		u.first.msg.set(msg, widget.DangerImportance)
	}
	u.setContent(scrFirstRun, u.first.root)
	u.win.Canvas().Focus(u.first.broker)
}

func (u *UI) showLogin() {
	u.pendingPw = ""
	u.login = makeLogin(u.tr, loginView{
		Broker:   u.profile.BrokerURL,
		StaffID:  u.prefs.String(prefStaffID),
		Remember: u.prefs.BoolWithFallback(prefRemember, true),
	}, loginActions{
		Submit:       u.submitLogin,
		ChangeBroker: func() { u.showFirstRun("") },
		Settings:     u.showSettings,
		Help:         u.showAbout,
		Restart:      u.restartForUpdate,
		Later:        u.updateLater,
	})
	u.login.upd.show(u.tr, u.upd, u.st, u.updLater == u.upd.Target)
	u.setContent(scrLogin, u.login.root)
	if u.login.staffID.Text == "" {
		u.win.Canvas().Focus(u.login.staffID)
	} else {
		u.win.Canvas().Focus(u.login.password)
	}
}

func (u *UI) submitLogin(id, pw, otp string, remember bool) {
	u.prefs.SetBool(prefRemember, remember)
	u.prefs.SetString(prefStaffID, id)
	c := u.client
	if c == nil {
		return
	}
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		step, err := c.Login(ctx, id, pw, otp, remember)
		fyne.Do(func() {
			if u.client != c || u.screen != scrLogin {
				return
			}
			if err != nil {
				u.log.Info("sign-in refused", "code", errorCode(err)) // never the ID's password or code
				u.recordErr(err)
				u.login.showLoginError(err, u.win.Canvas())
				return
			}
			u.afterStep(step, pw)
		})
	})
}

// afterStep moves to what the broker asks for next after a login step.
func (u *UI) afterStep(step *LoginStep, pw string) {
	if step == nil {
		step = &LoginStep{Stage: api.StageOK}
	}
	u.log.Info("sign-in step", "stage", step.Stage)
	switch step.Stage {
	case api.StageEnrollTOTP:
		u.pendingPw = pw
		u.showEnroll(step.Enrollment)
	case api.StageChangePassword:
		u.pendingPw = pw
		u.showPassword(passwordView{Forced: true, Rules: step.PasswordRules, Old: pw})
	default:
		u.pendingPw = ""
		u.showHome()
		if u.client != nil {
			u.onState(u.client.State())
		}
	}
}

func (u *UI) showEnroll(e *api.TOTPEnrollment) {
	if e == nil {
		e = &api.TOTPEnrollment{}
	}
	u.enroll = makeEnroll(u.tr, e, enrollActions{
		Submit: func(code string) {
			c, s := u.client, u.enroll
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				step, err := c.EnrollTOTP(ctx, code)
				fyne.Do(func() {
					if u.client != c || u.screen != scrEnroll {
						return
					}
					if err != nil {
						u.recordErr(err)
						s.showError(err)
						return
					}
					u.afterStep(step, u.pendingPw)
				})
			})
		},
		Cancel: u.showLogin,
	})
	u.setContent(scrEnroll, u.enroll.root)
	u.win.Canvas().Focus(u.enroll.code)
}

func (u *UI) showPassword(v passwordView) {
	var back func()
	if !v.Forced {
		back = u.showSettings
	} else {
		back = u.showLogin
	}
	u.password = makePassword(u.tr, v, passwordActions{
		Back: back,
		Submit: func(oldPw, newPw string) {
			c, s := u.client, u.password
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				step, err := c.ChangePassword(ctx, oldPw, newPw)
				fyne.Do(func() {
					if u.client != c || u.screen != scrPassword {
						return
					}
					if err != nil {
						u.recordErr(err)
						s.showError(err)
						return
					}
					if v.Forced {
						u.afterStep(step, newPw)
						return
					}
					s.done()
				})
			})
		},
	})
	u.setContent(scrPassword, u.password.root)
	if v.Old == "" {
		u.win.Canvas().Focus(u.password.old)
	} else {
		u.win.Canvas().Focus(u.password.newPw)
	}
}

func (u *UI) showHome() {
	var openChat func()
	if u.opt.Chat != nil {
		openChat = func() { u.openChat("") }
	}
	var openTelework func()
	if _, ok := u.client.(Teleworker); ok {
		openTelework = u.showTelework
	}
	var openMeetings func()
	if _, ok := u.client.(Meeter); ok {
		openMeetings = u.showMeetings
	}
	u.home = makeHome(u.tr, u.st, u.opt.Now(), homeActions{
		Telework:   openTelework,
		Meetings:   openMeetings,
		Connect:    u.connect,
		Disconnect: u.disconnect,
		Settings:   u.showSettings,
		Help:       u.showAbout,
		Chat:       openChat,
		Restart:    u.restartForUpdate,
		StartWork:  u.startWork,
		EndWork:    u.endWork,
		Later:      u.updateLater,
	})
	if u.opt.Chat != nil {
		u.home.setUnread(u.opt.Chat.Unread())
	}
	u.home.setUpdate(u.upd, u.st, u.updLater == u.upd.Target)
	u.setContent(scrHome, u.home.root)
}

func (u *UI) showSettings() {
	u.noteBack()
	v := settingsView{
		Lang:     u.prefs.String(prefLang),
		Notify:   u.prefs.BoolWithFallback(prefNotify, true),
		SignedIn: u.st.Phase != core.SignedOut,
	}
	if u.opt.Autostart != nil {
		on, err := u.opt.Autostart.Enabled()
		v.Autostart, v.AutostartOK = on, err == nil
	}
	if st := u.st; st.User != nil {
		v.StaffIDAndOrg = u.tr.T(i18n.HomeGreeting, st.User.Name, st.User.Department)
	}
	var s *settingsScreen
	s = makeSettings(u.tr, v, settingsActions{
		SetLang: u.setLang,
		SetAutostart: func(on bool) {
			a := u.opt.Autostart
			u.async(func() {
				var err error
				if on {
					err = a.Enable()
				} else {
					err = a.Disable()
				}
				fyne.Do(func() {
					if err != nil {
						u.log.Warn("autostart", "on", on, "err", err)
						s.msg.set(u.tr.T(i18n.ErrUnexpected), widget.DangerImportance)
						s.autostart.SetChecked(!on)
					}
				})
			})
		},
		SetNotify: func(on bool) { u.prefs.SetBool(prefNotify, on) },
		ChangePassword: func() {
			u.showPassword(passwordView{})
		},
		SignOut: func() {
			u.confirm(u.tr.T(i18n.SetSignOut), u.tr.T(i18n.SetSignOutAsk), u.signOut)
		},
		Back: u.goBack,
	})
	u.settings = s
	u.setContent(scrSettings, s.root)
}

// noteBack remembers the main screen that Settings and About return to.
func (u *UI) noteBack() {
	switch u.screen {
	case scrHome, scrLogin, scrFirstRun:
		u.back = u.screen
	}
}

// goBack leaves Settings or About for the main screen that fits the state
// now (the session may have ended meanwhile).
func (u *UI) goBack() {
	switch {
	case u.client == nil || u.back == scrFirstRun:
		u.showFirstRun("")
	case u.st.Revoked != nil:
		u.screen = scrNone // built afresh, in the language now chosen
		u.showRevoked(*u.st.Revoked)
	case u.st.Phase == core.SignedOut:
		u.showLogin()
	default:
		u.showHome()
	}
}

// setLang switches language at once and remembers the choice ("" = OS).
func (u *UI) setLang(l string) {
	u.prefs.SetString(prefLang, l)
	if l == "" {
		u.opt.Lang = ""
		l = u.pickLang()
	}
	u.tr = i18n.New(l)
	u.updateTitle()
	u.updateTray()
	u.relabelChat()
	u.showSettings()
}

func (u *UI) signOut() {
	c := u.client
	if c == nil {
		return
	}
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		err := c.Logout(ctx)
		fyne.Do(func() {
			if u.client != c {
				return
			}
			u.showLogin()
			if err != nil {
				u.recordErr(err)
				u.login.msg.set(u.tr.T(i18n.SetSignOutFailed), widget.WarningImportance)
			}
		})
	})
}

func (u *UI) showAbout() {
	u.noteBack()
	u.about = makeAbout(u.tr, aboutView{
		Version: u.opt.Version,
		Broker:  u.profile.BrokerURL,
		Device:  u.profile.DeviceName,
		Log:     u.opt.LogStatus,
	}, aboutActions{
		CopyDiagnostics: func() { u.app.Clipboard().SetContent(u.diagnostics()) },
		Back:            u.goBack,
	})
	u.setContent(scrAbout, u.about.root)
}

func (u *UI) diagnostics() string {
	info := diagInfo{
		Version: u.opt.Version, Lang: u.tr.Lang(), Profile: u.profile,
		State: u.st, Errors: u.errs, Now: u.opt.Now(),
	}
	if u.opt.LogStatus != nil {
		st := u.opt.LogStatus()
		info.Log = &st
	}
	s := diagnostics(info)
	if d, ok := u.client.(diagnoser); ok {
		s += "\n" + d.Diagnostics()
	}
	return s
}
