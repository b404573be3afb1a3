package ui

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// chatEntry is the message input: Enter sends, Shift+Enter adds a line
// (Fyne's multi-line entry does the opposite, and staff used to LINE and
// Teams expect Enter to send).
type chatEntry struct {
	widget.Entry
	shift  bool // a Shift key is held (desktop key events)
	onSend func()
}

func newChatEntry() *chatEntry {
	e := &chatEntry{}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	e.SetMinRowsVisible(2)
	return e
}

// KeyDown notes Shift for TypedKey.
func (e *chatEntry) KeyDown(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = true
	}
	e.Entry.KeyDown(k)
}

// KeyUp notes Shift released.
func (e *chatEntry) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		e.shift = false
	}
	e.Entry.KeyUp(k)
}

// TypedKey sends on Enter; with Shift held the entry adds the line itself
// (it has no OnSubmitted, so its Shift+Enter is a newline).
func (e *chatEntry) TypedKey(k *fyne.KeyEvent) {
	if (k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter) && !e.shift {
		if e.onSend != nil {
			e.onSend()
		}
		return
	}
	e.Entry.TypedKey(k)
}

// dayText names a day for the separator: 2026年4月1日（水）, Wednesday, 1 April 2026.
func dayText(tr *i18n.Tr, t time.Time) string {
	t = t.Local()
	s := t.Format(tr.T(i18n.ChatDayLayout))
	names := strings.Split(tr.T(i18n.ChatWeekdays), ",")
	if wd := int(t.Weekday()); len(names) == 7 {
		s = strings.Replace(s, t.Weekday().String()[:3], names[wd], 1)
	}
	return s
}

func sameDay(a, b time.Time) bool {
	a, b = a.Local(), b.Local()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// daySeparator is the line between the messages of two days.
func daySeparator(tr *i18n.Tr, t time.Time) fyne.CanvasObject {
	l := widget.NewLabel(dayText(tr, t))
	l.Alignment = fyne.TextAlignCenter
	l.SizeName = theme.SizeNameCaptionText
	l.TextStyle.Bold = true
	return container.NewBorder(nil, nil, nil, nil, container.NewVBox(widget.NewSeparator(), l))
}

// receiptText is 既読 / 既読 N for one's own message, "" when nobody read
// it yet or receipts are off.
func receiptText(tr *i18n.Tr, m chat.Message, kind string) string {
	if !m.Mine || m.ReadBy <= 0 || m.State != chat.Sent {
		return ""
	}
	if kind == api.ChatDirect {
		return tr.T(i18n.ChatRead)
	}
	return tr.T(i18n.ChatReadN, m.ReadBy)
}

// messageActions are what a message row offers.
type messageActions struct {
	Reply   func(m chat.Message)
	Retry   func(key string)
	Discard func(key string)
	Edit    func(m chat.Message) // one's own, within IT's edit window
	Delete  func(m chat.Message)
}

// messageRow draws one message: name and time, the quote it answers, the
// text, and its state (既読, pending, not sent).
func messageRow(tr *i18n.Tr, m chat.Message, kind string, act messageActions) fyne.CanvasObject {
	name := widget.NewLabel(m.SenderName)
	name.TextStyle.Bold = true
	at := widget.NewLabel(i18n.TimeOfDay(m.At))
	at.SizeName = theme.SizeNameCaptionText
	head := container.NewHBox(name, at)
	var right []fyne.CanvasObject
	if m.State == chat.Sent && !m.Deleted && m.Seq > 0 && act.Reply != nil {
		b := widget.NewButtonWithIcon(tr.T(i18n.ChatReply), theme.MailReplyIcon(), func() { act.Reply(m) })
		b.Importance = widget.LowImportance
		right = append(right, b)
	}
	if m.Editable && m.State == chat.Sent {
		if act.Edit != nil {
			b := widget.NewButtonWithIcon(tr.T(i18n.ChatEdit), theme.DocumentCreateIcon(), func() { act.Edit(m) })
			b.Importance = widget.LowImportance
			right = append(right, b)
		}
		if act.Delete != nil {
			b := widget.NewButtonWithIcon(tr.T(i18n.ChatDelete), theme.DeleteIcon(), func() { act.Delete(m) })
			b.Importance = widget.LowImportance
			right = append(right, b)
		}
	}
	top := container.NewBorder(nil, nil, head, container.NewHBox(right...))

	parts := []fyne.CanvasObject{top}
	if q := m.Quote; q != nil {
		ql := widget.NewLabel(m.QuoteName + ": " + oneLine(q.Text, 60))
		ql.SizeName = theme.SizeNameCaptionText
		ql.TextStyle.Italic = true
		ql.Truncation = fyne.TextTruncateEllipsis
		bar := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
		bar.SetMinSize(fyne.NewSize(3, 0))
		parts = append(parts, container.NewBorder(nil, nil, bar, nil, ql))
	}
	text := m.Text
	if m.Deleted {
		text = tr.T(i18n.ChatDeleted)
	} else if m.Edited {
		text += " " + tr.T(i18n.ChatEdited)
	}
	body := widget.NewLabel(text)
	body.Wrapping = fyne.TextWrapWord
	if m.Deleted {
		body.Importance = widget.LowImportance
	}
	parts = append(parts, body)

	var foot []fyne.CanvasObject
	switch m.State {
	case chat.Pending:
		l := widget.NewLabel(tr.T(i18n.ChatPending))
		l.Importance = widget.WarningImportance
		foot = append(foot, widget.NewIcon(theme.HistoryIcon()), l)
	case chat.Failed:
		msg := tr.T(i18n.ChatFailed)
		if m.Err != nil {
			msg += ": " + m.Err.Localized(tr.Lang())
		}
		l := widget.NewLabel(msg)
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		retry := widget.NewButton(tr.T(i18n.ChatRetry), func() { act.Retry(m.Key) })
		discard := widget.NewButton(tr.T(i18n.ChatDiscard), func() { act.Discard(m.Key) })
		parts = append(parts, l)
		foot = append(foot, retry, discard)
	default:
		if r := receiptText(tr, m, kind); r != "" {
			l := widget.NewLabel(r)
			l.Importance = widget.SuccessImportance
			foot = append(foot, l)
		}
	}
	if len(foot) > 0 {
		parts = append(parts, container.NewHBox(foot...))
	}
	row := container.NewVBox(parts...)
	if m.Mine {
		// One's own messages on a tinted ground, as chat apps do.
		bg := canvas.NewRectangle(ownTint())
		bg.CornerRadius = 6
		return container.NewPadded(container.NewStack(bg, row))
	}
	return container.NewPadded(row)
}

// ownTint is the primary colour, faint.
func ownTint() color.Color {
	r, g, b, _ := theme.Color(theme.ColorNamePrimary).RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x22}
}

// oneLine shortens text to its first line and n characters.
func oneLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + "…"
	}
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// unreadBadge is the count on a channel's line: a filled pill.
func unreadBadge() (*fyne.Container, *canvas.Text) {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameError))
	bg.CornerRadius = 9
	txt := canvas.NewText("", color.White)
	txt.TextStyle.Bold = true
	txt.Alignment = fyne.TextAlignCenter
	txt.TextSize = theme.CaptionTextSize() + 1
	return container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(1, 1, 7, 7), txt)), txt
}

// presenceLabel names a presence state: 会議中, テレワーク中, オンライン,
// 離席中, オフライン ("" when not known).
func presenceLabel(tr *i18n.Tr, state string) string {
	switch state {
	case api.PresenceMeeting:
		return tr.T(i18n.PresenceMeeting)
	case api.PresenceTelework:
		return tr.T(i18n.PresenceTelework)
	case api.PresenceOnline:
		return tr.T(i18n.PresenceOnline)
	case api.PresenceAway:
		return tr.T(i18n.PresenceAway)
	case api.PresenceOffline:
		return tr.T(i18n.PresenceOffline)
	}
	return ""
}

// presenceColor is a state's dot: red in a meeting (busy), the primary
// colour on the office PC, green online, amber away, grey offline.
func presenceColor(state string) color.Color {
	switch state {
	case api.PresenceMeeting:
		return theme.Color(theme.ColorNameError)
	case api.PresenceTelework:
		return theme.Color(theme.ColorNamePrimary)
	case api.PresenceOnline:
		return theme.Color(theme.ColorNameSuccess)
	case api.PresenceAway:
		return theme.Color(theme.ColorNameWarning)
	}
	return theme.Color(theme.ColorNameDisabled)
}

// presenceDot is a small filled circle in the state's colour, hidden
// while the state is not known.
func presenceDot(state string) *fyne.Container {
	c := canvas.NewCircle(presenceColor(state))
	dot := container.NewCenter(container.NewGridWrap(fyne.NewSize(10, 10), c))
	setDot(dot, state)
	return dot
}

func setDot(dot *fyne.Container, state string) {
	c := dot.Objects[0].(*fyne.Container).Objects[0].(*canvas.Circle)
	c.FillColor = presenceColor(state)
	c.Refresh()
	if state == "" {
		dot.Hide()
	} else {
		dot.Show()
	}
}

// memberRow is one member in the members list: the dot, the name, the
// presence in words and the status message.
func memberRow(tr *i18n.Tr, m chat.Member) fyne.CanvasObject {
	name := widget.NewLabel(m.Name)
	name.TextStyle.Bold = true
	state := widget.NewLabel(presenceText(tr, m.Presence))
	state.Truncation = fyne.TextTruncateEllipsis
	return container.NewBorder(nil, nil, container.NewHBox(presenceDot(m.Presence.State), name), nil, state)
}
