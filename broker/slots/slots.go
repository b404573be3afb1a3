// Package slots hands out the concurrent sessions the cap allows: a slot
// is a lease renewed by heartbeat; when the cap is reached requests wait in
// a first-come-first-served queue whose positions are pushed to the app;
// IT's session policy (idle timeout, maximum length) ends sessions with a
// warning first.
//
// The manager decides in memory under one mutex (so the count can never
// pass the cap, however many requests race) and makes every decision
// durable through a group-committing journal before anyone is answered.
package slots

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Record is a live slot as stored.
type Record struct {
	ID           string
	UserID       string
	State        string // api.SlotQueued or api.SlotGranted
	QueueSeq     int64  // request order
	TerminalID   string // empty while a pool user waits for a pool PC
	Device       string // what the app says it runs on, for IT's view
	SessionID    string // the sign-in that holds the slot
	DeviceID     string // the enrolled laptop of that sign-in
	RequestedAt  time.Time
	GrantedAt    time.Time
	LeaseUntil   time.Time
	LastActiveAt time.Time
	Warned       string // the end reason the user was already warned about
	BytesUp      int64
	BytesDown    int64
	// Broker names the broker that last served the slot's holder (its
	// event socket is there): on a shared ledger only that broker tells
	// the user of a grant or an end. Empty on SQLite (one broker).
	Broker string
}

// Holder is who asks about a slot: the user, their sign-in (session) and
// its enrolled laptop. A slot belongs to the sign-in that acquired it;
// another sign-in of the same laptop (the app signed in again) takes it
// over, a sign-in from elsewhere can neither renew it nor tunnel through
// it, and it ends when its sign-in ends.
type Holder struct {
	UserID, SessionID, DeviceID string
	// Department and Roles decide BCP mode's priority.
	Department string
	Roles      []api.Role
}

// Ended is a slot that is over, for the history.
type Ended struct {
	Record
	EndedAt time.Time
	Reason  string
}

// Op is one change for the store; exactly one field is set.
type Op struct {
	Put      *Record
	End      *Ended
	Config   *api.SlotConfig
	Terminal *TerminalState
	Bytes    *LateBytes
	BCP      *api.BCP
	// Lapsed ends, on a shared ledger (Ledger), every slot whose lease
	// ran out by then, whichever broker served it; the in-memory
	// manager ends its lapsed slots itself and never sends it.
	Lapsed *time.Time
}

// LateBytes is traffic reported for a slot after it ended (a tunnel
// outlives its slot by a moment: the relay reports its last bytes as it
// closes); it is added to the slot's history row.
type LateBytes struct {
	SlotID   string
	Up, Down int64
}

// TerminalState is what waking an office PC found out (api.TerminalAwake or
// api.TerminalAsleep); it rides the journal so that hundreds of wakes
// cost a few transactions.
type TerminalState struct {
	TerminalID, State string
	At                time.Time
}

// EndRequest is an end asked for from outside the running broker (the CLI).
type EndRequest struct {
	SlotID, Actor, Reason string
	At                    time.Time
}

// Store is what slots need from the database.
type Store interface {
	LoadSlots(ctx context.Context) ([]Record, error)
	// LoadConfig returns ErrNoConfig when IT never set one.
	LoadConfig(ctx context.Context) (api.SlotConfig, error)
	// LoadBCP returns BCP mode's state, the zero value (off, no cap)
	// before IT configured it.
	LoadBCP(ctx context.Context) (api.BCP, error)
	// RecentLengths returns the lengths of the n most recent granted sessions.
	RecentLengths(ctx context.Context, n int) ([]time.Duration, error)
	// ApplySlots writes ops in order in one transaction.
	ApplySlots(ctx context.Context, ops []Op) error
	EndRequests(ctx context.Context) ([]EndRequest, error)
	AddEndRequest(ctx context.Context, r EndRequest) error
	DeleteEndRequest(ctx context.Context, slotID string) error
	// LiveSlots lists granted and queued slots as stored, for IT's
	// one-shot commands, which cannot reach a running broker's memory.
	LiveSlots(ctx context.Context) ([]api.Slot, error)
}

// ErrNoConfig is returned by Store.LoadConfig before IT set a policy.
var ErrNoConfig = errors.New("no slot config")

// ErrNoTerminal is returned by Terminals.ForUser when no PC is paired.
var ErrNoTerminal = errors.New("no office pc paired")

var errClosed = errors.New("slots: closed")

// Terminals is what slots need to know of office PCs.
type Terminals interface {
	// ForUser returns the PC paired with the user, or ErrNoTerminal.
	ForUser(ctx context.Context, userID string) (api.Terminal, error)
	Get(ctx context.Context, id string) (api.Terminal, error)
	// GetMany returns the PCs of ids that exist, by ID, in one read.
	GetMany(ctx context.Context, ids []string) (map[string]api.Terminal, error)
	// Pool lists the shared PCs.
	Pool(ctx context.Context) ([]api.Terminal, error)
}

// Publisher pushes events to one user's event socket: Publish for events
// a reconnecting app must not miss (stored, numbered), PublishLatest for
// latest-value updates (queue position) that only open sockets get.
type Publisher interface {
	Publish(userID, typ string, data any)
	PublishLatest(userID, typ string, data any)
}

// newestPublisher is a Publisher that drops a latest value older than
// one already passed on (events.Hub.PublishNewest): queue positions
// announced by two brokers may cross on their way.
type newestPublisher interface {
	PublishNewest(userID, typ, key string, version int64, data any)
}

// WakeFunc wakes an office PC, reporting each stage (api.WakeChecking ...).
type WakeFunc func(ctx context.Context, t api.Terminal, progress func(stage, detail string)) error

// Config is what a Manager is built from.
type Config struct {
	Store     Store
	Terminals Terminals
	Events    Publisher
	Audit     audit.Recorder
	Log       *slog.Logger
	Now       func() time.Time
	// Lease is how long a slot lives without a heartbeat (default 90 s);
	// the app sends one every Heartbeat (default 30 s).
	Lease, Heartbeat time.Duration
	// Defaults until IT sets a policy.
	Default api.SlotConfig
	// People (may be nil) gives the department and roles of requests
	// reloaded after a restart, for BCP priority.
	People People
	// Broadcast (may be nil) announces BCP mode to every running app.
	Broadcast Broadcaster
	// Broker names this broker among those sharing a Ledger (default:
	// host, process and a random part).
	Broker string
}

// DefaultPolicy is the policy before IT sets one: the national LGWAN
// service's 140 sessions, 30 minutes idle, 8 hours at most, 5 minutes'
// warning.
var DefaultPolicy = api.SlotConfig{Cap: 140, IdleMinutes: 30, MaxMinutes: 480, WarnMinutes: 5}

// Limits of the policy values IT may set.
const (
	MaxCap     = 100000
	MaxMinutes = 24 * 60
	MaxWarn    = 60
)

func validateConfig(c api.SlotConfig) error {
	switch {
	case c.Cap < 0 || c.Cap > MaxCap:
		return api.Errf(api.CodeValidation, "cap: between 0 and %d", MaxCap)
	case c.IdleMinutes < 0 || c.IdleMinutes > MaxMinutes:
		return api.Errf(api.CodeValidation, "idle_minutes: between 0 (off) and %d", MaxMinutes)
	case c.MaxMinutes < 0 || c.MaxMinutes > MaxMinutes:
		return api.Errf(api.CodeValidation, "max_minutes: between 0 (off) and %d", MaxMinutes)
	case c.WarnMinutes < 0 || c.WarnMinutes > MaxWarn:
		return api.Errf(api.CodeValidation, "warn_minutes: between 0 and %d", MaxWarn)
	}
	return nil
}
