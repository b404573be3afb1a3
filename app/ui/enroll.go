package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
	"github.com/pquerna/otp"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

type enrollActions struct {
	Submit func(code string)
	Cancel func()
}

// enrollScreen sets up the authenticator app when the account has no
// one-time code yet: a QR code of the otpauth URI, the key for typing in,
// and a first code to prove it works.
type enrollScreen struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	qr      *canvas.Image
	key     *widget.Label
	code    *widget.Entry
	submit  *widget.Button
	msg     *message
	actions enrollActions
}

func makeEnroll(tr *i18n.Tr, e *api.TOTPEnrollment, actions enrollActions) *enrollScreen {
	s := &enrollScreen{tr: tr, actions: actions}
	s.qr = canvas.NewImageFromImage(nil)
	s.qr.FillMode = canvas.ImageFillContain
	s.qr.ScaleMode = canvas.ImageScalePixels // crisp modules, easier to scan
	s.qr.SetMinSize(fyne.NewSquareSize(220))
	if k, err := otp.NewKeyFromURL(e.URI); err == nil {
		if img, err := k.Image(220, 220); err == nil {
			s.qr.Image = img
		}
	}
	s.key = widget.NewLabel(groupKey(e.Secret))
	s.key.TextStyle = fyne.TextStyle{Monospace: true}
	s.key.Wrapping = fyne.TextWrapBreak
	s.key.Selectable = true
	s.code = widget.NewEntry()
	s.code.SetPlaceHolder(tr.T(i18n.LoginOTPHint))
	s.code.OnSubmitted = func(string) { s.onSubmit() }
	s.submit = widget.NewButton(tr.T(i18n.EnrollSubmit), s.onSubmit)
	s.submit.Importance = widget.HighImportance
	s.msg = newMessage()
	back := widget.NewButton(tr.T(i18n.Back), actions.Cancel)
	s.root = page(
		heading(tr.T(i18n.EnrollTitle)),
		para(tr.T(i18n.EnrollStep1)),
		s.qr,
		para(tr.T(i18n.EnrollStep2)),
		s.key,
		para(tr.T(i18n.EnrollStep3)),
		caption(tr.T(i18n.EnrollCode)), s.code,
		s.msg.Label,
		tall(s.submit, 52),
		back,
	)
	return s
}

// groupKey splits a base32 key into groups of four, as authenticator apps
// print it, so it can be read out and typed without losing one's place.
func groupKey(k string) string {
	var parts []string
	for len(k) > 4 {
		parts = append(parts, k[:4])
		k = k[4:]
	}
	return strings.Join(append(parts, k), " ")
}

func (s *enrollScreen) onSubmit() {
	if s.submit.Disabled() {
		return
	}
	c := strings.TrimSpace(s.code.Text)
	if c == "" {
		s.msg.set(s.tr.T(i18n.LoginNeedOTP), widget.DangerImportance)
		return
	}
	s.submit.Disable()
	s.msg.set(s.tr.T(i18n.LoginChecking), widget.MediumImportance)
	s.actions.Submit(c)
}

func (s *enrollScreen) showError(err error) {
	s.submit.Enable()
	s.code.SetText("")
	s.msg.set(errorText(s.tr, err), widget.DangerImportance)
}
