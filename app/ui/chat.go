package ui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// chatView is what the chat window shows.
type chatView struct {
	Online   bool
	Channels []chat.Channel
	Current  string // the open conversation ("" none)
	Messages []chat.Message
	HasOlder bool
	MaxChars int // IT's limit, for the too-long message
	// Me is the user's own presence (its State "" until known).
	Me api.ChatPresence
	// Presence of the direct channels' colleagues, by staff ID.
	Presence map[string]api.ChatPresence
	// Members of the open conversation, with their presence.
	Members []chat.Member
}

// chatActions are what the chat window can do. Select, Send, Retry and
// Discard are quick; Search, People, Direct and Older call the broker and
// answer through showSearch, showPeople and update.
type chatActions struct {
	Select  func(id string)
	Send    func(id, text string, replyTo int64) error
	Retry   func(key string)
	Discard func(key string)
	Older   func(id string)
	Search  func(q string)
	People  func() // opens colleague lookup
	// These call the broker (off the UI thread) and say what went wrong
	// themselves; done runs on the UI thread after a success.
	Edit     func(id string, seq int64, text string, done func())
	Delete   func(id string, seq int64)
	Mute     func(id string, muted bool)
	NewGroup func()
	Rename   func(id, name string)
	Leave    func(id, name string)
	Members  func(id string)
	// AddMembers opens メンバーを追加 for a group.
	AddMembers func(id string)
	Status     func()
	Input      func() // any input in the window: the user is here (idle detection)
}

// chatScreen is the chat window's content: channels on the left with
// their unread counts and the search and lookup above them; the
// conversation on the right with its input.
type chatScreen struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	actions chatActions
	v       chatView

	search   *widget.Entry
	people   *widget.Button
	list     *widget.List
	title    *widget.Label
	offline  *message
	msgs     *fyne.Container
	scroll   *container.Scroll
	older    *widget.Button
	results  *fyne.Container // search results, in place of the conversation
	resultsS *container.Scroll
	showing  bool // results are on screen
	replyBar *fyne.Container
	replyTxt *widget.Label
	replyTo  int64
	editBar  *fyne.Container
	editTxt  *widget.Label
	editSeq  int64 // the message being edited (0: typing a new one)
	me       *widget.Label
	status   *widget.Button
	newGroup *widget.Button
	presence *widget.Label // the direct colleague's presence, under the title
	tools    *fyne.Container
	mute     *widget.Button
	members  *widget.Button
	rename   *widget.Button
	leave    *widget.Button
	add      *widget.Button
	input    *chatEntry
	send     *widget.Button
	inputMsg *message
	convo    *fyne.Container
	empty    *widget.Label
}

func makeChat(tr *i18n.Tr, v chatView, actions chatActions) *chatScreen {
	s := &chatScreen{tr: tr, actions: actions}
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder(tr.T(i18n.ChatSearchHint))
	s.search.OnSubmitted = func(q string) {
		if q != "" && actions.Search != nil {
			actions.Search(q)
		}
	}
	s.people = widget.NewButtonWithIcon(tr.T(i18n.ChatPeople), theme.AccountIcon(), actions.People)
	s.newGroup = widget.NewButtonWithIcon(tr.T(i18n.ChatNewGroup), theme.ContentAddIcon(), actions.NewGroup)
	s.me = widget.NewLabel("")
	s.me.Wrapping = fyne.TextWrapWord
	s.me.TextStyle.Bold = true
	s.status = widget.NewButtonWithIcon(tr.T(i18n.ChatStatus), theme.DocumentCreateIcon(), actions.Status)
	s.status.Importance = widget.LowImportance

	s.list = widget.NewList(func() int { return len(s.v.Channels) }, func() fyne.CanvasObject {
		icon := widget.NewIcon(theme.MailComposeIcon())
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		badge, _ := unreadBadge()
		muted := widget.NewIcon(theme.VolumeMuteIcon())
		return container.NewBorder(nil, nil, container.NewHBox(icon, presenceDot("")),
			container.NewHBox(muted, container.NewCenter(badge)), name)
	}, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i >= len(s.v.Channels) {
			return
		}
		ch := s.v.Channels[i]
		row := o.(*fyne.Container)
		name := row.Objects[0].(*widget.Label)
		lead := row.Objects[1].(*fyne.Container)
		icon := lead.Objects[0].(*widget.Icon)
		dot := lead.Objects[1].(*fyne.Container)
		trail := row.Objects[2].(*fyne.Container)
		muted := trail.Objects[0].(*widget.Icon)
		badge := trail.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container)
		name.SetText(ch.Name)
		if p, ok := s.v.Presence[ch.Peer]; ok && ch.Peer != "" && p.State != "" {
			name.SetText(s.tr.T(i18n.ChatNameWithPresence, ch.Name, presenceLabel(s.tr, p.State)))
		}
		name.TextStyle.Bold = ch.Unread > 0 && !ch.Muted
		name.Refresh()
		icon.SetResource(channelIcon(ch.Kind))
		setDot(dot, "")
		if p, ok := s.v.Presence[ch.Peer]; ok && ch.Peer != "" {
			setDot(dot, p.State)
		}
		if ch.Muted {
			muted.Show()
		} else {
			muted.Hide()
		}
		txt := badge.Objects[1].(*fyne.Container).Objects[0].(*canvas.Text)
		if ch.Unread > 0 && !ch.Muted {
			txt.Text = strconv.Itoa(ch.Unread)
			txt.Refresh()
			badge.Show()
		} else {
			badge.Hide()
		}
	})
	s.list.OnSelected = func(i widget.ListItemID) {
		if i < len(s.v.Channels) && actions.Select != nil {
			actions.Select(s.v.Channels[i].ID)
		}
	}
	left := container.NewBorder(container.NewVBox(s.me, container.NewHBox(s.status), s.search,
		container.NewGridWithColumns(2, s.people, s.newGroup), widget.NewSeparator()), nil, nil, nil, s.list)

	s.title = widget.NewLabel("")
	s.title.TextStyle.Bold = true
	s.title.SizeName = theme.SizeNameSubHeadingText
	s.title.Truncation = fyne.TextTruncateEllipsis
	s.offline = newMessage()
	s.presence = widget.NewLabel("")
	s.presence.Truncation = fyne.TextTruncateEllipsis
	s.presence.SizeName = theme.SizeNameCaptionText
	tool := func(label string, icon fyne.Resource, fn func()) *widget.Button {
		b := widget.NewButtonWithIcon(label, icon, fn)
		b.Importance = widget.LowImportance
		return b
	}
	s.mute = tool(tr.T(i18n.ChatMute), theme.VolumeMuteIcon(), func() {
		if actions.Mute != nil {
			actions.Mute(s.v.Current, !s.current().Muted)
		}
	})
	s.members = tool("", theme.AccountIcon(), func() {
		if actions.Members != nil {
			actions.Members(s.v.Current)
		}
	})
	s.rename = tool(tr.T(i18n.ChatRename), theme.DocumentCreateIcon(), func() {
		if actions.Rename != nil {
			actions.Rename(s.v.Current, s.current().Name)
		}
	})
	s.leave = tool(tr.T(i18n.ChatLeave), theme.LogoutIcon(), func() {
		if actions.Leave != nil {
			actions.Leave(s.v.Current, s.current().Name)
		}
	})
	s.add = tool(tr.T(i18n.ChatAddMembers), theme.ContentAddIcon(), func() {
		if actions.AddMembers != nil {
			actions.AddMembers(s.v.Current)
		}
	})
	s.tools = container.NewHBox(s.members, s.add, s.mute, s.rename, s.leave)
	s.older = widget.NewButton(tr.T(i18n.ChatOlder), func() {
		if actions.Older != nil && s.v.Current != "" {
			actions.Older(s.v.Current)
		}
	})
	s.older.Importance = widget.LowImportance
	s.msgs = container.NewVBox()
	s.scroll = container.NewVScroll(s.msgs)
	s.results = container.NewVBox()

	s.replyTxt = widget.NewLabel("")
	s.replyTxt.Truncation = fyne.TextTruncateEllipsis
	s.replyTxt.Importance = widget.LowImportance
	cancelReply := widget.NewButtonWithIcon("", theme.CancelIcon(), func() { s.setReply(nil) })
	cancelReply.Importance = widget.LowImportance
	s.replyBar = container.NewBorder(nil, nil, widget.NewIcon(theme.MailReplyIcon()), cancelReply, s.replyTxt)
	s.replyBar.Hide()
	s.editTxt = widget.NewLabel("")
	s.editTxt.Truncation = fyne.TextTruncateEllipsis
	s.editTxt.Importance = widget.WarningImportance
	cancelEdit := widget.NewButtonWithIcon(tr.T(i18n.ChatCancelEdit), theme.CancelIcon(), func() { s.setEdit(nil) })
	cancelEdit.Importance = widget.LowImportance
	s.editBar = container.NewBorder(nil, nil, widget.NewIcon(theme.DocumentCreateIcon()), cancelEdit, s.editTxt)
	s.editBar.Hide()
	s.input = newChatEntry()
	s.input.SetPlaceHolder(tr.T(i18n.ChatInputHint))
	s.input.onSend = s.submit
	s.input.OnChanged = func(string) {
		if actions.Input != nil {
			actions.Input()
		}
	}
	s.send = widget.NewButtonWithIcon(tr.T(i18n.ChatSend), theme.MailSendIcon(), s.submit)
	s.send.Importance = widget.HighImportance
	s.inputMsg = newMessage()
	bottom := container.NewVBox(widget.NewSeparator(), s.replyBar, s.editBar, s.inputMsg.Label,
		container.NewBorder(nil, nil, nil, s.send, s.input))
	s.convo = container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, s.tools, s.title), s.presence,
		s.offline.Label, widget.NewSeparator()), bottom, nil, nil, s.scroll)
	s.empty = widget.NewLabel(tr.T(i18n.ChatNoChannel))
	s.empty.Alignment = fyne.TextAlignCenter
	s.resultsS = container.NewVScroll(s.results)
	s.resultsS.Hide()
	right := container.NewStack(s.convo, container.NewCenter(s.empty), s.resultsS)

	split := container.NewHSplit(container.NewPadded(left), container.NewPadded(right))
	split.Offset = 0.3
	s.root = split
	s.update(v)
	return s
}

func channelIcon(kind string) fyne.Resource {
	switch kind {
	case api.ChatDepartment:
		return theme.HomeIcon()
	case api.ChatGroup:
		return theme.GridIcon()
	}
	return theme.AccountIcon()
}

// current is the open conversation's line of the list.
func (s *chatScreen) current() chat.Channel {
	for _, ch := range s.v.Channels {
		if ch.ID == s.v.Current {
			return ch
		}
	}
	return chat.Channel{}
}

// presenceText is a colleague's presence in words, with their status
// message: テレワーク中 · 午後は窓口.
func presenceText(tr *i18n.Tr, p api.ChatPresence) string {
	t := presenceLabel(tr, p.State)
	if p.Status != "" {
		if t != "" {
			t += " · "
		}
		t += p.Status
	}
	return t
}

// presenceSummary counts a channel's members by presence, the section
// at a glance: 会議中 1 · テレワーク中 3 · オフライン 2 (states with nobody
// left out).
func presenceSummary(tr *i18n.Tr, ms []chat.Member) string {
	n := map[string]int{}
	for _, m := range ms {
		n[m.Presence.State]++
	}
	var parts []string
	for _, st := range []string{api.PresenceMeeting, api.PresenceTelework, api.PresenceOnline, api.PresenceAway, api.PresenceOffline} {
		if n[st] > 0 {
			parts = append(parts, presenceLabel(tr, st)+" "+strconv.Itoa(n[st]))
		}
	}
	return strings.Join(parts, " · ")
}

// update shows v. UI thread only.
func (s *chatScreen) update(v chatView) {
	prevCurrent, prevLen := s.v.Current, len(s.v.Messages)
	s.v = v
	me := v.Me.Name
	if t := presenceText(s.tr, v.Me); t != "" {
		me += " · " + t
	}
	s.me.SetText(me)
	s.list.Refresh()
	for i, ch := range v.Channels {
		if ch.ID == v.Current {
			s.list.Select(i)
		}
	}
	if v.Online {
		s.offline.clear()
	} else {
		s.offline.set(s.tr.T(i18n.ChatOffline), widget.WarningImportance)
	}
	if s.showing {
		return // results stay until Back
	}
	if v.Current == "" {
		s.convo.Hide()
		s.empty.Show()
		return
	}
	s.empty.Hide()
	s.convo.Show()
	cur := s.current()
	kind := cur.Kind
	s.title.SetText(cur.Name)
	s.presence.SetText(presenceSummary(s.tr, v.Members))
	if p, ok := v.Presence[cur.Peer]; ok && cur.Peer != "" {
		s.presence.SetText(presenceText(s.tr, p))
	}
	if cur.Muted {
		s.mute.SetText(s.tr.T(i18n.ChatUnmute))
		s.mute.SetIcon(theme.VolumeUpIcon())
	} else {
		s.mute.SetText(s.tr.T(i18n.ChatMute))
		s.mute.SetIcon(theme.VolumeMuteIcon())
	}
	s.members.SetText(s.tr.T(i18n.ChatMembers, len(v.Members)))
	if kind == api.ChatDirect {
		s.members.Hide()
	} else {
		s.members.Show()
	}
	// Only a group takes members by hand: a department's are the
	// roster's, a direct channel is two people.
	if kind == api.ChatGroup {
		s.add.Show()
		s.rename.Show()
		s.leave.Show()
	} else {
		s.add.Hide()
		s.rename.Hide()
		s.leave.Hide()
	}
	if prevCurrent != v.Current {
		s.setReply(nil)
		s.setEdit(nil)
	}
	objs := make([]fyne.CanvasObject, 0, 2*len(v.Messages)+1)
	if v.HasOlder {
		objs = append(objs, s.older)
	}
	for i, m := range v.Messages {
		if i == 0 || !sameDay(v.Messages[i-1].At, m.At) {
			objs = append(objs, daySeparator(s.tr, m.At))
		}
		objs = append(objs, messageRow(s.tr, m, kind, messageActions{Reply: func(m chat.Message) { s.setReply(&m) },
			Retry: s.actions.Retry, Discard: s.actions.Discard,
			Edit: func(m chat.Message) { s.setEdit(&m) },
			Delete: func(m chat.Message) {
				if s.actions.Delete != nil {
					s.actions.Delete(m.Channel, m.Seq)
				}
			}}))
	}
	s.msgs.Objects = objs
	s.msgs.Refresh()
	if prevCurrent != v.Current || len(v.Messages) > prevLen {
		s.scroll.ScrollToBottom()
	}
}

// setReply starts (or, with nil, drops) a reply to m.
func (s *chatScreen) setReply(m *chat.Message) {
	if m == nil {
		s.replyTo = 0
		s.replyBar.Hide()
		return
	}
	s.setEdit(nil)
	s.replyTo = m.Seq
	s.replyTxt.SetText(s.tr.T(i18n.ChatReplyTo, m.SenderName, oneLine(m.Text, 40)))
	s.replyBar.Show()
}

// setEdit starts (or, with nil, stops) editing one's own message m: its
// text goes into the input, and Enter or 保存 stores the new text.
func (s *chatScreen) setEdit(m *chat.Message) {
	if m == nil {
		if s.editSeq != 0 {
			s.input.SetText("")
		}
		s.editSeq = 0
		s.editBar.Hide()
		s.send.SetText(s.tr.T(i18n.ChatSend))
		return
	}
	s.setReply(nil)
	s.editSeq = m.Seq
	s.editTxt.SetText(s.tr.T(i18n.ChatEditing, oneLine(m.Text, 40)))
	s.editBar.Show()
	s.send.SetText(s.tr.T(i18n.ChatEditSave))
	s.input.SetText(m.Text)
}

// submit sends what is typed (Enter or the button).
func (s *chatScreen) submit() {
	if s.v.Current == "" || s.actions.Send == nil {
		return
	}
	text := s.input.Text
	if s.editSeq != 0 {
		if s.actions.Edit == nil {
			return
		}
		if strings.TrimSpace(text) == "" {
			return
		}
		if n := s.v.MaxChars; n > 0 && len([]rune(strings.TrimRight(text, " \t\r\n"))) > n {
			s.inputMsg.set(s.tr.T(i18n.ChatTooLong, n), widget.DangerImportance)
			return
		}
		seq := s.editSeq
		s.actions.Edit(s.v.Current, seq, text, func() {
			if s.editSeq == seq {
				s.editSeq = 0 // the text stays until cleared below
				s.setEdit(nil)
				s.input.SetText("")
				s.inputMsg.clear()
			}
		})
		return
	}
	err := s.actions.Send(s.v.Current, text, s.replyTo)
	switch err {
	case nil:
		s.input.SetText("")
		s.setReply(nil)
		s.inputMsg.clear()
	case chat.ErrEmpty:
	case chat.ErrTooLong:
		s.inputMsg.set(s.tr.T(i18n.ChatTooLong, s.v.MaxChars), widget.DangerImportance)
	default:
		s.inputMsg.set(s.tr.T(i18n.ErrUnexpected), widget.DangerImportance)
	}
}

// showSearch puts results in place of the conversation; open is called
// with a hit's channel.
func (s *chatScreen) showSearch(q string, hits []chat.Hit, partial bool, open func(id string)) {
	s.showing = true
	objs := []fyne.CanvasObject{}
	back := widget.NewButtonWithIcon(s.tr.T(i18n.ChatSearchBack), theme.NavigateBackIcon(), s.closeSearch)
	head := widget.NewLabel(s.tr.T(i18n.ChatSearchResults, q, len(hits)))
	head.TextStyle.Bold = true
	objs = append(objs, container.NewBorder(nil, nil, back, nil, head))
	if partial {
		objs = append(objs, para(s.tr.T(i18n.ChatSearchPartial)))
	}
	if len(hits) == 0 {
		objs = append(objs, widget.NewLabel(s.tr.T(i18n.ChatSearchNone)))
	}
	for _, h := range hits {
		h := h
		where := widget.NewLabel(h.ChannelName + " · " + h.Message.SenderName + " · " + dayText(s.tr, h.Message.At) + " " + i18n.TimeOfDay(h.Message.At))
		where.Importance = widget.LowImportance
		text := widget.NewRichText(highlight(h.Message.Text, h.Spans)...)
		text.Wrapping = fyne.TextWrapWord
		b := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() {
			s.closeSearch()
			open(h.Message.Channel)
		})
		objs = append(objs, container.NewBorder(nil, nil, nil, b, container.NewVBox(where, text)), widget.NewSeparator())
	}
	s.results.Objects = objs
	s.results.Refresh()
	s.convo.Hide()
	s.empty.Hide()
	s.resultsS.Show()
	s.resultsS.ScrollToTop()
}

func (s *chatScreen) closeSearch() {
	s.showing = false
	s.resultsS.Hide()
	s.update(s.v)
}

// highlight turns a text and its matched character spans into rich text
// with the matches bold.
func highlight(text string, spans []api.ChatSpan) []widget.RichTextSegment {
	r := []rune(text)
	var out []widget.RichTextSegment
	pos := 0
	plain := func(a, b int) {
		if a < b {
			out = append(out, &widget.TextSegment{Text: string(r[a:b]), Style: widget.RichTextStyleInline})
		}
	}
	for _, sp := range spans {
		if sp.Start < pos || sp.End > len(r) || sp.Start >= sp.End {
			continue
		}
		plain(pos, sp.Start)
		st := widget.RichTextStyleStrong
		st.Inline = true
		st.ColorName = theme.ColorNamePrimary
		out = append(out, &widget.TextSegment{Text: string(r[sp.Start:sp.End]), Style: st})
		pos = sp.End
	}
	plain(pos, len(r))
	return out
}

// peopleLookup is colleague lookup: a name field and the people found;
// pick starts a direct message.
type peopleLookup struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	query   *widget.Entry
	results *fyne.Container
	status  *message
	pick    func(p api.ChatPerson)
}

func makePeopleLookup(tr *i18n.Tr, find func(q string), pick func(p api.ChatPerson)) *peopleLookup {
	l := &peopleLookup{query: widget.NewEntry(), results: container.NewVBox(), status: newMessage()}
	l.query.SetPlaceHolder(tr.T(i18n.ChatPeopleHint))
	l.query.OnSubmitted = func(q string) {
		if q != "" {
			find(q)
		}
	}
	go1 := widget.NewButtonWithIcon(tr.T(i18n.ChatPeopleFind), theme.SearchIcon(), func() { l.query.OnSubmitted(l.query.Text) })
	l.root = container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, go1, l.query), l.status.Label), nil, nil, nil,
		container.NewVScroll(l.results))
	l.pick = pick
	l.tr = tr
	return l
}

// show lists the people found.
func (l *peopleLookup) show(people []api.ChatPerson, err error) {
	l.results.Objects = nil
	switch {
	case err != nil:
		l.status.set(errorText(l.tr, err), widget.DangerImportance)
	case len(people) == 0:
		l.status.set(l.tr.T(i18n.ChatPeopleNone), widget.MediumImportance)
	default:
		l.status.clear()
	}
	for _, p := range people {
		p := p
		b := widget.NewButtonWithIcon(p.Name+"（"+p.Department+"）", theme.AccountIcon(), func() { l.pick(p) })
		b.Alignment = widget.ButtonAlignLeading
		l.results.Add(b)
	}
	l.results.Add(layout.NewSpacer())
	l.results.Refresh()
}
