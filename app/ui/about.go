package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/icons"
)

type aboutView struct {
	Version string
	Broker  string
	Device  string
	Log     func() oplog.Status // nil: not wired (the row says so)
}

type aboutActions struct {
	CopyDiagnostics func()
	Back            func()
}

type aboutScreen struct {
	root fyne.CanvasObject
	msg  *message
	tr   *i18n.Tr
	v    aboutView
	log  *widget.Label
}

// makeAbout shows what the help desk asks first (version, broker, laptop)
// and copies the diagnostics text for them.
func makeAbout(tr *i18n.Tr, v aboutView, actions aboutActions) *aboutScreen {
	s := &aboutScreen{msg: newMessage(), tr: tr, v: v, log: wrapped("")}
	s.refresh()
	logo := canvas.NewImageFromResource(icons.App)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(64))
	notYet := tr.T(i18n.AboutNotYet)
	form := widget.NewForm(
		widget.NewFormItem(tr.T(i18n.AboutVersion), widget.NewLabel(v.Version)),
		widget.NewFormItem(tr.T(i18n.AboutBroker), wrapped(v.Broker)),
		widget.NewFormItem(tr.T(i18n.AboutDevice), widget.NewLabel(v.Device)),
		widget.NewFormItem(tr.T(i18n.AboutUpdate), widget.NewLabel(notYet)),
		widget.NewFormItem(tr.T(i18n.AboutLogUpload), s.log),
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

// refresh rereads the upload state (the UI calls it every second while
// the screen shows, so a user waiting for "all sent" sees it happen).
func (s *aboutScreen) refresh() {
	text := s.tr.T(i18n.AboutNotYet)
	if s.v.Log != nil {
		text = logStatusText(s.tr, s.v.Log())
	}
	if s.log.Text != text {
		s.log.SetText(text)
	}
}

// logStatusText words the upload state; a store filling up matters more
// than the count, so it comes first.
func logStatusText(tr *i18n.Tr, st oplog.Status) string {
	var lines []string
	switch {
	case st.Full:
		lines = append(lines, tr.T(i18n.AboutLogFull))
	case st.NearFull:
		lines = append(lines, tr.T(i18n.AboutLogFilling, st.FillPercent))
	}
	switch {
	case st.Pending == 0 && st.LastUpload.IsZero():
		lines = append(lines, tr.T(i18n.AboutLogNone))
	case st.Pending == 0:
		lines = append(lines, tr.T(i18n.AboutLogAllSent, st.LastUpload.Local().Format(tr.T(i18n.AboutTimeLayout))))
	case !st.Uploading:
		lines = append(lines, tr.T(i18n.AboutLogSignedOut, st.Pending))
	case st.LastError != "":
		lines = append(lines, tr.T(i18n.AboutLogFailing, st.Pending))
	default:
		lines = append(lines, tr.T(i18n.AboutLogPending, st.Pending))
	}
	return strings.Join(lines, "\n")
}

func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapBreak
	return l
}
