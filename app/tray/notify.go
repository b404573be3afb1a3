package tray

import (
	"unicode/utf8"

	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
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
		next.EndReason != "" && !next.EndReason.ByUser() {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyEndedTitle), EndReason(next.EndReason, tr)))
	}
	if next.Warning.Active() && !next.Warning.Same(prev.Warning) {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyWarnTitle), Warning(next.Warning, tr)))
	}
	out = append(out, bcpNotices(prev, next, tr)...)
	if prev.Revoked == nil && next.Revoked != nil {
		out = append(out, fyne.NewNotification(tr.T(i18n.NotifyRevokedTitle), tr.T(i18n.RevokedBody)))
	}
	return out
}

// bcpNotices announces BCP mode switched on or off. IT's reason is shown
// as written. A sign-in while it is on counts as its start: the user
// learns of it then.
func bcpNotices(prev, next core.State, tr *i18n.Tr) []*fyne.Notification {
	switch {
	case prev.BCP == nil && next.BCP != nil:
		return []*fyne.Notification{fyne.NewNotification(tr.T(i18n.NotifyBCPOnTitle), tr.T(i18n.NotifyBCPOnBody, next.BCP.Reason))}
	case prev.BCP != nil && next.BCP == nil && next.Phase != core.SignedOut:
		return []*fyne.Notification{fyne.NewNotification(tr.T(i18n.NotifyBCPOff), tr.T(i18n.NotifyBCPOffBody))}
	}
	return nil
}

// BCPLine is the home screen's line while BCP mode is on ("" when off).
func BCPLine(st core.State, tr *i18n.Tr) string {
	switch {
	case st.BCP == nil:
		return ""
	case st.BCP.Reason == "":
		return tr.T(i18n.HomeBCPNoReason)
	}
	return tr.T(i18n.HomeBCP, st.BCP.Reason)
}

// Warning says when and why the broker will end the session, in tr's
// language at the moment of drawing (core keeps only the reason and time).
func Warning(w core.EndWarning, tr *i18n.Tr) string {
	at := i18n.TimeOfDay(w.EndsAt)
	switch w.Reason {
	case api.EndIdle:
		return tr.T(i18n.WarnIdle, at)
	case api.EndHours:
		return tr.T(i18n.WarnHours, at)
	}
	return tr.T(i18n.WarnMaxLength, at)
}

// EndReason explains why a session ended. Every reason is a normal end:
// failures come as State.Err.
func EndReason(reason core.EndReason, tr *i18n.Tr) string {
	switch reason {
	case core.EndUser:
		return tr.T(i18n.EndUser)
	case core.EndIdle:
		return tr.T(i18n.EndIdle)
	case core.EndMaxLength:
		return tr.T(i18n.EndMaxLength)
	case core.EndAdmin:
		return tr.T(i18n.EndAdmin)
	case core.EndLease:
		return tr.T(i18n.EndLease)
	case core.EndSignInEnded:
		return tr.T(i18n.EndSignInEnded)
	case core.EndHours:
		return tr.T(i18n.EndHours)
	case core.EndClosed:
		return tr.T(i18n.EndClosed)
	case core.EndDisconnected:
		return tr.T(i18n.EndDisconnected)
	case core.EndSignedOut:
		return tr.T(i18n.EndSignedOut)
	case core.EndByTerminal:
		return tr.T(i18n.EndByTerminal)
	case core.EndNetwork:
		return tr.T(i18n.EndNetwork)
	}
	return tr.T(i18n.EndOther)
}

// noticeChars bounds the text a chat notification shows: a notification
// is a pointer to the conversation, not the place to read it.
const noticeChars = 80

// ChatNotice words a chat notice: who wrote, where when it is a mention,
// and the start of the text.
func ChatNotice(n chat.Notice, tr *i18n.Tr) *fyne.Notification {
	title := tr.T(i18n.NotifyChatDirect, n.SenderName)
	if n.Mention && !n.Direct {
		title = tr.T(i18n.NotifyChatMention, n.SenderName, n.ChannelName)
	}
	body := n.Text
	if utf8.RuneCountInString(body) > noticeChars {
		body = string([]rune(body)[:noticeChars]) + "…"
	}
	return fyne.NewNotification(title, body)
}
