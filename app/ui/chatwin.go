package ui

import (
	"context"
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
}

func (u *UI) chatView() chatView {
	c := u.opt.Chat
	v := chatView{Online: c.Online(), Channels: c.Channels(), Current: u.chatCur, MaxChars: c.Policy().MaxChars}
	if v.Current != "" {
		v.Messages = c.Messages(v.Current)
		v.HasOlder = c.HasOlder(v.Current)
	}
	return v
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
		Select:  u.selectChat,
		Send:    c.Send,
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
