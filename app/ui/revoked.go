package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// revokedClearer is implemented by *core.Client: leave the revoked
// screen once the laptop is wiped (IT handed it back).
type revokedClearer interface{ ClearRevoked() }

// revokedScreen says that IT revoked this laptop, whether its operation
// log has reached IT yet, and what was wiped. It replaces the login: a
// revoked laptop has nobody to sign in as.
type revokedScreen struct {
	root     fyne.CanvasObject
	evidence *message
	wiped    *message
	again    *widget.Button
}

func makeRevoked(tr *i18n.Tr, r core.Revocation, again func(), help func()) *revokedScreen {
	s := &revokedScreen{evidence: newMessage(), wiped: newMessage()}
	title := heading(tr.T(i18n.RevokedTitle))
	title.Importance = widget.DangerImportance
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	body := widget.NewLabel(tr.T(i18n.RevokedBody))
	body.Wrapping = fyne.TextWrapWord
	todo := widget.NewLabel(tr.T(i18n.RevokedWhatToDo))
	todo.Wrapping = fyne.TextWrapWord
	todo.TextStyle.Bold = true
	seen := caption("")
	if !r.At.IsZero() {
		seen.SetText(tr.T(i18n.RevokedSince, r.At.Local().Format("2006-01-02 15:04")))
	}
	code := caption(tr.T(i18n.ErrorCode, api.CodeDeviceRevoked))
	s.again = widget.NewButton(tr.T(i18n.RevokedEnrollAgain), again)
	helpBtn := widget.NewButtonWithIcon(tr.T(i18n.Help), theme.HelpIcon(), help)
	s.root = page(icon, title, body, s.evidence.Label, s.wiped.Label, todo, seen, code, s.again, helpBtn)
	s.update(tr, r)
	return s
}

func (s *revokedScreen) update(tr *i18n.Tr, r core.Revocation) {
	if r.EvidenceSent {
		s.evidence.set(tr.T(i18n.RevokedSent), widget.SuccessImportance)
	} else {
		s.evidence.set(tr.T(i18n.RevokedSending), widget.WarningImportance)
	}
	if r.Wiped {
		s.wiped.set(tr.T(i18n.RevokedWiped), widget.MediumImportance)
		s.again.Show()
	} else {
		s.wiped.clear()
		s.again.Hide()
	}
}

// showRevoked shows (or refreshes) the revoked screen.
func (u *UI) showRevoked(r core.Revocation) {
	// One line per step, as for the phases: the help desk and tests read it.
	u.log.Info("revoked screen", "evidence_sent", r.EvidenceSent, "wiped", r.Wiped)
	if u.screen == scrRevoked && u.revoked != nil {
		u.revoked.update(u.tr, r)
		return
	}
	u.hideChat()
	u.revoked = makeRevoked(u.tr, r, func() {
		if c, ok := u.client.(revokedClearer); ok {
			c.ClearRevoked()
		}
	}, u.showAbout)
	u.setContent(scrRevoked, u.revoked.root)
}
