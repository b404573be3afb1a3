package ui

import (
	"sync"

	"fyne.io/fyne/v2"
)

// boldCJKTheme is the app's theme: Fyne's, except that bold text uses a
// bold face with Japanese glyphs. Fyne's bundled bold face has none, so
// without this a bold 総務課-01 draws 総務課 from the regular Japanese
// fallback and -01 in bold.
type boldCJKTheme struct {
	fyne.Theme
	load func() ([]byte, error)

	once sync.Once
	bold fyne.Resource // nil: no bold Japanese face on this computer
}

// newBoldCJKTheme wraps base; load finds the font (platform/font) the
// first time bold text is drawn, so a start-up that shows no bold text
// does not pay for it.
func newBoldCJKTheme(base fyne.Theme, load func() ([]byte, error)) *boldCJKTheme {
	return &boldCJKTheme{Theme: base, load: load}
}

// Font implements fyne.Theme.
func (t *boldCJKTheme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Bold && !s.Monospace && !s.Symbol {
		t.once.Do(func() {
			if b, err := t.load(); err == nil {
				t.bold = fyne.NewStaticResource("japanese-bold.otf", b)
			}
		})
		if t.bold != nil {
			return t.bold
		}
	}
	return t.Theme.Font(s)
}
