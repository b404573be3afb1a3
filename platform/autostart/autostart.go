// Package autostart starts the app when the user signs in to the OS: an XDG
// autostart entry on Linux, a LaunchAgent on macOS, the HKCU Run key on
// Windows. Other systems return errors.ErrUnsupported.
package autostart

import "errors"

// ErrUnsupported is returned on systems without an implementation.
var ErrUnsupported = errors.ErrUnsupported

// Entry describes what to start.
type Entry struct {
	ID   string   // reverse-DNS app ID, e.g. "jp.lg.zaitaku"; names the file or registry value
	Name string   // shown in the OS's startup list
	Exec string   // absolute path of the executable
	Args []string // e.g. ["-minimized"]
}

// Enable makes the OS start e at sign-in (replacing an older entry).
func (e Entry) Enable() error { return enable(e) }

// Disable removes the entry; removing a missing entry is not an error.
func (e Entry) Disable() error { return disable(e) }

// Enabled reports whether the entry exists.
func (e Entry) Enabled() (bool, error) { return enabled(e) }
