package ui

import (
	"context"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// groupMaker is "グループを作る": a name, colleagues found by lookup and
// ticked, and 作成; or, for a group that exists, "メンバーを追加": the
// same without the name, its members shown ticked and fixed.
type groupMaker struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	name    *widget.Entry // nil when adding to a group
	query   *widget.Entry
	results *fyne.Container
	chosen  *widget.Label
	status  *message
	create  *widget.Button
	picked  []api.ChatPerson // in the order ticked
	inside  map[string]bool  // the group's members, when adding
}

func makeGroupMaker(tr *i18n.Tr, find func(q string), create func(name string, members []string)) *groupMaker {
	return newGroupMaker(tr, true, nil, find, create)
}

// makeMemberAdder is the group maker for adding to a group whose members
// are inside.
func makeMemberAdder(tr *i18n.Tr, inside []string, find func(q string), add func(members []string)) *groupMaker {
	return newGroupMaker(tr, false, inside, find, func(_ string, ms []string) { add(ms) })
}

func newGroupMaker(tr *i18n.Tr, named bool, inside []string, find func(q string), create func(name string, members []string)) *groupMaker {
	g := &groupMaker{tr: tr, query: widget.NewEntry(), results: container.NewVBox(),
		chosen: widget.NewLabel(tr.T(i18n.ChatGroupNoneChosen)), status: newMessage(), inside: map[string]bool{}}
	for _, id := range inside {
		g.inside[id] = true
	}
	top := container.NewVBox()
	if named {
		g.name = widget.NewEntry()
		g.name.SetPlaceHolder(tr.T(i18n.ChatGroupName))
		top.Add(g.name)
	}
	g.query.SetPlaceHolder(tr.T(i18n.ChatPeopleHint))
	g.query.OnSubmitted = func(q string) {
		if strings.TrimSpace(q) != "" {
			find(q)
		}
	}
	g.chosen.Wrapping = fyne.TextWrapWord
	findB := widget.NewButtonWithIcon(tr.T(i18n.ChatPeopleFind), theme.SearchIcon(), func() { g.query.OnSubmitted(g.query.Text) })
	label := tr.T(i18n.ChatGroupCreate)
	if !named {
		label = tr.T(i18n.ChatAddMembersDo)
	}
	g.create = widget.NewButtonWithIcon(label, theme.ConfirmIcon(), func() {
		name := ""
		if g.name != nil {
			name = g.name.Text
		}
		switch {
		case named && strings.TrimSpace(name) == "":
			g.status.set(tr.T(i18n.ChatGroupNeedName), widget.DangerImportance)
		case len(g.picked) == 0:
			g.status.set(tr.T(i18n.ChatGroupNeedMembers), widget.DangerImportance)
		default:
			g.status.clear()
			ids := make([]string, len(g.picked))
			for i, p := range g.picked {
				ids[i] = p.ID
			}
			create(name, ids)
		}
	})
	g.create.Importance = widget.HighImportance
	top.Add(container.NewBorder(nil, nil, nil, findB, g.query))
	g.root = container.NewBorder(top,
		container.NewVBox(widget.NewSeparator(), g.chosen, g.status.Label, g.create), nil, nil,
		container.NewVScroll(g.results))
	return g
}

// show lists the colleagues found, each with a tick.
func (g *groupMaker) show(people []api.ChatPerson, err error) {
	g.results.RemoveAll()
	switch {
	case err != nil:
		g.status.set(errorText(g.tr, err), widget.DangerImportance)
	case len(people) == 0:
		g.status.set(g.tr.T(i18n.ChatPeopleNone), widget.MediumImportance)
	default:
		g.status.clear()
	}
	for _, p := range people {
		p := p
		label := p.Name + "（" + p.Department + "）"
		if g.inside[p.ID] {
			// Already in the group: shown, ticked, not to be picked.
			c := widget.NewCheck(g.tr.T(i18n.ChatAlreadyMember, label), nil)
			c.Checked = true
			c.Disable()
			g.results.Add(c)
			continue
		}
		c := widget.NewCheck(label, func(on bool) { g.pick(p, on) })
		c.Checked = slices.ContainsFunc(g.picked, func(x api.ChatPerson) bool { return x.ID == p.ID })
		g.results.Add(c)
	}
	g.results.Refresh()
}

func (g *groupMaker) pick(p api.ChatPerson, on bool) {
	g.picked = slices.DeleteFunc(g.picked, func(x api.ChatPerson) bool { return x.ID == p.ID })
	if on {
		g.picked = append(g.picked, p)
	}
	if len(g.picked) == 0 {
		g.chosen.SetText(g.tr.T(i18n.ChatGroupNoneChosen))
		return
	}
	names := make([]string, len(g.picked))
	for i, x := range g.picked {
		names[i] = x.Name
	}
	key := i18n.ChatGroupChosen
	if g.name == nil {
		key = i18n.ChatGroupToAdd
	}
	g.chosen.SetText(g.tr.T(key, strings.Join(names, "、")))
}

// showNewGroup opens "グループを作る"; the group made opens.
func (u *UI) showNewGroup() {
	c := u.opt.Chat
	c.Activity()
	var d dialog.Dialog
	var g *groupMaker
	g = makeGroupMaker(u.tr, func(q string) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			people, err := c.People(ctx, q)
			fyne.Do(func() { g.show(people, err) })
		})
	}, func(name string, members []string) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			id, err := c.CreateGroup(ctx, name, members)
			fyne.Do(func() {
				if err != nil {
					u.recordErr(err)
					g.status.set(chatErrText(u.tr, err, 0), widget.DangerImportance)
					return
				}
				d.Hide()
				u.selectChat(id)
			})
		})
	})
	u.group = g
	d = dialog.NewCustom(u.tr.T(i18n.ChatNewGroup), u.tr.T(i18n.Cancel), g.root, u.chatWin)
	d.Resize(fyne.NewSize(460, 520))
	u.chatDialog(d)
	u.chatWin.Canvas().Focus(g.name)
}

// showAddMembers opens "メンバーを追加" for a group: colleagues found and
// ticked are added; its members are shown ticked and cannot be picked.
func (u *UI) showAddMembers(id string) {
	c := u.opt.Chat
	c.Activity()
	var inside []string
	name := ""
	for _, ch := range c.Channels() {
		if ch.ID == id {
			name = ch.Name
			inside = ch.Members
		}
	}
	var d dialog.Dialog
	var g *groupMaker
	g = makeMemberAdder(u.tr, inside, func(q string) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			people, err := c.People(ctx, q)
			fyne.Do(func() { g.show(people, err) })
		})
	}, func(members []string) {
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			err := c.AddMembers(ctx, id, members)
			fyne.Do(func() {
				if err != nil {
					u.recordErr(err)
					g.status.set(chatErrText(u.tr, err, 0), widget.DangerImportance)
					return
				}
				d.Hide()
				u.chatScr.update(u.chatView())
			})
		})
	})
	u.group = g
	d = dialog.NewCustom(u.tr.T(i18n.ChatAddMembersTitle, name), u.tr.T(i18n.Cancel), g.root, u.chatWin)
	d.Resize(fyne.NewSize(460, 480))
	u.chatDialog(d)
	u.chatWin.Canvas().Focus(g.query)
}

// showRename asks for a group's new name.
func (u *UI) showRename(id, name string) {
	c := u.opt.Chat
	e := widget.NewEntry()
	e.SetText(name)
	u.chatDialog(dialog.NewForm(u.tr.T(i18n.ChatRenameTitle), u.tr.T(i18n.OK), u.tr.T(i18n.Cancel),
		[]*widget.FormItem{widget.NewFormItem(u.tr.T(i18n.ChatGroupName), e)}, func(ok bool) {
			if ok && strings.TrimSpace(e.Text) != "" && e.Text != name {
				u.chatCall(func(ctx context.Context) error { return c.Rename(ctx, id, e.Text) }, nil)
			}
		}, u.chatWin))
}

// showStatus sets one's status message (shown to the department).
func (u *UI) showStatus() {
	c := u.opt.Chat
	c.Activity()
	e := widget.NewEntry()
	e.SetPlaceHolder(u.tr.T(i18n.ChatStatusHint))
	if p, ok := c.Presence(c.Me()); ok {
		e.SetText(p.Status)
	}
	d := dialog.NewForm(u.tr.T(i18n.ChatStatusTitle), u.tr.T(i18n.ChatStatusSet), u.tr.T(i18n.Cancel),
		[]*widget.FormItem{widget.NewFormItem(u.tr.T(i18n.ChatStatus), e)}, func(ok bool) {
			if ok {
				u.chatCall(func(ctx context.Context) error { return c.SetStatusMessage(ctx, e.Text) }, nil)
			}
		}, u.chatWin)
	d.Resize(fyne.NewSize(460, 200))
	u.chatDialog(d)
}

// showMembers lists a channel's members with their presence, read again
// from the broker for those outside one's department (no frames for them).
func (u *UI) showMembers(id string) {
	c := u.opt.Chat
	list := container.NewVBox()
	fill := func() {
		list.RemoveAll()
		for _, m := range c.Members(id) {
			list.Add(memberRow(u.tr, m))
		}
		list.Refresh()
	}
	fill()
	name := ""
	for _, ch := range c.Channels() {
		if ch.ID == id {
			name = ch.Name
		}
	}
	d := dialog.NewCustom(u.tr.T(i18n.ChatMembersTitle, name), u.tr.T(i18n.OK), container.NewVScroll(list), u.chatWin)
	d.Resize(fyne.NewSize(460, 420))
	u.chatDialog(d)
	ms := c.Members(id)
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := c.LookPresence(ctx, ids); err == nil {
			fyne.Do(fill)
		}
	})
}
