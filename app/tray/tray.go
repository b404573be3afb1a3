// Package tray turns a core.State snapshot into the system-tray model: which
// icon, the state in words, and the menu. The model is plain data so it can
// be tested without a tray host (Xvfb has none); Menu turns it into the
// fyne.Menu that desktop.App shows.
package tray

import (
	"time"

	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/icons"
)

// Action is what a menu item does.
type Action int

const (
	ActNone       Action = iota // an informational line (disabled)
	ActOpen                     // show the main window
	ActConnect                  // start the main job
	ActDisconnect               // end the session, or cancel a queued/waking attempt
	ActQuit                     // leave the app
	ActChat                     // open the chat window (on the conversation last notified, if any)
	ActRestart                  // restart into the new version (offered outside a session only)
	ActEndWork                  // end today's work (telework record)
	ActStartHome                // start work at home; the next two follow api.Place* in Places' order
	ActStartSatellite
	ActStartOther
)

// Item is one menu line. Separator items have no label.
type Item struct {
	Label     string
	Action    Action
	Disabled  bool
	Separator bool
}

// Model is everything the tray shows for one state.
type Model struct {
	Icon   string // an icons.* state name
	Status string // the state in words (also the first info line)
	Items  []Item
}

// Build returns the tray model for st at time now (for the elapsed time).
func Build(st core.State, tr *i18n.Tr, now time.Time) Model {
	m := Model{Icon: Icon(st), Status: Status(st, tr, now)}
	m.Items = append(m.Items, Item{Label: tr.T(i18n.TrayOpen), Action: ActOpen})
	switch {
	case st.Phase == core.SignedOut:
		// Nothing to connect until the user signs in through the window.
	case st.Phase == core.Connected:
		m.Items = append(m.Items, Item{Label: tr.T(i18n.BtnDisconnect), Action: ActDisconnect})
	case st.Phase == core.Ending:
		m.Items = append(m.Items, Item{Label: tr.T(i18n.BtnEnding), Action: ActNone, Disabled: true})
	case st.Phase.Busy():
		m.Items = append(m.Items, Item{Label: tr.T(i18n.BtnCancel), Action: ActDisconnect})
	default: // Ready, Failed
		m.Items = append(m.Items, Item{Label: tr.T(i18n.BtnConnect), Action: ActConnect,
			Disabled: !st.Online || st.Terminal == nil})
	}
	m.Items = append(m.Items,
		Item{Separator: true},
		Item{Label: m.Status, Action: ActNone, Disabled: true},
		Item{Separator: true},
		Item{Label: tr.T(i18n.TrayQuit), Action: ActQuit},
	)
	return m
}

// WithChat adds the chat line to m: the unread count where the tray
// host shows it (the menu and, through Menu's title, the tooltip).
func WithChat(m Model, unread int, tr *i18n.Tr) Model {
	label := tr.T(i18n.TrayChat)
	if unread > 0 {
		label = tr.T(i18n.TrayChatUnread, unread)
		m.Status += " · " + tr.T(i18n.ChatOpenUnread, unread)
	}
	items := make([]Item, 0, len(m.Items)+1)
	items = append(items, m.Items[0], Item{Label: label, Action: ActChat})
	m.Items = append(items, m.Items[1:]...)
	return m
}

// Icon picks the tray icon for a state.
func Icon(st core.State) string {
	switch {
	case st.Phase == core.SignedOut:
		return icons.SignedOut
	case st.Phase == core.Failed:
		return icons.Error
	case st.Phase == core.Connected || st.Phase == core.Ending:
		// An open session stays "connected" even if the event socket blips:
		// the RDP tunnel is separate and may well be fine.
		return icons.Connected
	case !st.Online:
		return icons.Offline
	case st.Phase == core.Requesting || st.Phase == core.Queued:
		return icons.Queued
	case st.Phase == core.Waking || st.Phase == core.Connecting:
		return icons.Waking
	default:
		return icons.Ready
	}
}

// Status is the state in words, short enough for a menu line.
func Status(st core.State, tr *i18n.Tr, now time.Time) string {
	if st.Revoked != nil {
		return tr.T(i18n.TrayRevoked)
	}
	switch st.Phase {
	case core.SignedOut:
		return tr.T(i18n.TraySignedOut)
	case core.Requesting:
		return tr.T(i18n.TrayRequesting)
	case core.Queued:
		return tr.T(i18n.TrayQueued, st.Queue)
	case core.Waking:
		return tr.T(i18n.TrayWaking)
	case core.Connecting:
		return tr.T(i18n.TrayConnecting)
	case core.Connected:
		return tr.T(i18n.TrayConnected, i18n.Clock(now.Sub(st.Since)))
	case core.Ending:
		return tr.T(i18n.TrayEnding)
	case core.Failed:
		code := ""
		if st.Err != nil {
			code = string(st.Err.Code)
		}
		return tr.T(i18n.TrayError, code)
	}
	if !st.Online {
		return tr.T(i18n.TrayOffline)
	}
	if st.Terminal == nil {
		return tr.T(i18n.TrayNoTerminal)
	}
	if st.BCP != nil {
		return tr.T(i18n.TrayReady) + " — " + tr.T(i18n.TrayBCP)
	}
	return tr.T(i18n.TrayReady)
}

// Menu builds the fyne.Menu for m; do runs an item's action. The Quit item
// is marked IsQuit so Fyne does not add a second, English "Quit".
func Menu(m Model, do func(Action)) *fyne.Menu {
	items := make([]*fyne.MenuItem, 0, len(m.Items))
	for _, it := range m.Items {
		if it.Separator {
			items = append(items, fyne.NewMenuItemSeparator())
			continue
		}
		act := it.Action
		mi := fyne.NewMenuItem(it.Label, func() { do(act) })
		mi.Disabled = it.Disabled || act == ActNone
		mi.IsQuit = act == ActQuit
		items = append(items, mi)
	}
	// The title is the status: some tray hosts show it as the tooltip.
	return fyne.NewMenu(m.Status, items...)
}
