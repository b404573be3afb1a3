package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/app/update"
)

// Updates is the app's self-update as the faces see it (*update.Agent).
type Updates interface {
	// Subscribe calls fn with the current status at once and after each
	// change, from any goroutine.
	Subscribe(fn func(update.Status)) (cancel func())
}

var _ Updates = (*update.Agent)(nil)

// updateBar is the self-update's line on the home screen: the
// download's progress, the restart offer (never during a session: it
// would end it), a refusal in words, or a rollback at this start.
type updateBar struct {
	root    *widget.Card
	text    *widget.Label
	restart *widget.Button
	later   *widget.Button
}

func makeUpdateBar(tr *i18n.Tr, restart, later func()) *updateBar {
	b := &updateBar{text: widget.NewLabel("")}
	b.text.Wrapping = fyne.TextWrapWord
	b.restart = widget.NewButtonWithIcon(tr.T(i18n.UpdateRestart), theme.ViewRefreshIcon(), restart)
	b.restart.Importance = widget.HighImportance
	b.later = widget.NewButton(tr.T(i18n.UpdateLater), later)
	b.root = widget.NewCard("", "", container.NewVBox(b.text, container.NewHBox(b.restart, b.later)))
	b.root.Hide()
	return b
}

// show draws u for the session state st; dismissed: "Later" was pressed
// for this version.
func (b *updateBar) show(tr *i18n.Tr, u update.Status, st core.State, dismissed bool) {
	text := tray.UpdateText(u, st, tr)
	offer := tray.UpdateOffered(u, st)
	if text == "" || (offer && dismissed && !u.Required) {
		b.root.Hide()
		return
	}
	b.text.SetText(text)
	switch {
	case u.Phase == update.PhaseRefused || u.RolledBack != "" && u.Phase != update.PhaseReady && u.Phase != update.PhaseDownloading:
		b.text.Importance = widget.WarningImportance
	case u.Required:
		b.text.Importance = widget.DangerImportance
	default:
		b.text.Importance = widget.MediumImportance
	}
	b.text.Refresh()
	setVisible(b.restart, offer)
	setVisible(b.later, offer && !u.Required)
	b.root.Show()
}

func setVisible(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// onUpdate takes one self-update snapshot: a notice when a version
// becomes ready, the home screen's line and the tray.
func (u *UI) onUpdate(s update.Status) {
	prev := u.upd
	u.upd = s
	if s.Phase == update.PhaseReady && (prev.Phase != update.PhaseReady || prev.Target != s.Target) &&
		u.prefs.BoolWithFallback(prefNotify, true) {
		u.app.SendNotification(tray.UpdateNotice(s, u.st, u.tr))
	}
	u.log.Info("update", "phase", s.Phase.String(), "target", s.Target, "reason", string(s.Reason))
	u.showUpdate()
	u.updateTray()
}

// showUpdate draws the update line on the screen that has one.
func (u *UI) showUpdate() {
	switch later := u.updLater == u.upd.Target; {
	case u.screen == scrHome && u.home != nil:
		u.home.setUpdate(u.upd, u.st, later)
	case u.screen == scrLogin && u.login != nil:
		u.login.upd.show(u.tr, u.upd, u.st, later)
	}
}

// updateLater puts the restart offer away until another version comes.
func (u *UI) updateLater() {
	u.updLater = u.upd.Target
	u.showUpdate()
}

// restartForUpdate ends the app so that main starts the new binary. It
// refuses while a session or connection attempt runs.
func (u *UI) restartForUpdate() {
	if !tray.UpdateOffered(u.upd, u.st) || u.opt.Restart == nil {
		return
	}
	u.log.Info("restarting into the new version", "target", u.upd.Target)
	u.opt.Restart()
	u.quit()
}
