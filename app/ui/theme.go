package ui

import (
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// boldCJKTheme is the app's theme: Fyne's, except that bold text uses a
// bold face with Japanese glyphs. Fyne's bundled bold face has none, so
// without this a bold 総務課-01 draws 総務課 from the regular Japanese
// fallback and -01 in bold.
type boldCJKTheme struct {
	fyne.Theme
	bold fyne.Resource
}

// Font implements fyne.Theme.
func (t *boldCJKTheme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Bold && !s.Monospace && !s.Symbol {
		return t.bold
	}
	return t.Theme.Font(s)
}

// useBoldCJK loads the bold Japanese face (platform/font) off the UI
// thread and switches the theme to it once it is there; UI.Started calls
// it once the window is up. Loading it before the first frame, even in the
// background, put about 0.1 s (a 17 MB face to read, parse and draw from)
// between the app's start and its window on two busy cores; this way the
// window comes up as fast as before and its bold text turns fully bold a
// moment later. Without such a face, Fyne's bold stays.
func useBoldCJK(a fyne.App, load func() ([]byte, error), log *slog.Logger) {
	go func() {
		b, err := load()
		if err != nil {
			log.Warn("no bold Japanese font: bold text stays Fyne's", "err", err)
			return
		}
		res := fyne.NewStaticResource("japanese-bold.otf", b)
		fyne.Do(func() { a.Settings().SetTheme(&boldCJKTheme{Theme: theme.DefaultTheme(), bold: res}) })
	}()
}
