package ui

import (
	"context"
	"errors"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
)

// ChatClient is the part of *chat.Client the faces use. The getters are
// quick (memory); Search, People, Direct and Older call the broker and
// run off the UI thread.
type ChatClient interface {
	Subscribe(fn func()) (cancel func())
	OnNotice(fn func(chat.Notice))
	Online() bool
	Policy() api.ChatPolicy
	Unread() int
	Channels() []chat.Channel
	Messages(id string) []chat.Message
	HasOlder(id string) bool
	View(id string)
	Send(channel, text string, replyTo int64) error
	Retry(key string)
	Discard(key string)
	Older(ctx context.Context, id string) error
	Search(ctx context.Context, q string) ([]chat.Hit, bool, error)
	People(ctx context.Context, q string) ([]api.ChatPerson, error)
	Direct(ctx context.Context, user string) (string, error)
	Edit(ctx context.Context, channel string, seq int64, text string) error
	Delete(ctx context.Context, channel string, seq int64) error
	SetMuted(ctx context.Context, channel string, muted bool) error
	CreateGroup(ctx context.Context, name string, members []string) (string, error)
	Rename(ctx context.Context, channel, name string) error
	Leave(ctx context.Context, channel string) error
	AddMembers(ctx context.Context, channel string, members []string) error
	Members(channel string) []chat.Member
	Presence(id string) (api.ChatPresence, bool)
	LookPresence(ctx context.Context, ids []string) error
	SetStatusMessage(ctx context.Context, msg string) error
	Me() string
	// Activity notes input (idle detection: 離席中 after IT's idle time).
	Activity()
}

var _ ChatClient = (*chat.Client)(nil)

// startChat follows the chat client: its changes redraw the chat window,
// the home button and the tray; its notices become notifications.
func (u *UI) startChat() {
	c := u.opt.Chat
	if c == nil {
		return
	}
	// A burst of frames (a catch-up, a busy channel) asks for one redraw,
	// not one per frame: the UI thread would fall behind.
	var queued atomic.Bool
	c.Subscribe(func() {
		if queued.Swap(true) {
			return
		}
		fyne.Do(func() {
			queued.Store(false)
			u.chatChanged()
		})
	})
	c.OnNotice(func(n chat.Notice) {
		fyne.Do(func() {
			u.chatNotice = n.Channel
			if u.prefs.BoolWithFallback(prefNotify, true) && !(u.chatShown && u.chatCur == n.Channel) {
				u.app.SendNotification(tray.ChatNotice(n, u.tr))
			}
		})
	})
}

// chatChanged redraws what shows chat. UI thread.
func (u *UI) chatChanged() {
	if u.chatScr != nil && u.chatShown {
		u.chatScr.update(u.chatView())
	}
	if u.screen == scrHome && u.home != nil {
		u.home.setUnread(u.opt.Chat.Unread())
	}
	u.updateTray()
	if u.screen == scrTelework && u.telework != nil && u.st.Telework != nil {
		u.telework.showSection(u.st.Telework) // the section's 状態 is presence
	}
}

func (u *UI) chatView() chatView {
	c := u.opt.Chat
	v := chatView{Online: c.Online(), Channels: c.Channels(), Current: u.chatCur, MaxChars: c.Policy().MaxChars,
		Presence: map[string]api.ChatPresence{}}
	if me := c.Me(); me != "" {
		v.Me, _ = c.Presence(me)
		if v.Me.Name == "" && u.st.User != nil {
			v.Me.Name = u.st.User.Name
		}
	}
	for _, ch := range v.Channels {
		if p, ok := c.Presence(ch.Peer); ok && ch.Peer != "" {
			v.Presence[ch.Peer] = p
		}
	}
	if v.Current != "" {
		v.Messages = c.Messages(v.Current)
		v.HasOlder = c.HasOlder(v.Current)
		v.Members = c.Members(v.Current)
	}
	return v
}

// chatCall runs a chat action that calls the broker off the UI thread;
// a failure is said in a dialog over the chat window, done runs after a
// success (UI thread).
func (u *UI) chatCall(fn func(ctx context.Context) error, done func()) {
	s := u.chatScr
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		err := fn(ctx)
		fyne.Do(func() {
			if u.chatScr != s {
				return
			}
			if err != nil {
				u.recordErr(err)
				u.chatDialog(dialog.NewCustom(u.tr.T(i18n.ChatTitle), u.tr.T(i18n.OK),
					para(chatErrText(u.tr, err, u.opt.Chat.Policy().MaxChars)), u.chatWin))
				return
			}
			if done != nil {
				done()
			}
		})
	})
}

// chatConfirm asks before an action that cannot be undone (delete, leave),
// with the action's own word on the button.
func (u *UI) chatConfirm(title, msg, yesLabel string, yes func()) {
	d := dialog.NewCustomConfirm(title, yesLabel, u.tr.T(i18n.Cancel), para(msg), func(ok bool) {
		if ok {
			yes()
		}
	}, u.chatWin)
	d.Resize(fyne.NewSize(420, 200))
	u.chatDialog(d)
}

// chatDialog shows d over the chat window and keeps it for tests.
func (u *UI) chatDialog(d dialog.Dialog) {
	u.chatDlg = d
	d.Show()
}

// chatErrText words a failed chat action: offline, too long, or the
// broker's refusal from its catalogue.
func chatErrText(tr *i18n.Tr, err error, maxChars int) string {
	switch {
	case errors.Is(err, chat.ErrOffline):
		return tr.T(i18n.ChatOfflineAction)
	case errors.Is(err, chat.ErrTooLong):
		return tr.T(i18n.ChatTooLong, maxChars)
	}
	return errorText(tr, err)
}

// openChat shows the chat window, on the conversation id when given (a
// notice's), else where it was.
func (u *UI) openChat(id string) {
	c := u.opt.Chat
	if c == nil || u.st.Phase == core.SignedOut {
		return
	}
	if u.chatWin == nil {
		u.chatWin = u.app.NewWindow(u.tr.T(i18n.ChatTitle))
		u.chatWin.Resize(fyne.NewSize(920, 640))
		u.chatWin.SetCloseIntercept(u.hideChat)
		u.buildChat()
	}
	if id == "" && u.chatCur == "" {
		if chs := c.Channels(); len(chs) > 0 {
			id = chs[0].ID
		}
	}
	u.chatShown = true
	if id != "" {
		u.selectChat(id)
	} else {
		u.chatScr.update(u.chatView())
	}
	u.chatWin.Show()
	u.chatWin.RequestFocus()
	u.chatWin.Canvas().Focus(u.chatScr.input)
}

// buildChat makes the chat window's content in the current language.
func (u *UI) buildChat() {
	c := u.opt.Chat
	u.chatScr = makeChat(u.tr, u.chatView(), chatActions{
		Select: u.selectChat,
		Send: func(id, text string, replyTo int64) error {
			c.Activity()
			return c.Send(id, text, replyTo)
		},
		Retry:   c.Retry,
		Discard: c.Discard,
		Older: func(id string) {
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				if err := c.Older(ctx, id); err != nil {
					u.log.Warn("chat history", "err", err)
				}
			})
		},
		Search: u.searchChat,
		People: u.showPeople,
		Edit: func(id string, seq int64, text string, done func()) {
			c.Activity()
			u.chatCall(func(ctx context.Context) error { return c.Edit(ctx, id, seq, text) }, done)
		},
		Delete: func(id string, seq int64) {
			u.chatConfirm(u.tr.T(i18n.ChatDeleteTitle), u.tr.T(i18n.ChatDeleteConfirm), u.tr.T(i18n.ChatDelete), func() {
				u.chatCall(func(ctx context.Context) error { return c.Delete(ctx, id, seq) }, nil)
			})
		},
		Mute: func(id string, muted bool) {
			u.chatCall(func(ctx context.Context) error { return c.SetMuted(ctx, id, muted) }, nil)
		},
		NewGroup: u.showNewGroup,
		Rename:   u.showRename,
		Leave: func(id, name string) {
			u.chatConfirm(u.tr.T(i18n.ChatLeave), u.tr.T(i18n.ChatLeaveConfirm, name), u.tr.T(i18n.ChatLeave), func() {
				u.chatCall(func(ctx context.Context) error { return c.Leave(ctx, id) }, func() {
					if u.chatCur == id {
						u.chatCur = ""
						c.View("")
					}
					u.chatScr.update(u.chatView())
				})
			})
		},
		Members:    u.showMembers,
		AddMembers: u.showAddMembers,
		Status:     u.showStatus,
		Input:      c.Activity,
	})
	u.chatWin.SetContent(u.chatScr.root)
}

// relabelChat rebuilds the chat window after a language switch.
func (u *UI) relabelChat() {
	if u.chatWin == nil {
		return
	}
	u.chatWin.SetTitle(u.tr.T(i18n.ChatTitle))
	u.buildChat()
	u.chatScr.update(u.chatView())
}

func (u *UI) selectChat(id string) {
	u.opt.Chat.Activity()
	if u.chatCur == id && u.chatScr != nil && !u.chatScr.showing {
		u.opt.Chat.View(id)
		u.chatScr.update(u.chatView())
		return
	}
	u.chatCur = id
	u.opt.Chat.View(id) // marks it read; receipts follow
	if u.chatScr != nil {
		u.chatScr.update(u.chatView())
		u.chatWin.Canvas().Focus(u.chatScr.input)
	}
}

// hideChat closes the chat window (it stays in memory for the next open)
// and stops marking its conversation read.
func (u *UI) hideChat() {
	if u.chatWin == nil || !u.chatShown {
		return
	}
	u.chatShown = false
	u.opt.Chat.View("")
	u.chatWin.Hide()
}

func (u *UI) searchChat(q string) {
	c, s := u.opt.Chat, u.chatScr
	c.Activity()
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		hits, partial, err := c.Search(ctx, q)
		fyne.Do(func() {
			if u.chatScr != s {
				return
			}
			if err != nil {
				u.recordErr(err)
				dialog.ShowInformation(u.tr.T(i18n.ChatSearchHint), errorText(u.tr, err), u.chatWin)
				return
			}
			s.showSearch(q, hits, partial, u.selectChat)
		})
	})
}

// showPeople opens colleague lookup; a pick opens the direct conversation.
func (u *UI) showPeople() {
	c := u.opt.Chat
	var d dialog.Dialog
	var l *peopleLookup
	l = makePeopleLookup(u.tr, func(q string) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			people, err := c.People(ctx, q)
			fyne.Do(func() { l.show(people, err) })
		})
	}, func(p api.ChatPerson) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			id, err := c.Direct(ctx, p.ID)
			fyne.Do(func() {
				if err != nil {
					u.recordErr(err)
					l.show(nil, err)
					return
				}
				d.Hide()
				u.selectChat(id)
			})
		})
	})
	u.people = l
	d = dialog.NewCustom(u.tr.T(i18n.ChatPeopleTitle), u.tr.T(i18n.Cancel), l.root, u.chatWin)
	d.Resize(fyne.NewSize(440, 420))
	d.Show()
	u.chatWin.Canvas().Focus(l.query)
}
