// Package icons holds the app icon and the tray icons, one per state. The
// SVG files are the sources; `go run gen.go` renders the PNGs: packagers
// (fyne package, .desktop files) want PNG, and small PNGs keep SVG
// rasterising and big-image decoding off the start-up path.
package icons

import (
	"embed"

	"fyne.io/fyne/v2"
)

//go:embed app-128.png tray-*.png
var files embed.FS

func load(name string) fyne.Resource {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("icons: missing embedded " + name) // a build without the files is broken
	}
	return fyne.NewStaticResource(name, b)
}

// App is the application icon (window, taskbar, About), 128×128.
var App = load("app-128.png")

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
		m[s] = load("tray-" + s + ".png")
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
