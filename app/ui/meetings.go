package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// Meeter is the part of *core.Client the meetings screen uses. The
// meeting itself runs in the browser; joining opens it there.
type Meeter interface {
	Meetings(ctx context.Context) (*api.MeetingList, error)
	MeetNow(ctx context.Context, title string) (*api.MeetJoin, error)
	JoinRoom(ctx context.Context, roomID string) (*api.MeetJoin, error)
	JoinMeeting(ctx context.Context, meetingID string) (*api.MeetJoin, error)
	GuestLink(ctx context.Context, roomID, name string) (*api.GuestLink, error)
}

var _ Meeter = (*core.Client)(nil)

// meetingsActions are what the meetings screen can do; each runs off the
// UI thread and answers through the screen's methods.
type meetingsActions struct {
	Back        func()
	Refresh     func()
	MeetNow     func(title string)
	JoinRoom    func(id, title string)
	JoinMeeting func(id, title string)
	GuestLink   func(roomID, name string)
}

// meetingsScreen lists the meetings one may join: the department's
// running rooms and the scheduled meetings, with meet now on top.
type meetingsScreen struct {
	root      fyne.CanvasObject
	tr        *i18n.Tr
	me        string
	actions   meetingsActions
	nowTitle  *widget.Entry
	now       *widget.Button
	guestName *widget.Entry
	msg       *message
	body      *fyne.Container
	running   *fyne.Container
	planned   *fyne.Container
	list      *api.MeetingList
	// joins are the Join buttons by room or meeting ID (tests tap them).
	joins  map[string]*widget.Button
	guests map[string]*widget.Button
}

func makeMeetings(tr *i18n.Tr, me string, actions meetingsActions) *meetingsScreen {
	s := &meetingsScreen{tr: tr, me: me, actions: actions}
	back := widget.NewButtonWithIcon(tr.T(i18n.Back), theme.NavigateBackIcon(), actions.Back)
	refresh := widget.NewButtonWithIcon(tr.T(i18n.MeetRefresh), theme.ViewRefreshIcon(), actions.Refresh)
	top := container.NewVBox(container.NewPadded(container.NewBorder(nil, nil, back, refresh, heading(tr.T(i18n.MeetTitle)))),
		widget.NewSeparator())
	s.nowTitle = widget.NewEntry()
	s.nowTitle.SetPlaceHolder(tr.T(i18n.MeetNowTitle))
	s.now = widget.NewButtonWithIcon(tr.T(i18n.MeetNow), theme.MediaVideoIcon(), func() {
		s.say(tr.T(i18n.MeetOpening), widget.MediumImportance)
		actions.MeetNow(strings.TrimSpace(s.nowTitle.Text))
	})
	s.now.Importance = widget.HighImportance
	s.guestName = widget.NewEntry()
	s.guestName.SetPlaceHolder(tr.T(i18n.MeetGuestName))
	guestHint := para(tr.T(i18n.MeetGuestHint))
	guestHint.Importance = widget.LowImportance
	s.msg = newMessage()
	s.running = container.NewVBox()
	s.planned = container.NewVBox()
	s.body = container.NewVBox(
		para(tr.T(i18n.MeetIntro)),
		container.NewBorder(nil, nil, nil, s.now, s.nowTitle),
		s.msg,
		widget.NewSeparator(),
		heading(tr.T(i18n.MeetRunningHead)), s.running,
		s.guestName, guestHint,
		widget.NewSeparator(),
		heading(tr.T(i18n.MeetPlannedHead)), s.planned,
	)
	s.root = container.NewBorder(top, nil, nil, nil, container.NewVScroll(container.NewPadded(s.body)))
	s.show(nil)
	return s
}

// show draws the lists; nil is "not read yet" (drawn empty).
func (s *meetingsScreen) show(l *api.MeetingList) {
	tr := s.tr
	s.list = l
	if l == nil {
		l = &api.MeetingList{}
	}
	s.joins, s.guests = map[string]*widget.Button{}, map[string]*widget.Button{}
	s.running.RemoveAll()
	for _, r := range l.Rooms {
		sub := tr.T(i18n.MeetPeople, r.Participants, r.Capacity)
		if r.Locked {
			sub += "　" + tr.T(i18n.MeetLocked)
		}
		s.running.Add(s.row(r.ID, r.Title, sub, func() { s.actions.JoinRoom(r.ID, r.Title) }, r.CreatedBy == s.me, r.ID))
	}
	if len(l.Rooms) == 0 {
		s.running.Add(lowText(tr.T(i18n.MeetNoneRunning)))
	}
	s.planned.RemoveAll()
	for _, m := range l.Meetings {
		sub := s.when(m)
		guestRoom := ""
		if m.Room != nil {
			sub += "　" + tr.T(i18n.MeetRunningNow, m.Room.Participants)
			guestRoom = m.Room.ID
		}
		s.planned.Add(s.row(m.ID, m.Title, sub, func() { s.actions.JoinMeeting(m.ID, m.Title) }, m.CreatedBy == s.me && guestRoom != "", guestRoom))
	}
	if len(l.Meetings) == 0 {
		s.planned.Add(lowText(tr.T(i18n.MeetNonePlanned)))
	}
}

func lowText(text string) *widget.Label {
	l := para(text)
	l.Importance = widget.LowImportance
	return l
}

// row is one meeting: its title and what it is, Join, and for its host
// a guest link.
func (s *meetingsScreen) row(id, title, sub string, join func(), host bool, roomID string) fyne.CanvasObject {
	t := widget.NewLabel(title)
	t.TextStyle.Bold = true
	t.Truncation = fyne.TextTruncateEllipsis
	info := widget.NewLabel(sub)
	jb := widget.NewButtonWithIcon(s.tr.T(i18n.MeetJoin), theme.LoginIcon(), func() {
		s.say(s.tr.T(i18n.MeetOpening), widget.MediumImportance)
		join()
	})
	jb.Importance = widget.HighImportance
	s.joins[id] = jb
	buttons := container.NewHBox(jb)
	if host {
		gb := widget.NewButtonWithIcon(s.tr.T(i18n.MeetGuestLink), theme.ContentCopyIcon(), func() {
			name := strings.TrimSpace(s.guestName.Text)
			if name == "" {
				s.say(s.tr.T(i18n.MeetGuestNeed), widget.WarningImportance)
				return
			}
			s.actions.GuestLink(roomID, name)
		})
		s.guests[id] = gb
		buttons.Objects = append([]fyne.CanvasObject{gb}, buttons.Objects...)
	}
	return container.NewBorder(nil, nil, nil, buttons, container.NewVBox(t, info))
}

func (s *meetingsScreen) when(m api.Meeting) string {
	start := dayText(s.tr, m.StartsAt) + " " + m.StartsAt.Local().Format("15:04")
	if m.EndsAt.IsZero() {
		return s.tr.T(i18n.MeetWhenNoEnd, start)
	}
	return s.tr.T(i18n.MeetWhen, start, m.EndsAt.Local().Format("15:04"))
}

// say shows a message above the lists; the list is laid out again, as
// a line that appears or goes changes its height.
func (s *meetingsScreen) say(text string, imp widget.Importance) {
	s.msg.set(text, imp)
	s.body.Refresh()
}

func (s *meetingsScreen) failed(err error) {
	s.say(errorText(s.tr, err), widget.DangerImportance)
}

func (s *meetingsScreen) listFailed(err error) {
	s.say(s.tr.T(i18n.MeetStale, errorText(s.tr, err)), widget.WarningImportance)
}

func (s *meetingsScreen) opened(title string) {
	s.say(s.tr.T(i18n.MeetOpened, title), widget.SuccessImportance)
}

func (s *meetingsScreen) copied(l *api.GuestLink) {
	s.say(s.tr.T(i18n.MeetGuestCopied, l.Name, l.ExpiresAt.Local().Format("15:04")), widget.SuccessImportance)
	s.guestName.SetText("")
}

// showMeetings opens the meetings screen and reads the list.
func (u *UI) showMeetings() {
	mt, ok := u.client.(Meeter)
	if !ok {
		return
	}
	var s *meetingsScreen
	// run calls fn off the UI thread and hands its outcome to done on it.
	run := func(fn func(ctx context.Context) error, done func(err error)) {
		c := u.client
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			err := fn(ctx)
			fyne.Do(func() {
				if u.client != c || u.meetings != s {
					return
				}
				if err != nil {
					u.recordErr(err)
				}
				done(err)
			})
		})
	}
	var refresh func()
	refresh = func() {
		var l *api.MeetingList
		run(func(ctx context.Context) (err error) { l, err = mt.Meetings(ctx); return err }, func(err error) {
			if err != nil {
				s.listFailed(err)
				return
			}
			s.show(l)
		})
	}
	join := func(title string, fn func(ctx context.Context) (*api.MeetJoin, error)) {
		var j *api.MeetJoin
		run(func(ctx context.Context) (err error) { j, err = fn(ctx); return err }, func(err error) {
			if err != nil {
				s.failed(err)
				return
			}
			if title == "" {
				title = j.Room.Title
			}
			u.log.Info("meeting opened", "room", j.Room.ID)
			s.opened(title)
			refresh()
		})
	}
	me := ""
	if u.st.User != nil {
		me = u.st.User.ID
	}
	s = makeMeetings(u.tr, me, meetingsActions{
		Back:    u.showHome,
		Refresh: func() { refresh() },
		MeetNow: func(title string) {
			join(title, func(ctx context.Context) (*api.MeetJoin, error) { return mt.MeetNow(ctx, title) })
		},
		JoinRoom: func(id, title string) {
			join(title, func(ctx context.Context) (*api.MeetJoin, error) { return mt.JoinRoom(ctx, id) })
		},
		JoinMeeting: func(id, title string) {
			join(title, func(ctx context.Context) (*api.MeetJoin, error) { return mt.JoinMeeting(ctx, id) })
		},
		GuestLink: func(roomID, name string) {
			var l *api.GuestLink
			run(func(ctx context.Context) (err error) { l, err = mt.GuestLink(ctx, roomID, name); return err }, func(err error) {
				if err != nil {
					s.failed(err)
					return
				}
				u.app.Clipboard().SetContent(l.URL)
				s.copied(l)
			})
		},
	})
	u.meetings = s
	u.setContent(scrMeetings, s.root)
	refresh()
}
