// Waking the office PC of a granted slot, and remembering what the wake
// found.

package slots

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// startWake wakes the PC of a newly granted slot in the background and
// pushes each stage to the user. It runs after the grant is durable.
func (m *Manager) startWake(slotID, userID string, t api.Terminal) {
	m.mu.Lock()
	if m.closed || m.byID[slotID] == nil {
		m.mu.Unlock()
		return
	}
	wake := m.wake
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	m.wakes[slotID] = cancel
	m.mu.Unlock()
	if wake == nil {
		wake = probeOnly
	}
	go func() {
		defer func() {
			cancel()
			m.mu.Lock()
			delete(m.wakes, slotID)
			m.mu.Unlock()
		}()
		progress := func(stage, detail string) {
			if m.cfg.Events != nil {
				m.cfg.Events.Publish(userID, api.EventWake, api.WakeProgress{SlotID: slotID, Stage: stage, Detail: detail})
			}
		}
		err := wake(ctx, t, progress)
		state := api.TerminalAwake
		if err != nil {
			if ctx.Err() != nil {
				return // the slot ended meanwhile
			}
			state = api.TerminalAsleep
			m.log.Warn("wake office pc", "terminal", t.ID, "slot", slotID, "err", err)
		}
		m.noteTerminalState(slotID, t, state)
	}()
}

// probeOnly is the waker used when none is configured: it can tell an
// awake PC from an unreachable one, but cannot switch a PC on.
func probeOnly(ctx context.Context, t api.Terminal, progress func(stage, detail string)) error {
	progress(api.WakeChecking, "")
	addr := net.JoinHostPort(t.Address, strconv.Itoa(t.RDPPort))
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		progress(api.WakeFailed, "no answer on "+addr+" and no Wake-on-LAN configured")
		return err
	}
	conn.Close()
	progress(api.WakeReady, "")
	return nil
}

// noteTerminalState remembers what a wake found, for the user's view and the
// database (through the journal; nobody waits for it).
func (m *Manager) noteTerminalState(slotID string, t api.Terminal, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if s := m.byID[slotID]; s != nil && s.term != nil && s.term.ID == t.ID {
		s.term.State = state
	}
	if t.State == state {
		return
	}
	c := &change{m: m}
	c.ops = append(c.ops, Op{Terminal: &TerminalState{TerminalID: t.ID, State: state, At: m.now()}})
	m.commit(c)
}
