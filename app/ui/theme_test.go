package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/zaitaku/zaitaku/platform/font"
)

// TestBoldTextUsesTheJapaneseBoldFace: bold text gets the OS's bold
// Japanese face, other styles Fyne's; without such a face, Fyne's bold.
func TestBoldTextUsesTheJapaneseBoldFace(t *testing.T) {
	loads := 0
	th := newBoldCJKTheme(theme.DefaultTheme(), func() ([]byte, error) { loads++; return font.JapaneseBold() })
	bold := th.Font(fyne.TextStyle{Bold: true})
	if bold == theme.DefaultTheme().Font(fyne.TextStyle{Bold: true}) || len(bold.Content()) < 1e6 {
		t.Fatalf("bold font %s (%d bytes): not the Japanese bold face", bold.Name(), len(bold.Content()))
	}
	if th.Font(fyne.TextStyle{}) != theme.DefaultTheme().Font(fyne.TextStyle{}) {
		t.Error("regular text changed font")
	}
	if th.Font(fyne.TextStyle{Bold: true, Monospace: true}) != theme.DefaultTheme().Font(fyne.TextStyle{Bold: true, Monospace: true}) {
		t.Error("bold monospace changed font")
	}
	th.Font(fyne.TextStyle{Bold: true})
	if loads != 1 {
		t.Errorf("font loaded %d times, want once", loads)
	}
	none := newBoldCJKTheme(theme.DefaultTheme(), func() ([]byte, error) { return nil, errors.New("none") })
	if none.Font(fyne.TextStyle{Bold: true}) != theme.DefaultTheme().Font(fyne.TextStyle{Bold: true}) {
		t.Error("without a Japanese bold face, bold is not Fyne's")
	}
}
