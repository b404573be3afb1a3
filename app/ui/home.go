package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
)

type homeActions struct {
	Connect    func()
	Disconnect func() // also cancels a queued or waking attempt
	Settings   func()
	Help       func()
	Chat       func() // nil: the app has no chat
	Restart    func() // restart into the new version
	Later      func() // put the restart offer away for this version
	Telework   func() // nil: the client has no telework
	Meetings   func() // nil: the client has no meetings
	StartWork  func(place string)
	EndWork    func()
}

// homeScreen is the morning screen: the office PC, free slots, one large
// button that walks the main job, and the stage it is at.
type homeScreen struct {
	root          fyne.CanvasObject
	tr            *i18n.Tr
	user          *widget.Label
	chat          *widget.Button // nil without chat
	telework      *widget.Button // nil without telework
	meetings      *widget.Button // nil without meetings
	work          *workLine
	offline       *message
	bcp           *message // BCP mode's line, while it is on
	terminalName  *widget.Label
	terminalState *widget.Label
	terminalSeen  *widget.Label
	slots         *widget.Label
	stages        [5]*stageView
	status        *widget.Label
	elapsed       *widget.Label
	button        *widget.Button
	errCode       *widget.Label
	ended         *widget.Label
	warning       *message
	upd           *updateBar
	updBlocks     bool // a required update is ready: Connect waits for the restart
	st            core.State
	actions       homeActions
	onButton      func()
}

// stageView is one step of the main job: an icon (done / current / to do)
// and its name.
type stageView struct {
	icon  *widget.Icon
	label *widget.Label
	box   fyne.CanvasObject
}

var stageKeys = [5]i18n.Key{i18n.StageRequest, i18n.StageQueue, i18n.StageWake, i18n.StageConnect, i18n.StageConnected}

func makeHome(tr *i18n.Tr, st core.State, now time.Time, actions homeActions) *homeScreen {
	h := &homeScreen{tr: tr, actions: actions}
	h.user = widget.NewLabel("")
	h.user.TextStyle.Bold = true
	h.user.Truncation = fyne.TextTruncateEllipsis
	settings := widget.NewButtonWithIcon(tr.T(i18n.Settings), theme.SettingsIcon(), actions.Settings)
	help := widget.NewButtonWithIcon(tr.T(i18n.Help), theme.HelpIcon(), actions.Help)
	buttons := container.NewHBox(settings, help)
	if actions.Chat != nil {
		h.chat = widget.NewButtonWithIcon(tr.T(i18n.ChatOpen), theme.MailComposeIcon(), actions.Chat)
		buttons.Objects = append([]fyne.CanvasObject{h.chat}, buttons.Objects...)
	}
	if actions.Meetings != nil {
		h.meetings = widget.NewButtonWithIcon(tr.T(i18n.MeetOpen), theme.MediaVideoIcon(), actions.Meetings)
		buttons.Objects = append([]fyne.CanvasObject{h.meetings}, buttons.Objects...)
	}
	if actions.Telework != nil {
		h.telework = widget.NewButtonWithIcon(tr.T(i18n.TwOpen), theme.CalendarIcon(), actions.Telework)
	}
	h.work = makeWorkLine(tr, h.telework, actions.StartWork, actions.EndWork)
	top := container.NewBorder(nil, nil, nil, buttons, h.user)

	h.offline = newMessage()
	h.bcp = newMessage()
	h.terminalName = widget.NewLabel("")
	h.terminalName.SizeName = theme.SizeNameSubHeadingText
	h.terminalName.TextStyle.Bold = true
	h.terminalState = widget.NewLabel("")
	h.terminalSeen = widget.NewLabel("")
	h.terminalSeen.Importance = widget.LowImportance
	h.slots = widget.NewLabel("")
	h.slots.Alignment = fyne.TextAlignTrailing
	pcTitle := widget.NewLabel(tr.T(i18n.HomeTerminal))
	pcCard := widget.NewCard("", "", container.NewVBox(
		container.NewBorder(nil, nil, nil, h.slots, pcTitle),
		container.NewHBox(h.terminalName, h.terminalState, h.terminalSeen)))

	row := container.NewGridWithColumns(len(h.stages))
	for i := range h.stages {
		sv := &stageView{icon: widget.NewIcon(theme.RadioButtonIcon()), label: widget.NewLabel(tr.T(stageKeys[i]))}
		sv.label.Alignment = fyne.TextAlignCenter
		sv.label.Truncation = fyne.TextTruncateEllipsis
		sv.box = container.NewVBox(sv.icon, sv.label)
		h.stages[i] = sv
		row.Add(sv.box)
	}

	h.status = widget.NewLabel("")
	h.status.Wrapping = fyne.TextWrapWord
	h.status.SizeName = theme.SizeNameSubHeadingText
	h.elapsed = widget.NewLabel("")
	h.elapsed.SizeName = theme.SizeNameHeadingText
	h.elapsed.TextStyle = fyne.TextStyle{Bold: true}
	h.elapsed.Alignment = fyne.TextAlignCenter
	h.elapsed.Hide()
	h.button = widget.NewButton("", func() {
		if h.onButton != nil {
			h.onButton()
		}
	})
	h.errCode = widget.NewLabel("")
	h.errCode.Importance = widget.LowImportance
	h.ended = widget.NewLabel("")
	h.ended.Importance = widget.MediumImportance // it says what happened and what to do: readable, not faint
	h.ended.Wrapping = fyne.TextWrapWord
	h.warning = newMessage()
	h.upd = makeUpdateBar(tr, actions.Restart, actions.Later)

	h.root = container.NewBorder(
		container.NewVBox(container.NewPadded(top), widget.NewSeparator()), nil, nil, nil,
		page(h.offline.Label, h.bcp.Label, h.upd.root, pcCard, h.work.root, row, h.status, h.elapsed, h.warning.Label,
			tall(h.button, 72), h.errCode, h.ended),
	)
	h.update(st, now)
	return h
}

// setUnread shows chat's unread count on its button.
func (h *homeScreen) setUnread(n int) {
	if h.chat == nil {
		return
	}
	text := h.tr.T(i18n.ChatOpen)
	h.chat.Importance = widget.MediumImportance
	if n > 0 {
		text = h.tr.T(i18n.ChatOpenUnread, n)
		h.chat.Importance = widget.HighImportance
	}
	h.chat.SetText(text)
	h.chat.Refresh()
}

// setUpdate shows the self-update's state; dismissed: "Later" was
// pressed for this version.
func (h *homeScreen) setUpdate(u update.Status, st core.State, dismissed bool) {
	h.upd.show(h.tr, u, st, dismissed)
	blocks := u.Phase == update.PhaseReady && u.Required
	if blocks != h.updBlocks {
		h.updBlocks = blocks
		h.updateButton(h.st)
	}
}

// stageIndex maps a phase to the stage being worked on (-1: none).
func stageIndex(p core.Phase) int {
	switch p {
	case core.Requesting:
		return 0
	case core.Queued:
		return 1
	case core.Waking:
		return 2
	case core.Connecting:
		return 3
	case core.Connected, core.Ending:
		return 4
	}
	return -1
}

// update shows st; now is for the elapsed time. UI thread only.
func (h *homeScreen) update(st core.State, now time.Time) {
	h.st = st
	tr := h.tr
	if st.User != nil {
		h.user.SetText(tr.T(i18n.HomeGreeting, st.User.Name, st.User.Department))
	}
	if st.Online {
		h.offline.clear()
	} else {
		h.offline.set(tr.T(i18n.StatusOffline), widget.WarningImportance)
	}
	h.bcp.set(tray.BCPLine(st, tr), widget.HighImportance)
	if st.Terminal != nil {
		h.terminalName.SetText(st.Terminal.Name)
		h.terminalState.SetText(terminalStateText(tr, st.Terminal.State))
		h.terminalState.Importance = terminalImportance(st.Terminal.State)
		h.terminalState.Refresh()
		setShown(h.terminalSeen, seenText(tr, st.Terminal.SeenAt, now))
	} else {
		setShown(h.terminalSeen, "")
		h.terminalName.SetText(tr.T(i18n.TerminalNone)) // the status line below says what to do
		h.terminalState.SetText("")
		h.terminalState.Importance = widget.WarningImportance
		h.terminalState.Refresh()
	}
	if st.SlotsCap > 0 {
		h.slots.SetText(tr.T(i18n.HomeSlots, st.SlotsFree, st.SlotsCap))
	} else {
		h.slots.SetText(tr.T(i18n.HomeSlotsUnknown))
	}

	cur := stageIndex(st.Phase)
	for i, sv := range h.stages {
		switch {
		case cur < 0 || i > cur:
			sv.icon.SetResource(theme.RadioButtonIcon())
			sv.label.Importance = widget.MediumImportance
			sv.label.TextStyle.Bold = false
		case i < cur || st.Phase == core.Connected:
			sv.icon.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
			sv.label.Importance = widget.SuccessImportance
			sv.label.TextStyle.Bold = i == cur
		default:
			sv.icon.SetResource(theme.NewPrimaryThemedResource(theme.MediaPlayIcon()))
			sv.label.Importance = widget.HighImportance
			sv.label.TextStyle.Bold = true
		}
		sv.label.Refresh()
	}

	h.status.SetText(statusText(tr, st))
	h.status.Importance = widget.MediumImportance
	if st.Phase == core.Failed {
		h.status.Importance = widget.DangerImportance
	}
	h.status.Refresh()
	if st.Phase == core.Failed && st.Err != nil {
		h.errCode.SetText(tr.T(i18n.ErrorCode, st.Err.Code))
		h.errCode.Show()
	} else {
		h.errCode.Hide()
	}
	if st.Phase == core.Ready && st.EndReason != "" {
		h.ended.SetText(tr.T(i18n.EndedPrefix, tray.EndReason(st.EndReason, tr)))
		h.ended.Show()
	} else {
		h.ended.Hide()
	}
	switch {
	case st.Warning.Active():
		h.warning.set(tray.Warning(st.Warning, tr), widget.WarningImportance)
	case st.Phase == core.Ready && st.EndMessage != "":
		h.warning.set(tr.T(i18n.EndITMessage, st.EndMessage), widget.WarningImportance)
	default:
		h.warning.clear()
	}
	h.updateButton(st)
	h.work.update(tr, st)
	if h.telework != nil {
		text, imp := tr.T(i18n.TwOpen), widget.MediumImportance
		if tw := st.Telework; tw != nil && len(tw.Approvals) > 0 {
			text, imp = tr.T(i18n.TwOpenPending, len(tw.Approvals)), widget.HighImportance
		}
		if h.telework.Text != text || h.telework.Importance != imp {
			h.telework.SetText(text)
			h.telework.Importance = imp
			h.telework.Refresh()
		}
	}
	h.tick(now)
}

func (h *homeScreen) updateButton(st core.State) {
	b := h.button
	b.Enable()
	switch {
	case st.Phase == core.Connected:
		b.SetText(h.tr.T(i18n.BtnDisconnect))
		b.SetIcon(theme.CancelIcon())
		b.Importance = widget.DangerImportance
		h.onButton = h.actions.Disconnect
	case st.Phase == core.Ending:
		b.SetText(h.tr.T(i18n.BtnEnding))
		b.SetIcon(nil)
		b.Importance = widget.MediumImportance
		b.Disable()
		h.onButton = nil
	case st.Phase.Busy():
		b.SetText(h.tr.T(i18n.BtnCancel))
		b.SetIcon(theme.CancelIcon())
		b.Importance = widget.WarningImportance
		h.onButton = h.actions.Disconnect
	default: // Ready, Failed
		key := i18n.BtnConnect
		if st.Phase == core.Failed {
			key = i18n.BtnRetry
		}
		b.SetIcon(theme.ComputerIcon())
		b.Importance = widget.HighImportance
		h.onButton = h.actions.Connect
		switch {
		case !st.Online:
			key = i18n.BtnOffline
			b.Disable()
		case st.Terminal == nil, h.updBlocks:
			b.Disable()
		}
		b.SetText(h.tr.T(key))
	}
	b.Refresh()
}

// tick refreshes the elapsed time; the controller calls it every second
// while connected.
func (h *homeScreen) tick(now time.Time) {
	if h.st.Phase != core.Connected || h.st.Since.IsZero() {
		h.elapsed.Hide()
		return
	}
	h.elapsed.SetText(h.tr.T(i18n.StatusElapsed, i18n.Clock(now.Sub(h.st.Since))))
	h.elapsed.Show()
}

func terminalStateText(tr *i18n.Tr, s core.TerminalState) string {
	switch s {
	case core.TerminalAsleep:
		return tr.T(i18n.TerminalAsleep)
	case core.TerminalAwake:
		return tr.T(i18n.TerminalAwake)
	case core.TerminalInUse:
		return tr.T(i18n.TerminalInUse)
	}
	return tr.T(i18n.TerminalUnknown)
}

// setShown sets l's text and hides it when there is none, so that an
// empty label takes no room.
func setShown(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// seenText says when the office PC last answered: the time today, the
// date and time before.
func seenText(tr *i18n.Tr, at, now time.Time) string {
	if at.IsZero() {
		return ""
	}
	at, now = at.Local(), now.Local()
	if y, m, d := at.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return tr.T(i18n.TerminalSeen, i18n.TimeOfDay(at))
	}
	return tr.T(i18n.TerminalSeen, at.Format(tr.T(i18n.AboutTimeLayout)))
}

func terminalImportance(s core.TerminalState) widget.Importance {
	switch s {
	case core.TerminalAwake:
		return widget.SuccessImportance
	case core.TerminalInUse:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

// statusText says where the main job stands and, on failure, what to do.
func statusText(tr *i18n.Tr, st core.State) string {
	switch st.Phase {
	case core.SignedOut:
		return tr.T(i18n.StatusSignedOut)
	case core.Requesting:
		return tr.T(i18n.StatusRequesting)
	case core.Queued:
		if st.QueueETA > 0 {
			return tr.T(i18n.StatusQueuedETA, st.Queue, i18n.Minutes(st.QueueETA))
		}
		return tr.T(i18n.StatusQueued, st.Queue)
	case core.Waking:
		switch st.Wake {
		case core.WakeSending:
			return tr.T(i18n.StatusWakeSend)
		case core.WakeWaiting:
			return tr.T(i18n.StatusWakeWait)
		case core.WakeReady:
			return tr.T(i18n.StatusWakeReady)
		case core.WakeFailed:
			return tr.T(i18n.StatusWakeFailed)
		}
		return tr.T(i18n.StatusWakeCheck)
	case core.Connecting:
		return tr.T(i18n.StatusConnecting)
	case core.Connected:
		return tr.T(i18n.StatusConnected) + "\n" + tr.T(i18n.HomeConnectedHint)
	case core.Ending:
		return tr.T(i18n.StatusEnding)
	case core.Failed:
		if st.Err != nil {
			return st.Err.Localized(tr.Lang())
		}
		return tr.T(i18n.StatusFailed) + " " + api.Err(api.CodeInternal).Localized(tr.Lang())
	}
	if !st.Online {
		return tr.T(i18n.StatusWaitOnline) // the banner above says what happened
	}
	if st.Terminal == nil {
		return tr.T(i18n.HomeNoTerminal)
	}
	return tr.T(i18n.StatusReady)
}
