package tray

import (
	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// Places are the places of work, in the order the faces offer them.
var Places = []string{api.PlaceHome, api.PlaceSatellite, api.PlaceOther}

// Place words a place of work.
func Place(p string, tr *i18n.Tr) string {
	switch p {
	case api.PlaceHome:
		return tr.T(i18n.TwPlaceHome)
	case api.PlaceSatellite:
		return tr.T(i18n.TwPlaceSatellite)
	case api.PlaceOther:
		return tr.T(i18n.TwPlaceOther)
	}
	return tr.T(i18n.TwPlaceNone)
}

// WithWork adds "start work" (one line per place) or "end work" to m
// while signed in and the telework view is read: the explicit start and
// end that tell the supervisor, replacing the phone call.
func WithWork(m Model, st core.State, tr *i18n.Tr) Model {
	tw := st.Telework
	if st.Phase == core.SignedOut || tw == nil || tw.Today == nil || !st.Online {
		return m
	}
	var add []Item
	if tw.Started() {
		add = append(add, Item{Label: tr.T(i18n.TwEndWork), Action: ActEndWork})
	} else {
		for i, p := range Places {
			add = append(add, Item{Label: tr.T(i18n.TrayStartWork, Place(p, tr)), Action: ActStartHome + Action(i)})
		}
	}
	// After Connect/Disconnect, before the status line.
	at := 1
	for i, it := range m.Items {
		if it.Action == ActConnect || it.Action == ActDisconnect || it.Action == ActChat {
			at = i + 1
		}
	}
	items := make([]Item, 0, len(m.Items)+len(add)+1)
	items = append(items, m.Items[:at]...)
	items = append(items, Item{Separator: true})
	items = append(items, add...)
	m.Items = append(items, m.Items[at:]...)
	return m
}

// PlaceOf is the place a start-work action stands for.
func PlaceOf(a Action) string {
	if i := int(a - ActStartHome); i >= 0 && i < len(Places) {
		return Places[i]
	}
	return ""
}

// TeleworkNotices returns the desktop notification due on the step from
// prev to next: a decision on one's request, a request to decide, a
// colleague's start or end of work (to the supervisor).
func TeleworkNotices(prev, next core.State, tr *i18n.Tr) []*fyne.Notification {
	if next.Telework == nil || next.Telework.NoticeSeq == 0 ||
		prev.Telework != nil && prev.Telework.NoticeSeq == next.Telework.NoticeSeq {
		return nil
	}
	n := next.Telework.Notice
	who := n.UserID
	if sec := next.Telework.Section; sec != nil {
		for _, d := range sec.Staff {
			if d.UserID == n.UserID && d.UserName != "" {
				who = d.UserName
			}
		}
	}
	var title, body string
	switch n.Kind {
	case api.RequestApproved:
		title, body = tr.T(i18n.NotifyTwApproved), commentOr(n.Comment, tr)
	case api.RequestDeclined:
		title, body = tr.T(i18n.NotifyTwDeclined), commentOr(n.Comment, tr)
	case api.RequestPending:
		title, body = tr.T(i18n.NotifyTwPending), tr.T(i18n.NotifyTwPendingBody)
	case api.RequestNoticed:
		title, body = tr.T(i18n.NotifyTwNoticed), who
	case api.RequestWithdrawn:
		title, body = tr.T(i18n.NotifyTwWithdrawn), who
	case "work_start":
		title = tr.T(i18n.NotifyTwWorkStart, who, Place(n.Place, tr))
		body = i18n.TimeOfDay(n.At)
	case "work_end":
		title, body = tr.T(i18n.NotifyTwWorkEnd, who), i18n.TimeOfDay(n.At)
	case "overtime":
		title, body = tr.T(i18n.NotifyTwOvertime, who), i18n.TimeOfDay(n.At)
	default:
		return nil
	}
	return []*fyne.Notification{fyne.NewNotification(title, body)}
}

func commentOr(c string, tr *i18n.Tr) string {
	if c == "" {
		return tr.T(i18n.TwOpen)
	}
	return tr.T(i18n.TwComment, c)
}
