// Package icons holds the app icon and the tray icons, one per state. The
// SVG files are the sources; app.png is rendered from app.svg by
// `go run gen.go` because packagers (fyne package, .desktop files) want PNG.
package icons

import (
	"embed"

	"fyne.io/fyne/v2"
)

//go:embed *.svg app.png
var files embed.FS

func load(name string) fyne.Resource {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("icons: missing embedded " + name) // a build without the files is broken
	}
	return fyne.NewStaticResource(name, b)
}

// App is the application icon (window, taskbar, About).
var App = load("app.png")

// Tray state names, one icon each.
const (
	SignedOut = "signed-out"
	Ready     = "ready"
	Queued    = "queued"
	Waking    = "waking"
	Connected = "connected"
	Error     = "error"
	Offline   = "offline"
)

// States lists every tray state that has an icon.
var States = []string{SignedOut, Ready, Queued, Waking, Connected, Error, Offline}

var tray = func() map[string]fyne.Resource {
	m := make(map[string]fyne.Resource, len(States))
	for _, s := range States {
		m[s] = load("tray-" + s + ".svg")
	}
	return m
}()

// Tray returns the tray icon for a state name; unknown names get the
// signed-out icon rather than nothing.
func Tray(state string) fyne.Resource {
	if r, ok := tray[state]; ok {
		return r
	}
	return tray[SignedOut]
}
