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

var phaseNames = [...]string{"signed_out", "ready", "requesting", "queued", "waking", "connecting", "connected", "ending", "failed"}

// String returns a stable, untranslated name (for logs and tests; the UI
// translates through app/i18n).
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "unknown"
}

// Busy reports whether a connection attempt or session is in progress, so
// the big button shows "disconnect/cancel" rather than "connect".
func (p Phase) Busy() bool { return p >= Requesting && p <= Ending }

// PCState is what the broker last knew of the office PC.
type PCState string

const (
	PCUnknown PCState = ""
	PCAsleep  PCState = "asleep"
	PCAwake   PCState = "awake"
	PCInUse   PCState = "in_use"
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
	ID    string
	Name  string
	State PCState
}

// State is one immutable snapshot of everything the faces show.
type State struct {
	Phase               Phase
	Online              bool      // the event socket to the broker is up
	User                *api.User // nil when SignedOut
	PC                  *Terminal // the paired office PC, nil if none is paired
	Queue               int       // 1-based position while Queued
	QueueETA            time.Duration
	Wake                WakeStage  // while Waking
	Since               time.Time  // when the current phase began (Connected: session start)
	SlotsFree, SlotsCap int        // e.g. 28 free of 140; 0/0 when unknown
	Err                 *api.Error // set in Failed (and for a non-fatal notice otherwise)
	EndReason           string     // why the last session ended (user, idle, max_length, admin, lease)
	Warning             string     // e.g. "session ends in 5 minutes"; empty when none
}
