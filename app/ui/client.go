// Package ui is the desktop app's face: the Fyne screens (first run, login,
// home, settings, about) and the controller that routes between them from
// core.State snapshots. Each screen is built by a makeX(tr, view, actions)
// function that tests drive with fyne.io/fyne/v2/test; background work
// reaches widgets only through fyne.Do.
package ui

import (
	"context"
	"errors"

	"github.com/zaitaku/zaitaku/app/core"
)

// Client is the part of *core.Client the faces use. Every method that talks
// to the broker is called off the UI thread. Errors are *api.Error carrying
// the code and what to do next in both languages.
type Client interface {
	// Subscribe calls fn with the current state at once, then on each change,
	// from a background goroutine.
	Subscribe(fn func(core.State)) (cancel func())
	State() core.State
	Login(ctx context.Context, staffID, password, otp string, remember bool) (*LoginStep, error)
	EnrollTOTP(ctx context.Context, code string) (*LoginStep, error)
	ChangePassword(ctx context.Context, oldPw, newPw string) (*LoginStep, error)
	// Resume signs in from the saved refresh token; false when none is saved.
	Resume(ctx context.Context) (bool, error)
	Connect()
	Disconnect()
	Logout(ctx context.Context) error
	Close()
}

// Autostart switches starting at OS sign-in (platform/autostart.Entry).
type Autostart interface {
	Enable() error
	Disable() error
	Enabled() (bool, error)
}

// diagnoser is implemented by *core.Client: its own view for the help desk
// (device ID, recent error codes), appended to the app's.
type diagnoser interface{ Diagnostics() string }

// ErrNoKeyring is what Options.NewClient wraps when the OS keyring cannot be
// reached, so first run can say so instead of blaming the broker settings.
var ErrNoKeyring = errors.New("os keyring unavailable")
