// Package audit is how the broker records its own actions (admin changes,
// policy relaxations, logins, slot grants): one Recorder every domain calls.
// Events land in the operation-log store next to the devices' events.
package audit

import (
	"context"
	"log/slog"
	"time"
)

// Event is one server-side operation.
type Event struct {
	At     time.Time         `json:"at"`
	Actor  string            `json:"actor"`            // staff ID, "cli", or "system"
	Action string            `json:"action"`           // e.g. "auth.login_ok", "admin.user_created"
	Target string            `json:"target,omitempty"` // the object acted on (user, device, terminal)
	Fields map[string]string `json:"fields,omitempty"` // never secrets
}

// Recorder records events. Implementations must not lose an event they
// accepted; Record blocks until the event is durable or returns an error.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// Slog writes events to a logger: the fallback before a durable recorder
// is wired, and handy in tests.
type Slog struct{ Log *slog.Logger }

// Record implements Recorder.
func (s Slog) Record(_ context.Context, e Event) error {
	if s.Log == nil {
		return nil
	}
	args := []any{"actor", e.Actor, "action", e.Action}
	if e.Target != "" {
		args = append(args, "target", e.Target)
	}
	for k, v := range e.Fields {
		args = append(args, k, v)
	}
	s.Log.Info("audit", args...)
	return nil
}
