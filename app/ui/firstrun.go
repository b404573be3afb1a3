package ui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
)

type firstRunActions struct {
	Check          func(brokerURL string) // run CheckCertificate off the UI thread, then call showCheck
	Save           func(p Profile)        // profile is complete and the certificate accepted
	Settings, Help func()
	Focus          func(fyne.Focusable) // moves keyboard focus to the next step
}

// firstRunScreen asks for the broker address, shows the broker's key pin
// for the user to compare with IT's (unless IT's preset gave it) and asks
// for a device name.
type firstRunScreen struct {
	root     fyne.CanvasObject
	tr       *i18n.Tr
	preset   Profile
	broker   *widget.Entry
	check    *widget.Button
	fpCap    *widget.Label
	fp       *widget.Label
	fpNote   *message
	confirm  *widget.Check
	device   *widget.Entry
	save     *widget.Button
	msg      *message
	checked  *CertCheck // the last successful check, for the address it was made for
	checkURL string
	actions  firstRunActions
}

func makeFirstRun(tr *i18n.Tr, preset Profile, actions firstRunActions) *firstRunScreen {
	s := &firstRunScreen{tr: tr, preset: preset, actions: actions}
	s.broker = widget.NewEntry()
	s.broker.SetPlaceHolder(tr.T(i18n.FirstBrokerHint))
	s.broker.SetText(preset.BrokerURL)
	s.broker.OnChanged = func(string) { s.invalidate() }
	s.check = widget.NewButton(tr.T(i18n.FirstCheck), s.onCheck)
	s.fp = widget.NewLabel("")
	s.fp.TextStyle.Monospace = true
	s.fp.Wrapping = fyne.TextWrapBreak // a pin has no spaces to wrap at
	s.fp.Hide()
	s.fpCap = caption(tr.T(i18n.FirstFingerprint))
	s.fpCap.Hide()
	s.fpNote = newMessage()
	s.confirm = widget.NewCheck(tr.T(i18n.FirstConfirm), nil)
	s.confirm.Hide()
	s.device = widget.NewEntry()
	s.device.SetText(preset.DeviceName)
	s.msg = newMessage()
	s.save = widget.NewButton(tr.T(i18n.FirstSave), s.onSave)
	s.save.Importance = widget.HighImportance
	hint := para(tr.T(i18n.FirstDeviceHint))
	hint.Importance = widget.LowImportance
	s.root = container.NewBorder(brandBar(tr, actions.Settings, actions.Help), nil, nil, nil, page(
		heading(tr.T(i18n.FirstTitle)),
		para(tr.T(i18n.FirstIntro)),
		caption(tr.T(i18n.FirstBroker)),
		container.NewBorder(nil, nil, nil, s.check, s.broker),
		s.fpCap, s.fp, s.fpNote.Label, s.confirm,
		caption(tr.T(i18n.FirstDevice)), s.device, hint,
		s.msg.Label,
		tall(s.save, 48),
	))
	return s
}

func (s *firstRunScreen) invalidate() {
	s.checked = nil
	s.fp.Hide()
	s.fpCap.Hide()
	s.fpNote.clear()
	s.confirm.SetChecked(false)
	s.confirm.Hide()
}

func (s *firstRunScreen) address() (string, bool) {
	a, err := normalizeBrokerURL(s.broker.Text)
	switch {
	case errors.Is(err, errNoAddress):
		s.msg.set(s.tr.T(i18n.FirstNeedBroker), widget.DangerImportance)
		return "", false
	case err != nil:
		s.msg.set(s.tr.T(i18n.FirstBadAddress), widget.DangerImportance)
		return "", false
	}
	return a, true
}

func (s *firstRunScreen) onCheck() {
	a, ok := s.address()
	if !ok {
		return
	}
	s.invalidate()
	s.checkURL = a
	s.check.Disable()
	s.msg.set(s.tr.T(i18n.FirstChecking), widget.MediumImportance)
	s.actions.Check(a)
}

// showCheck shows the outcome of a certificate check; UI thread only.
func (s *firstRunScreen) showCheck(brokerURL string, c CertCheck, err error) {
	s.check.Enable()
	if brokerURL != s.checkURL {
		return // the address changed while we were checking
	}
	if err != nil {
		s.msg.set(errorText(s.tr, err), widget.DangerImportance)
		return
	}
	s.msg.clear()
	s.checked = &c
	s.fp.SetText(c.Pin)
	s.fp.Show()
	s.fpCap.Show()
	switch {
	case s.preset.Pins != "" && s.preset.hasPin(c.Pin),
		s.preset.Pins == "" && s.preset.Fingerprint != "" && sameFingerprint(s.preset.Fingerprint, c.Fingerprint):
		// IT's value, of either form: the key is pinned on save.
		s.fpNote.set(s.tr.T(i18n.FirstPinned), widget.SuccessImportance)
	case s.preset.Pins != "" || s.preset.Fingerprint != "":
		s.checked = nil // never let a mismatch be confirmed away
		s.fpNote.set(s.tr.T(i18n.FirstMismatch), widget.DangerImportance)
	case c.Trusted:
		s.fpNote.set(s.tr.T(i18n.FirstTrusted), widget.SuccessImportance)
	default:
		s.fpNote.set(s.tr.T(i18n.FirstSelfSigned), widget.WarningImportance)
		s.confirm.Show()
		s.focus(s.confirm)
		return
	}
	s.focus(s.device)
}

func (s *firstRunScreen) focus(f fyne.Focusable) {
	if s.actions.Focus != nil {
		s.actions.Focus(f)
	}
}

func (s *firstRunScreen) onSave() {
	a, ok := s.address()
	if !ok {
		return
	}
	if s.checked == nil || a != s.checkURL {
		s.msg.set(s.tr.T(i18n.FirstNeedCheck), widget.DangerImportance)
		return
	}
	if s.confirm.Visible() && !s.confirm.Checked {
		s.msg.set(s.tr.T(i18n.FirstNeedConfirm), widget.DangerImportance)
		return
	}
	dev := strings.TrimSpace(s.device.Text)
	if dev == "" {
		s.msg.set(s.tr.T(i18n.FirstNeedDevice), widget.DangerImportance)
		return
	}
	p := Profile{BrokerURL: a, DeviceName: dev}
	switch {
	case s.preset.TrustOS && s.checked.Trusted:
		p.TrustOS = true // IT manages this broker's certificate through a real CA
	case s.preset.Pins != "":
		p.Pins = s.preset.Pins // all of IT's pins: the next key's too
	default:
		// Checked by the user, by IT's fingerprint, or by the OS store:
		// from now on the key is what counts, whoever signs its certificate.
		p.Pins = s.checked.Pin
	}
	s.actions.Save(p)
}
