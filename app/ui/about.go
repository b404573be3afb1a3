package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/icons"
)

type aboutView struct {
	Version string
	Broker  string
	Device  string
}

type aboutActions struct {
	CopyDiagnostics func()
	Back            func()
}

type aboutScreen struct {
	root fyne.CanvasObject
	msg  *message
}

// makeAbout shows what the help desk asks first (version, broker, laptop)
// and copies the diagnostics text for them.
func makeAbout(tr *i18n.Tr, v aboutView, actions aboutActions) *aboutScreen {
	s := &aboutScreen{msg: newMessage()}
	logo := canvas.NewImageFromResource(icons.App)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(64))
	notYet := tr.T(i18n.AboutNotYet)
	form := widget.NewForm(
		widget.NewFormItem(tr.T(i18n.AboutVersion), widget.NewLabel(v.Version)),
		widget.NewFormItem(tr.T(i18n.AboutBroker), wrapped(v.Broker)),
		widget.NewFormItem(tr.T(i18n.AboutDevice), widget.NewLabel(v.Device)),
		widget.NewFormItem(tr.T(i18n.AboutUpdate), widget.NewLabel(notYet)),
		widget.NewFormItem(tr.T(i18n.AboutLogUpload), widget.NewLabel(notYet)),
	)
	copyBtn := widget.NewButton(tr.T(i18n.AboutCopyDiag), func() {
		actions.CopyDiagnostics()
		s.msg.set(tr.T(i18n.AboutCopied), widget.SuccessImportance)
	})
	copyBtn.Importance = widget.HighImportance
	s.root = page(
		container.NewBorder(nil, nil, widget.NewButton(tr.T(i18n.Back), actions.Back), nil, heading(tr.T(i18n.AboutTitle))),
		container.NewHBox(logo, heading(tr.T(i18n.AppName))),
		form,
		widget.NewSeparator(),
		para(tr.T(i18n.AboutHelpText)),
		tall(copyBtn, 48),
		s.msg.Label,
	)
	return s
}

func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapBreak
	return l
}
