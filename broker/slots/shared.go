// Several brokers on one database (PostgreSQL): the grant is decided in
// the database, not in one broker's memory. The manager keeps its
// in-memory state as a mirror of every live slot (its own holders' and
// the other brokers'), sends its changes through the same
// group-committing journal, and the ledger's transaction, under one
// database-wide lock, applies them, ends lapsed leases, grants the queue
// head in arrival order while the granted count is under the cap and
// returns what is live. The manager then adopts that answer: grants of
// its own holders are announced on its own sockets, ends it did not make
// are reported to its holders, positions are pushed. Other brokers'
// commits reach it by notification (Ledger.Listen) and, as a fallback,
// with every sweep.

package slots

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Ledger is a database that decides grants for every broker using it. A
// Store that implements it (PostgreSQL) makes the manager shared.
type Ledger interface {
	// Decide applies ops in order in one transaction under the ledger's
	// lock. A Put of a record with QueueSeq 0 is a new request: it gets
	// the next number of the database's queue sequence, or is refused
	// (Outcome.Refused) if its user already has a slot. A Put of a
	// numbered record updates only what the holder's broker owns (the
	// holder, its broker, lease, activity, warning, bytes; never the
	// state). An End ends the slot if it still lives; a Lapsed ends every
	// slot whose lease ran out. Then queued slots are granted in service
	// order (BCP priority first, then queue number) while the granted
	// count is under the cap in force (slot_config, or d.DefaultCap before
	// IT set one, raised by BCP mode), a pool user only with a free pool
	// PC. The other brokers are told if anything changed.
	Decide(ctx context.Context, ops []Op, d Decision) (Outcome, error)
	// Listen calls changed whenever another broker's decision committed
	// (and after a reconnect, when notifications may have been missed),
	// until ctx ends.
	Listen(ctx context.Context, self string, changed func())
	// EndReasons returns the recorded end reason of ended slots.
	EndReasons(ctx context.Context, ids []string) (map[string]string, error)
}

// Decision is what Decide needs beyond the ops.
type Decision struct {
	// Now is the manager's clock, read once the ledger's lock is held: a
	// grant is then later than every end committed before it, so the
	// history never shows more slots at once than the cap allowed.
	Now        func() time.Time
	Lease      time.Duration // a grant's first lease
	DefaultCap int
	Broker     string
	// Since is the change feed's version this broker last read (0: read
	// every live slot). A ledger may then answer with the changes since
	// (Outcome.Delta): rows whose grant, holder or broker changed, and
	// the slots that ended.
	Since int64
	// Light: the batch only renews slots the database numbered already
	// (heartbeats) and records PC states and late bytes,
	// which can grant nothing and tell other brokers nothing: applied
	// without the lock, no grant, no read-back (Outcome.Partial).
	Light bool
}

// Outcome is what the ledger decided and holds after a Decide.
type Outcome struct {
	// Live is every live slot, granted ones first, then the queue in
	// service order.
	Live []Record
	// Granted are the IDs this Decide granted (this broker audits them).
	Granted []string
	// Ended are the slots this Decide ended (lapsed leases and ends).
	Ended map[string]string // slot ID → reason
	// Refused are new requests refused because the user already had a
	// slot (requested meanwhile through another broker).
	Refused []string
	// Policy (nil before IT set one) and BCP are the settings the grants
	// were decided under: a change made through another broker is
	// adopted at once, not on the next sweep.
	Policy *api.SlotConfig
	BCP    api.BCP
	// Partial: a Light batch's outcome, nothing to adopt.
	Partial bool
	// Delta: Live holds only the live slots changed since
	// Decision.Since, in no particular order, and Gone the slots that
	// ended since (beside Ended, this Decide's own); the others are as
	// the broker last read them.
	Delta bool
	Gone  map[string]string // slot ID → reason
	// Version is the change feed's version this outcome is complete up
	// to: the next Decision.Since.
	Version int64
}

// fullReadEvery bounds how long a broker goes on the change feed alone:
// heartbeat figures of other brokers' slots (IT's list) are not in it,
// and a change another broker committed outside the ledger's lock (a
// broker of the version before, during a rolling upgrade) may commit
// after a later version was read.
const fullReadEvery = 30 * time.Second

func brokerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// shared reports whether the grant is decided in the database.
func (m *Manager) shared() bool { return m.ledger != nil }

// listen runs until Close, kicking a resync whenever another broker
// committed a change.
func (m *Manager) listen(ctx context.Context) {
	m.ledger.Listen(ctx, m.cfg.Broker, func() { m.j.resync() })
}

// decide is the journal's apply on a shared ledger: the batch goes to
// the ledger, and its answer becomes the manager's state.
func (m *Manager) decide(ctx context.Context, ops []Op, sync bool) error {
	d := Decision{Now: m.now, Lease: m.cfg.Lease, DefaultCap: m.cfg.Default.Cap, Broker: m.cfg.Broker, Light: !sync}
	for _, op := range ops {
		if !(op.Put != nil && op.Put.QueueSeq > 0 || op.Terminal != nil || op.Bytes != nil) {
			d.Light = false
			break
		}
	}
	// The journal's flusher is the only caller: feed and fullAt are its.
	if m.feed > 0 && time.Since(m.fullAt) < fullReadEvery {
		d.Since = m.feed
	}
	out, err := m.ledger.Decide(ctx, ops, d)
	if err != nil {
		return err
	}
	if out.Partial {
		return nil
	}
	if out.Delta {
		out.Live = m.merged(out)
	} else {
		m.fullAt = time.Now()
	}
	m.feed = out.Version
	m.adopt(ctx, out)
	return nil
}

// merged is the live slots after a Delta outcome: those this broker
// holds in its mirror, changed by the delta, without those that ended,
// granted ones first, then the queue by number (a Delta comes only
// while BCP mode is off, whose priority would need each user's
// department).
func (m *Manager) merged(out Outcome) []Record {
	m.mu.Lock()
	byID := make(map[string]Record, len(m.byID)+len(out.Live))
	for id, s := range m.byID {
		if !s.fresh {
			byID[id] = s.rec
		}
	}
	m.mu.Unlock()
	for _, r := range out.Live {
		byID[r.ID] = r
	}
	for id := range out.Gone {
		delete(byID, id)
	}
	for id := range out.Ended {
		delete(byID, id)
	}
	live := make([]Record, 0, len(byID))
	for _, r := range byID {
		live = append(live, r)
	}
	sort.Slice(live, func(i, j int) bool {
		gi, gj := live[i].State == api.SlotGranted, live[j].State == api.SlotGranted
		if gi != gj {
			return gi
		}
		return live[i].QueueSeq < live[j].QueueSeq
	})
	return live
}

// adopt makes the ledger's answer the manager's state and tells this
// broker's holders what changed for them.
func (m *Manager) adopt(ctx context.Context, out Outcome) {
	live := make(map[string]bool, len(out.Live))
	for _, r := range out.Live {
		live[r.ID] = true
	}
	refused := map[string]bool{}
	for _, id := range out.Refused {
		refused[id] = true
	}
	// Slots that ended elsewhere: their reason is in the history.
	m.mu.Lock()
	var unknown []string
	for id, s := range m.byID {
		if !live[id] && !s.fresh && out.Ended[id] == "" && s.rec.Broker == m.cfg.Broker {
			unknown = append(unknown, id)
		}
	}
	m.mu.Unlock()
	reasons := map[string]string{}
	for id, r := range out.Gone {
		reasons[id] = r // the feed's ends come with their reason
	}
	unknown = slices.DeleteFunc(unknown, func(id string) bool { return reasons[id] != "" })
	if len(unknown) > 0 {
		if r, err := m.ledger.EndReasons(ctx, unknown); err == nil {
			reasons = r
		} else {
			m.log.Warn("slots: end reasons", "err", err)
		}
	}
	terms := m.resolveTerminals(ctx, out.Live)

	m.mu.Lock()
	now := m.now()
	c := &change{m: m}
	m.shown = max(m.shown, out.Version)
	if p := out.Policy; p != nil && !samePolicy(*p, m.policy) && p.UpdatedAt.After(m.policy.UpdatedAt) {
		m.policy = *p
		for _, s := range m.queue {
			s.pos = 0 // estimates change with the cap
		}
	}
	if !sameBCP(out.BCP, m.bcp) && out.BCP.UpdatedAt.After(m.bcp.UpdatedAt) {
		m.adoptBCP(c, out.BCP, now) // announced to this broker's apps
	}
	granted := map[string]bool{}
	for _, id := range out.Granted {
		granted[id] = true
	}
	for id := range refused {
		if s := m.byID[id]; s != nil {
			delete(m.byID, id)
			if m.byUser[s.rec.UserID] == s {
				delete(m.byUser, s.rec.UserID)
			}
		}
	}
	for _, r := range out.Live {
		if _, gone := m.ended[r.ID]; gone {
			continue // ended here; the end is in a later batch
		}
		s := m.byID[r.ID]
		if s == nil {
			if o := m.byUser[r.UserID]; o != nil && o.rec.ID != r.ID {
				if o.fresh {
					continue // our request for this user is on its way; the ledger settles it
				}
				m.drop(c, o, m.endReason(o.rec.ID, out, reasons), "", now, out.Ended[o.rec.ID] != "")
			}
			s = &slot{rec: r}
			if t, ok := terms[r.TerminalID]; ok {
				s.term = &t
				s.pool = t.Pool
			} else if r.TerminalID == "" {
				s.pool = true
			}
			m.byID[r.ID], m.byUser[r.UserID] = s, s
			if r.State == api.SlotGranted && granted[r.ID] {
				m.sawGrant(c, s, true)
			}
			continue
		}
		wasGranted := s.rec.State == api.SlotGranted
		if r.Broker != m.cfg.Broker {
			// Another broker serves the holder now: the database's
			// figures are the truth (heartbeats reach it there).
			s.rec = r
		} else {
			// This broker is ahead of the database on what it owns
			// (later heartbeats in the next batch): take only what the
			// ledger decides.
			s.rec.QueueSeq, s.rec.State, s.rec.GrantedAt, s.rec.TerminalID = r.QueueSeq, r.State, r.GrantedAt, r.TerminalID
			if r.State == api.SlotGranted && !wasGranted {
				s.rec.LeaseUntil, s.rec.LastActiveAt = r.LeaseUntil, r.LastActiveAt
			}
			// The database keeps the latest of every broker's figures
			// (GREATEST): a holder that came here from another broker
			// brings theirs, which the mirror may not have read.
			if r.LastActiveAt.After(s.rec.LastActiveAt) {
				s.rec.LastActiveAt = r.LastActiveAt
			}
			if r.LeaseUntil.After(s.rec.LeaseUntil) {
				s.rec.LeaseUntil = r.LeaseUntil
			}
			s.rec.BytesUp, s.rec.BytesDown = max(s.rec.BytesUp, r.BytesUp), max(s.rec.BytesDown, r.BytesDown)
		}
		s.fresh = false
		if s.rec.TerminalID != "" && (s.term == nil || s.term.ID != s.rec.TerminalID) {
			if t, ok := terms[s.rec.TerminalID]; ok {
				s.term = &t
			}
		}
		if !wasGranted && r.State == api.SlotGranted {
			m.sawGrant(c, s, granted[r.ID])
		}
	}
	for id, s := range m.byID {
		if !live[id] && !s.fresh {
			m.drop(c, s, m.endReason(id, out, reasons), "", now, out.Ended[id] != "")
		}
	}
	// Counts and the queue follow the ledger's order; requests not yet
	// committed wait at the end.
	var fresh []*slot
	for _, s := range m.queue {
		if s.fresh && m.byID[s.rec.ID] == s {
			fresh = append(fresh, s)
		}
	}
	m.queue, m.granted, m.inUse = m.queue[:0], 0, map[string]string{}
	for _, r := range out.Live {
		s := m.byID[r.ID]
		if s == nil {
			continue
		}
		if s.rec.State == api.SlotGranted {
			m.granted++
			if s.rec.TerminalID != "" {
				m.inUse[s.rec.TerminalID] = s.rec.ID
			}
		} else {
			m.queue = append(m.queue, s)
		}
	}
	m.queue = append(m.queue, fresh...)
	m.publishPositions(c)
	m.fillTerminals()
	after := c.after
	m.mu.Unlock()
	for _, fn := range after {
		fn()
	}
}

func (m *Manager) endReason(id string, out Outcome, reasons map[string]string) string {
	if r := out.Ended[id]; r != "" {
		return r
	}
	if r := reasons[id]; r != "" {
		return r
	}
	return api.EndLease
}

// resolveTerminals reads, outside the lock, the PCs of this broker's
// holders' slots it does not know yet (a pool PC granted elsewhere is in
// the pool list). Other brokers' PCs are read later, off the journal's
// path (fillTerminals): only IT's list shows them.
func (m *Manager) resolveTerminals(ctx context.Context, live []Record) map[string]api.Terminal {
	m.mu.Lock()
	out := map[string]api.Terminal{}
	var missing []string
	for _, t := range m.pool {
		out[t.ID] = t
	}
	for _, r := range live {
		if r.TerminalID == "" || r.Broker != m.cfg.Broker {
			continue
		}
		if _, ok := out[r.TerminalID]; ok {
			continue
		}
		if s := m.byID[r.ID]; s != nil && s.term != nil && s.term.ID == r.TerminalID {
			out[r.TerminalID] = *s.term
			continue
		}
		missing = append(missing, r.TerminalID)
	}
	m.mu.Unlock()
	if len(missing) > 0 {
		got, err := m.cfg.Terminals.GetMany(ctx, missing)
		if err != nil {
			m.log.Warn("slots: office pcs", "err", err)
		}
		for id, t := range got {
			out[id] = t
		}
	}
	return out
}

// fillTerminals reads the PCs of other brokers' slots in the background,
// one goroutine at a time; call with m.mu held.
func (m *Manager) fillTerminals() {
	if m.filling || m.closed {
		return
	}
	m.filling = true
	go func() {
		for {
			m.mu.Lock()
			var ids []string
			seen := map[string]bool{}
			for _, s := range m.byID {
				if s.term == nil && s.rec.TerminalID != "" && !seen[s.rec.TerminalID] && len(ids) < 4096 {
					seen[s.rec.TerminalID] = true
					ids = append(ids, s.rec.TerminalID)
				}
			}
			if len(ids) == 0 || m.closed {
				m.filling = false
				m.mu.Unlock()
				return
			}
			m.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			// One read for the lot: at nine o'clock this is thousands.
			got, err := m.cfg.Terminals.GetMany(ctx, ids)
			cancel()
			if err != nil {
				// Tried again after the next decision.
				m.log.Warn("slots: other brokers' office pcs", "err", err)
				m.mu.Lock()
				m.filling = false
				m.mu.Unlock()
				return
			}
			for _, id := range ids {
				if _, ok := got[id]; !ok {
					got[id] = api.Terminal{ID: id} // gone or unreadable: shown by ID
				}
			}
			m.mu.Lock()
			for _, s := range m.byID {
				if t, ok := got[s.rec.TerminalID]; ok && s.term == nil {
					s.term = &t
					s.pool = t.Pool
				}
			}
			m.mu.Unlock()
		}
	}()
}

// sawGrant takes a grant the ledger made: the holder is told if this
// broker serves them, and the grant is audited by the broker that made
// it. Call with m.mu held.
func (m *Manager) sawGrant(c *change, s *slot, decidedHere bool) {
	s.pos = 0
	if decidedHere {
		m.auditLater(audit.Event{At: s.rec.GrantedAt, Actor: s.rec.UserID, Action: "slot.granted", Target: s.rec.ID,
			Fields: map[string]string{"terminal": s.rec.TerminalID, "device": s.rec.Device}})
	}
	if s.rec.Broker != m.cfg.Broker {
		return
	}
	c.publish(s.rec.UserID, api.EventGranted, m.view(s))
	if s.term != nil {
		t := *s.term
		id, user := s.rec.ID, s.rec.UserID
		c.then(func() { m.startWake(id, user, t) })
	}
}

// publishPositions pushes the queue positions that changed to this
// broker's holders. Call with m.mu held.
func (m *Manager) publishPositions(c *change) {
	eta := m.avgLength()
	if !m.shared() {
		m.shown++ // one broker: its own order
	}
	for i, s := range m.queue {
		pos := i + 1
		if s.pos == pos {
			continue
		}
		s.pos = pos
		if m.shared() && (s.fresh || s.rec.Broker != m.cfg.Broker) {
			continue
		}
		q := api.QueueUpdate{SlotID: s.rec.ID, Position: pos, ETASeconds: m.etaSeconds(pos, eta), Version: m.shown}
		if np, ok := m.cfg.Events.(newestPublisher); ok {
			user := s.rec.UserID
			c.then(func() { np.PublishNewest(user, api.EventQueue, q.SlotID, q.Version, q) })
		} else {
			c.publishLatest(s.rec.UserID, api.EventQueue, q)
		}
	}
}
