package api

import (
	"encoding/json"
	"time"
)

// Event is one message on the event socket (GET /v1/events). Seq grows by
// one per user and event; a reconnecting app passes ?after=<last Seq seen>
// and receives exactly the events it missed. Latest-value events (queue
// position) and the socket's own messages (hello, resync) carry Seq 0: they
// are not stored or replayed.
type Event struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Event types. Later domains (chat, presence, notices) add their own.
const (
	EventHello   = "hello"        // first message after connecting; Data: Hello (Seq 0, not stored)
	EventResync  = "resync"       // events after ?after= were purged: refetch state (Seq 0, not stored)
	EventError   = "error"        // the app sent a frame; the socket takes none (Seq 0, not stored); Data: Error
	EventQueue   = "slot.queue"   // Data: QueueUpdate
	EventGranted = "slot.granted" // Data: Slot
	EventWarning = "slot.warning" // Data: SlotWarning
	EventEnded   = "slot.ended"   // Data: EndedNotice
	EventWake    = "slot.wake"    // Data: WakeProgress
	EventBCP     = "bcp"          // BCP mode switched on or off; to every open socket (Seq 0, not stored); Data: BCPNotice
)

// Hello tells the app where the stream stands.
type Hello struct {
	LastSeq int64 `json:"last_seq"` // the newest event stored for this user
}

// QueueUpdate is the caller's place in the queue.
type QueueUpdate struct {
	SlotID     string `json:"slot_id"`
	Position   int    `json:"position"`
	ETASeconds int    `json:"eta_seconds"`
	// Version orders the updates of one slot (across brokers, the
	// database's change feed): a lower one than an update already shown
	// is older news (the broker's hub drops it).
	Version int64 `json:"version,omitempty"`
}

// SlotWarning announces an end: reason EndIdle, EndMaxLength or EndHours
// (the end of the department's allowed telework hours).
type SlotWarning struct {
	SlotID string    `json:"slot_id"`
	Reason string    `json:"reason"`
	EndsAt time.Time `json:"ends_at"`
}

// EndedNotice says a slot is over and why (EndUser, EndIdle, ...).
type EndedNotice struct {
	SlotID  string `json:"slot_id"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"` // from IT, when they ended it
}

// Wake stages, as the broker's waker reports them.
const (
	WakeChecking = "checking"
	WakeWaking   = "waking"
	WakeWaiting  = "waiting"
	WakeReady    = "ready"
	WakeFailed   = "failed"
)

// WakeProgress is one step of waking the office PC.
type WakeProgress struct {
	SlotID string `json:"slot_id"`
	Stage  string `json:"stage"`
	Detail string `json:"detail,omitempty"`
}
