package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
)

// workLine is the home screen's card of today's work: started or not,
// the place, "start work" and "end work" (which tell the supervisor,
// replacing the phone call), and the way to the telework screen.
type workLine struct {
	root   *widget.Card
	status *widget.Label
	place  *widget.Select
	start  *widget.Button
	end    *widget.Button
	msg    *message // why the last start or end failed
	last   *api.TeleworkToday
	places []string // the codes behind place's options
}

func makeWorkLine(tr *i18n.Tr, open *widget.Button, start func(place string), end func()) *workLine {
	w := &workLine{status: widget.NewLabel(""), places: tray.Places, msg: newMessage()}
	w.status.TextStyle.Bold = true
	names := make([]string, len(w.places))
	for i, p := range w.places {
		names[i] = tray.Place(p, tr)
	}
	w.place = widget.NewSelect(names, nil)
	w.place.PlaceHolder = tr.T(i18n.TwPlace)
	w.place.SetSelectedIndex(0)
	w.start = widget.NewButtonWithIcon(tr.T(i18n.TwStartWork), theme.MediaPlayIcon(), func() {
		if i := w.place.SelectedIndex(); i >= 0 && start != nil {
			start(w.places[i])
		}
	})
	w.end = widget.NewButtonWithIcon(tr.T(i18n.TwEndWork), theme.MediaStopIcon(), end)
	title := widget.NewLabel(tr.T(i18n.TwWork))
	var head fyne.CanvasObject = title
	if open != nil {
		head = container.NewBorder(nil, nil, title, open)
	}
	row := container.NewBorder(nil, nil, nil, container.NewHBox(w.place, w.start, w.end), w.status)
	w.root = widget.NewCard("", "", container.NewVBox(head, row, w.msg.Label))
	if open == nil {
		w.root.Hide()
	}
	return w
}

// update shows st's day. Before the telework view is read (or for a
// broker without it) the start and end wait.
func (w *workLine) update(tr *i18n.Tr, st core.State) {
	tw := st.Telework
	if tw == nil || tw.Today == nil {
		w.status.SetText(tr.T(i18n.TwWorkNotStarted))
		w.start.Disable()
		w.end.Hide()
		return
	}
	day := tw.Today.Day
	if tw.Today != w.last {
		w.last = tw.Today
		w.msg.clear() // a new reading after the failure
	}
	switch {
	case !tw.Started():
		// A connect alone starts the record but not the declared work:
		// "start work" still tells the supervisor and sets the place.
		w.status.SetText(tr.T(i18n.TwWorkNotStarted))
		w.place.Show()
		w.start.Show()
		w.end.Hide()
	case day.End.IsZero():
		w.status.SetText(tr.T(i18n.TwWorkStarted, i18n.TimeOfDay(day.Start), tray.Place(day.Place, tr)))
		w.place.Hide()
		w.start.Hide()
		w.end.Show()
	default:
		// Ended (or disconnected since): "end work" again moves the end.
		w.status.SetText(tr.T(i18n.TwWorkEnded, i18n.TimeOfDay(day.Start), i18n.TimeOfDay(day.End), tray.Place(day.Place, tr)))
		w.place.Hide()
		w.start.Hide()
		w.end.Show()
	}
	if st.Online {
		w.start.Enable()
		w.end.Enable()
	} else {
		w.start.Disable()
		w.end.Disable()
	}
}
