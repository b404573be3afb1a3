package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/icons"
)

// minHeight is a layout that gives its objects at least h of height and the
// full width: the main button must be easy to hit on a small laptop.
type minHeight struct{ h float32 }

func (m minHeight) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (m minHeight) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := fyne.NewSize(0, m.h)
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

func tall(o fyne.CanvasObject, h float32) fyne.CanvasObject {
	return container.New(minHeight{h}, o)
}

// heading is a screen title.
func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	return l
}

// para is wrapped body text.
func para(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// message is a status/error line that hides itself when empty.
type message struct {
	*widget.Label
}

func newMessage() *message {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return &message{l}
}

// set shows text with importance (widget.DangerImportance for errors).
func (m *message) set(text string, imp widget.Importance) {
	m.Importance = imp
	m.SetText(text)
	if text == "" {
		m.Hide()
	} else {
		m.Show()
	}
}

func (m *message) clear() { m.set("", widget.MediumImportance) }

// page centres a form of readable width in the window, scrolling if the
// window is small.
func page(objs ...fyne.CanvasObject) fyne.CanvasObject {
	body := container.NewVBox(objs...)
	return container.NewVScroll(container.NewPadded(container.New(&maxWidth{w: 560}, body)))
}

// maxWidth centres its single child and caps its width, so forms do not
// stretch across a maximised window.
type maxWidth struct{ w float32 }

func (m *maxWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := size.Width
	if w > m.w {
		w = m.w
	}
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, size.Height))
		o.Move(fyne.NewPos((size.Width-w)/2, 0))
	}
}

func (m *maxWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

// caption labels the field below it.
func caption(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.TextStyle.Bold = true
	return l
}

// brandBar is the top bar of the signed-out screens: the app icon and name,
// and Settings (language!) and Help, which staff need before signing in.
func brandBar(tr *i18n.Tr, settings, help func()) fyne.CanvasObject {
	logo := canvas.NewImageFromResource(icons.App)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(32))
	name := widget.NewLabel(tr.T(i18n.AppName))
	name.TextStyle.Bold = true
	var buttons []fyne.CanvasObject
	if settings != nil {
		buttons = append(buttons, widget.NewButtonWithIcon(tr.T(i18n.Settings), theme.SettingsIcon(), settings))
	}
	if help != nil {
		buttons = append(buttons, widget.NewButtonWithIcon(tr.T(i18n.Help), theme.HelpIcon(), help))
	}
	bar := container.NewBorder(nil, nil, container.NewHBox(logo, name), container.NewHBox(buttons...))
	return container.NewVBox(container.NewPadded(bar), widget.NewSeparator())
}
