// The gate a slot request passes beyond the cap, and the hours a session
// may run: the telework policy (broker/telework), wired by
// broker/services. Without a gate nothing changes.

package slots

import (
	"context"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Gate is what the slots ask of the telework policy.
type Gate interface {
	// Admit refuses a new slot with an api.Error that says how to get
	// one (ask for approval, wait for the allowed hours); nil admits.
	Admit(ctx context.Context, userID string) error
	// Windows gives the end of today's allowed hours of those of the
	// users whose department sets them.
	Windows(ctx context.Context, userIDs []string) (map[string]Window, error)
}

// Window is the end of a user's allowed hours: a warning Warn before
// EndsAt, and the session ended then if Disconnect.
type Window struct {
	EndsAt     time.Time
	Warn       time.Duration
	Disconnect bool
}

// SetGate sets the gate (telework is built after the slots).
func (m *Manager) SetGate(g Gate) {
	m.mu.Lock()
	m.gate = g
	m.mu.Unlock()
}

// admit asks the gate, outside the lock (it reads the database).
func (m *Manager) admit(ctx context.Context, userID string) error {
	m.mu.Lock()
	g := m.gate
	m.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.Admit(ctx, userID)
}

// windows reads the allowed hours of the users holding granted slots,
// outside the lock; a failed read leaves the hours unenforced this sweep
// rather than ending sessions on a guess.
func (m *Manager) windows(ctx context.Context) map[string]Window {
	m.mu.Lock()
	g := m.gate
	var users []string
	if g != nil {
		for _, s := range m.byID {
			if s.rec.State == api.SlotGranted {
				users = append(users, s.rec.UserID)
			}
		}
	}
	m.mu.Unlock()
	if g == nil || len(users) == 0 {
		return nil
	}
	w, err := g.Windows(ctx, users)
	if err != nil {
		m.log.Warn("slots: allowed hours", "err", err)
		return nil
	}
	return w
}
