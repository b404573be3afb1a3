package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
)

type settingsView struct {
	Lang          string // "", "ja", "en": "" follows the OS
	Autostart     bool
	AutostartOK   bool // false where platform/autostart is unsupported
	Notify        bool
	SignedIn      bool
	StaffIDAndOrg string // e.g. "山田 太郎 さん（財政課）"; "" when signed out
}

type settingsActions struct {
	SetLang        func(lang string)
	SetAutostart   func(on bool)
	SetNotify      func(on bool)
	ChangePassword func()
	SignOut        func()
	Back           func()
}

type settingsScreen struct {
	root      fyne.CanvasObject
	lang      *widget.RadioGroup
	autostart *widget.Check
	notify    *widget.Check
	msg       *message
}

// langChoices are the radio options in order, with the preference value each
// stands for.
var langChoices = []struct {
	key  i18n.Key
	lang string
}{{i18n.SetLangSystem, ""}, {i18n.SetLangJA, i18n.Japanese}, {i18n.SetLangEN, i18n.English}}

func makeSettings(tr *i18n.Tr, v settingsView, actions settingsActions) *settingsScreen {
	s := &settingsScreen{msg: newMessage()}
	var opts []string
	selected := ""
	for _, c := range langChoices {
		opts = append(opts, tr.T(c.key))
		if c.lang == v.Lang {
			selected = tr.T(c.key)
		}
	}
	s.lang = widget.NewRadioGroup(opts, nil)
	s.lang.Required = true
	s.lang.SetSelected(selected)
	s.lang.OnChanged = func(label string) {
		for _, c := range langChoices {
			if tr.T(c.key) == label {
				actions.SetLang(c.lang)
			}
		}
	}
	s.autostart = widget.NewCheck(tr.T(i18n.SetAutostart), nil)
	s.autostart.SetChecked(v.Autostart)
	s.autostart.OnChanged = actions.SetAutostart
	objs := []fyne.CanvasObject{
		container.NewBorder(nil, nil, widget.NewButton(tr.T(i18n.Back), actions.Back), nil, heading(tr.T(i18n.SetTitle))),
		caption(tr.T(i18n.SetLanguage)), s.lang,
		widget.NewSeparator(),
		s.autostart,
	}
	if !v.AutostartOK {
		s.autostart.Disable()
		na := para(tr.T(i18n.SetAutostartNA))
		na.Importance = widget.LowImportance
		objs = append(objs, na)
	}
	s.notify = widget.NewCheck(tr.T(i18n.SetNotify), nil)
	s.notify.SetChecked(v.Notify)
	s.notify.OnChanged = actions.SetNotify
	objs = append(objs, s.notify)
	if v.SignedIn {
		signOut := widget.NewButton(tr.T(i18n.SetSignOut), actions.SignOut)
		signOut.Importance = widget.DangerImportance
		objs = append(objs, widget.NewSeparator(), caption(tr.T(i18n.SetAccount)))
		if v.StaffIDAndOrg != "" {
			objs = append(objs, widget.NewLabel(v.StaffIDAndOrg))
		}
		objs = append(objs, widget.NewButton(tr.T(i18n.SetChangePw), actions.ChangePassword), signOut)
	}
	objs = append(objs, s.msg.Label)
	s.root = page(objs...)
	return s
}
