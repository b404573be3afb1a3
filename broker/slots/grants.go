// What the relay asks of the slots: where a granted slot may go, and
// the traffic it carried.

package slots

import (
	"context"
	"net"
	"strconv"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Target returns the address of the office PC behind a granted slot of
// this holder: the only place the relay may dial for them.
func (m *Manager) Target(ctx context.Context, h Holder, slotID string) (string, error) {
	m.mu.Lock()
	s, err := m.findFor(h, slotID)
	if err != nil {
		m.mu.Unlock()
		return "", err
	}
	if s.rec.State != api.SlotGranted || s.rec.TerminalID == "" {
		m.mu.Unlock()
		return "", api.Err(api.CodeSlotNotGranted)
	}
	id := s.rec.TerminalID
	m.mu.Unlock()
	// Read the PC fresh: IT may have corrected its address.
	t, err := m.cfg.Terminals.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(t.RDPPort)), nil
}

// AddBytes counts tunnel traffic of a slot; bytes from the user (up) count
// as activity for the idle timeout. Counters reach the database with the
// next heartbeat.
func (m *Manager) AddBytes(slotID string, up, down int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[slotID]
	if s == nil {
		if _, ended := m.ended[slotID]; ended && (up > 0 || down > 0) && !m.closed {
			// The slot ended before its tunnel: count the tail in its
			// history. Nobody waits for this write.
			m.commit(&change{m: m, ops: []Op{{Bytes: &LateBytes{SlotID: slotID, Up: up, Down: down}}}})
		}
		return
	}
	s.rec.BytesUp += up
	s.rec.BytesDown += down
	if up > 0 {
		s.rec.LastActiveAt = m.now()
		if s.rec.Warned == api.EndIdle {
			s.rec.Warned = ""
		}
	}
}
