package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
)

type passwordView struct {
	Forced bool   // the broker requires a change before anything else
	Rules  string // the broker's password rules, in words
	Old    string // known already when forced right after login; "" asks for it
}

type passwordActions struct {
	Submit func(oldPw, newPw string)
	Back   func()
}

// passwordScreen changes the password: forced after login (first sign-in,
// expiry) or from Settings.
type passwordScreen struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	view    passwordView
	old     *widget.Entry
	newPw   *widget.Entry
	again   *widget.Entry
	submit  *widget.Button
	msg     *message
	actions passwordActions
}

func makePassword(tr *i18n.Tr, v passwordView, actions passwordActions) *passwordScreen {
	s := &passwordScreen{tr: tr, view: v, actions: actions}
	intro := i18n.PwVoluntaryIntro
	if v.Forced {
		intro = i18n.PwForcedIntro
	}
	s.old = widget.NewPasswordEntry()
	s.newPw = widget.NewPasswordEntry()
	s.again = widget.NewPasswordEntry()
	s.again.OnSubmitted = func(string) { s.onSubmit() }
	s.submit = widget.NewButton(tr.T(i18n.PwSubmit), s.onSubmit)
	s.submit.Importance = widget.HighImportance
	s.msg = newMessage()
	objs := []fyne.CanvasObject{heading(tr.T(i18n.PwTitle)), para(tr.T(intro))}
	if v.Old == "" {
		objs = append(objs, caption(tr.T(i18n.PwOld)), s.old)
	}
	objs = append(objs, caption(tr.T(i18n.PwNew)), s.newPw, caption(tr.T(i18n.PwConfirm)), s.again)
	if rules := rulesFor(tr.Lang(), v.Rules); rules != "" {
		objs = append(objs, caption(tr.T(i18n.PwRules)), para(rules))
	}
	objs = append(objs, s.msg.Label, tall(s.submit, 52))
	if actions.Back != nil {
		objs = append(objs, widget.NewButton(tr.T(i18n.Back), actions.Back))
	}
	s.root = page(objs...)
	return s
}

func (s *passwordScreen) onSubmit() {
	if s.submit.Disabled() {
		return
	}
	old := s.view.Old
	if old == "" {
		old = s.old.Text
	}
	if old == "" || s.newPw.Text == "" || s.again.Text == "" {
		s.msg.set(s.tr.T(i18n.PwNeedFields), widget.DangerImportance)
		return
	}
	if s.newPw.Text != s.again.Text {
		s.again.SetText("")
		s.msg.set(s.tr.T(i18n.PwMismatch), widget.DangerImportance)
		return
	}
	s.submit.Disable()
	s.msg.set(s.tr.T(i18n.LoginChecking), widget.MediumImportance)
	s.actions.Submit(old, s.newPw.Text)
}

func (s *passwordScreen) showError(err error) {
	s.submit.Enable()
	s.msg.set(errorText(s.tr, err), widget.DangerImportance)
}

func (s *passwordScreen) done() {
	s.submit.Enable()
	s.old.SetText("")
	s.newPw.SetText("")
	s.again.SetText("")
	s.msg.set(s.tr.T(i18n.PwChanged), widget.SuccessImportance)
}

// rulesFor keeps the lines of the broker's rules text written in lang: the
// broker sends Japanese and English lines together. Lines in neither (or a
// text in one language only) are kept as they are.
func rulesFor(lang, rules string) string {
	var ja, en []string
	for _, l := range strings.Split(strings.TrimSpace(rules), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasSuffix(l, ":") || strings.HasSuffix(l, "：") {
			continue // a heading of its own: the screen has one
		}
		if isASCII(l) {
			en = append(en, l)
		} else {
			ja = append(ja, l)
		}
	}
	pick := ja
	if lang == i18n.English {
		pick = en
	}
	if len(pick) == 0 {
		pick = append(ja, en...)
	}
	return strings.Join(pick, " ")
}

func isASCII(s string) bool {
	for _, r := range s {
		if r > 0x7f {
			return false
		}
	}
	return true
}
