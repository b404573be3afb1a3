package ui

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/zaitaku/zaitaku/platform/font"
)

// TestBoldTextUsesTheJapaneseBoldFace: once loaded, bold text gets the
// OS's bold Japanese face and other styles Fyne's; without such a face
// the theme stays Fyne's.
func TestBoldTextUsesTheJapaneseBoldFace(t *testing.T) {
	a := test.NewTempApp(t)
	useBoldCJK(a, font.JapaneseBold, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := a.Settings().Theme().(*boldCJKTheme); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the theme did not switch to the bold Japanese face")
		}
		time.Sleep(10 * time.Millisecond)
	}
	th := a.Settings().Theme()
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

	b := test.NewTempApp(t)
	before := b.Settings().Theme()
	useBoldCJK(b, func() ([]byte, error) { return nil, errors.New("none") }, slog.New(slog.DiscardHandler))
	time.Sleep(50 * time.Millisecond)
	if b.Settings().Theme() != before {
		t.Error("without a Japanese bold face the theme changed")
	}
}
