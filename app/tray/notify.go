package tray

import (
	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
)

// Notices returns the desktop notifications due on the step from prev to
// next: the queued slot was granted, the office PC failed to wake, a session
// ended for a reason other than the user's own click, or a new warning.
func Notices(prev, next core.State, tr *i18n.Tr) []*fyne.Notification {
	var out []*fyne.Notification
	if prev.Phase == core.Queued && next.Phase > core.Queued && next.Phase <= core.Connected {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyGrantedTitle), tr.T(i18n.NotifyGrantedBody)))
	}
	wakeFailed := next.Wake == core.WakeFailed && prev.Wake != core.WakeFailed
	if !wakeFailed && prev.Phase == core.Waking && next.Phase == core.Failed {
		wakeFailed = true
	}
	if wakeFailed {
		body := tr.T(i18n.StatusWakeFailed)
		if next.Err != nil {
			body = next.Err.Localized(tr.Lang())
		}
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyWakeTitle), body))
	}
	if (prev.Phase == core.Connected || prev.Phase == core.Ending) && next.Phase == core.Ready &&
		next.EndReason != "" && next.EndReason != "user" {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyEndedTitle), EndReason(next.EndReason, tr)))
	}
	if next.Warning != "" && next.Warning != prev.Warning {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyWarnTitle), next.Warning))
	}
	return out
}

// EndReason explains why a session ended.
func EndReason(reason string, tr *i18n.Tr) string {
	switch reason {
	case "user":
		return tr.T(i18n.EndUser)
	case "idle":
		return tr.T(i18n.EndIdle)
	case "max_length":
		return tr.T(i18n.EndMaxLength)
	case "admin":
		return tr.T(i18n.EndAdmin)
	case "lease":
		return tr.T(i18n.EndLease)
	}
	return tr.T(i18n.EndOther)
}
