package ui

import (
	"time"

	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// texts returns every visible label, button and check text under o.
func texts(o fyne.CanvasObject) []string {
	var out []string
	for _, c := range test.LaidOutObjects(o) {
		if !c.Visible() {
			continue
		}
		switch w := c.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *widget.Button:
			out = append(out, w.Text)
		case *widget.Check:
			out = append(out, w.Text)
		}
	}
	return out
}

func containsText(o fyne.CanvasObject, s string) bool {
	for _, t := range texts(o) {
		if t == s {
			return true
		}
	}
	return false
}

func containsObj(root, o fyne.CanvasObject) bool {
	for _, c := range test.LaidOutObjects(root) {
		if c == o {
			return true
		}
	}
	return false
}

func findButton(t *testing.T, root fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, c := range test.LaidOutObjects(root) {
		if b, ok := c.(*widget.Button); ok && b.Text == text && b.Visible() {
			return b
		}
	}
	t.Fatalf("no button %q among %q", text, texts(root))
	return nil
}

// The screens show wall-clock times in the laptop's zone; tests pin it so
// that golden files and expected texts do not depend on where they run.
func init() { time.Local = time.UTC }
