package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

type loginView struct {
	Broker   string // shown small, so staff can tell IT which broker they use
	StaffID  string // last one used on this laptop
	Remember bool
}

type loginActions struct {
	Submit       func(staffID, password, otp string, remember bool)
	ChangeBroker func()
	Settings     func()
	Help         func()
	Restart      func() // restart into a new version (no session runs before sign-in)
	Later        func()
}

// loginScreen asks for staff ID and password, then the one-time code when
// the broker asks for it (api.CodeOTPRequired).
type loginScreen struct {
	root     fyne.CanvasObject
	tr       *i18n.Tr
	staffID  *widget.Entry
	password *widget.Entry
	otpCap   *widget.Label
	otp      *widget.Entry
	remember *widget.Check
	submit   *widget.Button
	msg      *message
	code     *widget.Label
	upd      *updateBar
	actions  loginActions
}

func makeLogin(tr *i18n.Tr, v loginView, actions loginActions) *loginScreen {
	s := &loginScreen{tr: tr, actions: actions}
	s.staffID = widget.NewEntry()
	s.staffID.SetText(v.StaffID)
	s.password = widget.NewPasswordEntry()
	s.otp = widget.NewEntry()
	s.otp.SetPlaceHolder(tr.T(i18n.LoginOTPHint))
	s.otpCap = caption(tr.T(i18n.LoginOTP))
	s.otp.Hide()
	s.otpCap.Hide()
	s.remember = widget.NewCheck(tr.T(i18n.LoginRemember), nil)
	s.remember.SetChecked(v.Remember)
	s.submit = widget.NewButton(tr.T(i18n.LoginSubmit), s.onSubmit)
	s.submit.Importance = widget.HighImportance
	// Enter in any field submits, as on every login form.
	s.staffID.OnSubmitted = func(string) { s.onSubmit() }
	s.password.OnSubmitted = func(string) { s.onSubmit() }
	s.otp.OnSubmitted = func(string) { s.onSubmit() }
	s.msg = newMessage()
	s.code = widget.NewLabel("")
	s.code.Importance = widget.LowImportance
	s.code.Hide()
	broker := widget.NewLabel(tr.T(i18n.LoginBroker, v.Broker))
	broker.Importance = widget.LowImportance
	broker.Truncation = fyne.TextTruncateEllipsis
	change := widget.NewButton(tr.T(i18n.FirstChangeSettings), func() {
		if actions.ChangeBroker != nil {
			actions.ChangeBroker()
		}
	})
	change.Importance = widget.LowImportance
	s.upd = makeUpdateBar(tr, actions.Restart, actions.Later)
	s.root = container.NewBorder(brandBar(tr, actions.Settings, actions.Help), nil, nil, nil, page(
		s.upd.root,
		heading(tr.T(i18n.LoginTitle)),
		caption(tr.T(i18n.LoginStaffID)), s.staffID,
		caption(tr.T(i18n.LoginPassword)), s.password,
		s.otpCap, s.otp,
		s.remember,
		s.msg.Label, s.code,
		tall(s.submit, 52),
		container.NewBorder(nil, nil, nil, change, broker),
	))
	return s
}

func (s *loginScreen) onSubmit() {
	if s.submit.Disabled() {
		return
	}
	id, pw := strings.TrimSpace(s.staffID.Text), s.password.Text
	if id == "" || pw == "" {
		s.showError(s.tr.T(i18n.LoginNeedFields), "")
		return
	}
	otp := strings.TrimSpace(s.otp.Text)
	if s.otp.Visible() && otp == "" {
		s.showError(s.tr.T(i18n.LoginNeedOTP), "")
		return
	}
	s.setBusy(s.tr.T(i18n.LoginChecking))
	s.actions.Submit(id, pw, otp, s.remember.Checked)
}

// setBusy disables the form while a call is out; text says what is happening.
func (s *loginScreen) setBusy(text string) {
	s.submit.Disable()
	s.code.Hide()
	s.msg.set(text, widget.MediumImportance)
}

func (s *loginScreen) idle() {
	s.submit.Enable()
	s.msg.clear()
}

func (s *loginScreen) showError(text, code string) {
	s.submit.Enable()
	s.msg.set(text, widget.DangerImportance)
	if code != "" {
		s.code.SetText(s.tr.T(i18n.ErrorCode, code))
		s.code.Show()
	} else {
		s.code.Hide()
	}
}

// showLoginError reacts to a failed Login. Each code moves focus to the
// field the user has to fix.
func (s *loginScreen) showLoginError(err error, c fyne.Canvas) {
	s.showError(errorText(s.tr, err), errorCode(err))
	var focus fyne.Focusable
	switch apiCode(err) {
	case api.CodeOTPRequired:
		s.showOTP()
		s.code.Hide() // not an error: the next step
		s.msg.set(errorText(s.tr, err), widget.MediumImportance)
		focus = s.otp
	case api.CodeOTPInvalid, api.CodeOTPReplayed:
		s.showOTP()
		s.otp.SetText("")
		focus = s.otp
	case api.CodeInvalidCredentials:
		s.password.SetText("")
		focus = s.password
	case api.CodeAccountLocked, api.CodeDevicePending, api.CodeDeviceRevoked, api.CodeCertificateChange:
		// Nothing to retype: the message says whom to call.
		s.password.SetText("")
	}
	if focus != nil && c != nil {
		c.Focus(focus)
	}
}

func (s *loginScreen) showOTP() {
	s.otpCap.Show()
	s.otp.Show()
}

func apiCode(err error) api.Code {
	if e := apiError(err); e != nil {
		return e.Code
	}
	return ""
}
