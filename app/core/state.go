// Package core is the desktop app's brain without a face: login, slot,
// wake, tunnel, launch and heartbeat. It publishes State snapshots; the UI
// and the tray subscribe and never mutate.
package core

import (
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Phase is where the main job stands.
type Phase int

const (
	SignedOut  Phase = iota // no valid session: show the login screen
	Ready                   // signed in, not connected: the big button says "connect"
	Requesting              // asking the broker for a slot
	Queued                  // waiting for a slot; State.Queue holds the position
	Waking                  // the office PC is being woken / probed
	Connecting              // tunnel up, RDP client starting
	Connected               // RDP client running; State.Since is when it started
	Ending                  // disconnect in progress
	Failed                  // the last attempt failed; State.Err says why and what to do
)

// String returns a stable, untranslated name (for logs and tests; the UI
// translates through app/i18n).
func (p Phase) String() string {
	switch p {
	case SignedOut:
		return "signed_out"
	case Ready:
		return "ready"
	case Requesting:
		return "requesting"
	case Queued:
		return "queued"
	case Waking:
		return "waking"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Ending:
		return "ending"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Busy reports whether a connection attempt or session is in progress, so
// the big button shows "disconnect/cancel" rather than "connect".
func (p Phase) Busy() bool { return p >= Requesting && p <= Ending }

// TerminalState is what the broker last knew of the office PC.
type TerminalState string

const (
	TerminalUnknown TerminalState = ""
	TerminalAsleep  TerminalState = "asleep"
	TerminalAwake   TerminalState = "awake"
	TerminalInUse   TerminalState = "in_use"
)

// WakeStage is the progress of waking the office PC.
type WakeStage string

const (
	WakeChecking WakeStage = "checking"
	WakeSending  WakeStage = "waking"
	WakeWaiting  WakeStage = "waiting"
	WakeReady    WakeStage = "ready"
	WakeFailed   WakeStage = "failed"
)

// Terminal is the office PC paired with the user, as the app shows it.
type Terminal struct {
	ID     string
	Name   string
	State  TerminalState
	SeenAt time.Time // when it last answered the broker's probe; zero: unknown
}

// EndReason says why a session ended: the broker's reasons and the ones
// the app sees itself from the RDP client and the tunnel. All are normal
// ends; a failure is Failed with State.Err instead.
type EndReason string

const (
	EndUser      EndReason = api.EndUser      // Disconnect pressed in the app (or the queue left)
	EndIdle      EndReason = api.EndIdle      // the broker: no activity for the idle limit
	EndMaxLength EndReason = api.EndMaxLength // the broker: the maximum session length
	EndAdmin     EndReason = api.EndAdmin     // the broker: IT ended it
	EndLease     EndReason = api.EndLease     // the broker: the app went silent (a long network drop)
	// EndSignInEnded: the broker: the sign-in that held the slot ended
	// (signed out elsewhere, the password changed, the laptop revoked).
	EndSignInEnded EndReason = api.EndSignedOut
	// EndHours: the broker: the department's allowed telework hours ended.
	EndHours EndReason = api.EndHours

	EndClosed       EndReason = "client_closed"       // the RDP window was closed
	EndDisconnected EndReason = "terminal_disconnect" // Disconnect chosen inside the office PC's session
	EndSignedOut    EndReason = "terminal_signed_out" // signed out of the office PC
	EndByTerminal   EndReason = "terminal_ended"      // the office PC ended the connection
	EndNetwork      EndReason = "network"             // the connection broke
)

// ByUser reports whether the user ended the session themselves (nothing
// to notify them about).
func (r EndReason) ByUser() bool {
	return r == EndUser || r == EndClosed || r == EndDisconnected || r == EndSignedOut
}

// EndWarning is the broker's notice that it will end the session soon.
// Core keeps the reason and the time, not words: the faces say it in the
// language the user reads now, which may have changed since it arrived.
type EndWarning struct {
	Reason string    // api.EndIdle or api.EndMaxLength; "" when no end is announced
	EndsAt time.Time // when the broker ends the session
}

// Active reports whether an end is announced.
func (w EndWarning) Active() bool { return w.Reason != "" }

// Same reports whether w and o announce the same end (a repeat of a
// notice is not news).
func (w EndWarning) Same(o EndWarning) bool { return w.Reason == o.Reason && w.EndsAt.Equal(o.EndsAt) }

// State is one immutable snapshot of everything the faces show. It holds
// codes, counts and times, never sentences: app/ui and app/tray translate
// it through app/i18n when they draw it.
type State struct {
	Phase               Phase
	Online              bool      // the event socket to the broker is up
	User                *api.User // nil when SignedOut
	Terminal            *Terminal // the paired office PC, nil if none is paired
	Queue               int       // 1-based position while Queued
	QueueETA            time.Duration
	Wake                WakeStage  // while Waking
	Since               time.Time  // when the current phase began (Connected: session start)
	SlotsFree, SlotsCap int        // e.g. 28 free of 140; 0/0 when unknown
	Err                 *api.Error // set in Failed (and for a non-fatal notice otherwise); the catalogue holds ja and en
	EndReason           EndReason  // why the last session ended; "" before the first
	EndMessage          string     // IT's own words when IT ended the session, shown as written
	Warning             EndWarning // a coming end of the running session
	BCP                 *BCP       // BCP mode is on at the broker; nil when off
	// Revoked is set when IT revoked this laptop (lost or stolen): the
	// app has uploaded its operation log, wiped its sign-in and shows
	// the revoked screen instead of the login.
	Revoked  *Revocation
	Telework *Telework // the telework view; nil until first read (and signed out)
}

// BCP is the broker's business-continuity mode as the app shows it: IT's
// reason is shown as written, like EndMessage.
type BCP struct {
	Reason string
	Since  time.Time
	Cap    int
}

func bcpFrom(n *api.BCPNotice) *BCP {
	if n == nil || !n.Active {
		return nil
	}
	return &BCP{Reason: n.Reason, Since: n.Since, Cap: n.Cap}
}

// setTerminalState changes the terminal's state in a copy, since snapshots
// already handed out share the old one.
func (s *State) setTerminalState(ts TerminalState) {
	if s.Terminal == nil {
		return
	}
	t := *s.Terminal
	t.State = ts
	s.Terminal = &t
}
