package ui

import (
	"image"
	"image/color"
	"image/draw"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
	"github.com/boombuler/barcode/qr"

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
	s.qr = canvas.NewImageFromImage(qrImage(e.URI, 5))
	s.qr.FillMode = canvas.ImageFillOriginal // whole pixels per module: crisp, easy to scan
	s.qr.ScaleMode = canvas.ImageScalePixels
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

// qrImage draws uri as a QR code with module×module pixels per module and
// the 4-module white quiet zone scanners need, on white even in the dark
// theme. An unencodable URI gives nil (the key below still works).
func qrImage(uri string, module int) image.Image {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil || uri == "" {
		return nil
	}
	n := code.Bounds().Dx()
	side := (n + 8) * module
	img := image.NewGray(image.Rect(0, 0, side, side))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if code.At(code.Bounds().Min.X+x, code.Bounds().Min.Y+y) == color.Black {
				r := image.Rect((x+4)*module, (y+4)*module, (x+5)*module, (y+5)*module)
				draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
			}
		}
	}
	return img
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
