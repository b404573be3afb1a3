package slots

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// slot is a live slot in memory.
type slot struct {
	rec  Record
	term *api.Terminal // resolved PC; nil while a pool user waits for one
	pool bool          // the user has no PC of their own
	pos  int           // last position published to the user (queued)
	// hoursWarned: the end of the allowed hours was announced (memory
	// only: a restarted broker announces it once more).
	hoursWarned bool
	who         Person // for BCP priority
	// fresh: a request on a shared ledger not committed yet (it has no
	// queue number until the database gives it one).
	fresh bool
	// movedHere: on a shared ledger, the holder came to this broker from
	// another (dead, or left): events this broker did not publish may
	// have been missed.
	movedHere bool
	// reassigned: on a shared ledger, the slot's broker or sign-in
	// changed and is not committed yet. Other brokers learn it from the
	// change feed, whose versions are in commit order only for writes
	// made under the ledger's lock: the put goes in a locked batch.
	reassigned bool
}

// Manager hands out slots. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	j      *journal
	audits chan audit.Event
	ledger Ledger             // nil: this broker alone decides, in memory
	stop   context.CancelFunc // ends the ledger's listener

	mu      sync.Mutex // guards everything below
	policy  api.SlotConfig
	byID    map[string]*slot
	byUser  map[string]*slot
	queue   []*slot // queued slots in request order
	granted int
	seq     int64                         // last QueueSeq handed out
	inUse   map[string]string             // terminal ID → slot ID of granted slots
	pool    []api.Terminal                // the shared PCs
	ended   map[string]endedInfo          // recently ended slot IDs, for a clear answer to late heartbeats
	lengths []time.Duration               // recent session lengths (ring) for the wait estimate
	onEnd   []func(slotID string)         // hooks (the relay drops tunnels)
	wake    WakeFunc                      // nil: probe the RDP port only
	wakes   map[string]context.CancelFunc // slot ID → running wake
	gate    Gate                          // nil: the cap alone decides
	bcp     api.BCP                       // BCP mode (bcp.go)
	filling bool                          // fillTerminals runs (shared.go)
	closed  bool

	// The ledger's change feed (shared.go), the journal flusher's alone:
	// the version last read and when every live slot was last read.
	feed   int64
	fullAt time.Time
	// shown is the version of the state positions are announced from
	// (guarded by mu): the feed's last adopted on a shared ledger.
	shown int64
}

type endedInfo struct {
	userID, reason string
	at             time.Time
}

const maxLengths = 200

// New loads the live slots and the policy and starts the journal.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease == 0 {
		cfg.Lease = 90 * time.Second
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.Default.Cap == 0 && cfg.Default.IdleMinutes == 0 && cfg.Default.MaxMinutes == 0 {
		cfg.Default = DefaultPolicy
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Slog{Log: cfg.Log}
	}
	if cfg.Broker == "" {
		cfg.Broker = brokerName()
	}
	m := &Manager{cfg: cfg, log: cfg.Log, now: cfg.Now, audits: make(chan audit.Event, 4096),
		wakes: map[string]context.CancelFunc{}}
	if l, ok := cfg.Store.(Ledger); ok {
		m.ledger = l
	}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if ls, err := cfg.Store.RecentLengths(ctx, maxLengths); err == nil {
		m.lengths = ls
	}
	apply := func(ctx context.Context, ops []Op, _ bool) error { return cfg.Store.ApplySlots(ctx, ops) }
	if m.shared() {
		apply = m.decide
	}
	m.j = newJournal(apply, m.journalFailed)
	go m.auditLoop()
	if m.shared() {
		lctx, stop := context.WithCancel(context.Background())
		m.stop = stop
		go m.listen(lctx)
		// Whatever the other brokers did before this one listened.
		m.j.resync()
	}
	return m, nil
}

// load rebuilds the in-memory state from the store.
func (m *Manager) load(ctx context.Context) error {
	pol, err := m.cfg.Store.LoadConfig(ctx)
	if errors.Is(err, ErrNoConfig) {
		pol = m.cfg.Default
	} else if err != nil {
		return fmt.Errorf("load slot config: %w", err)
	}
	recs, err := m.cfg.Store.LoadSlots(ctx)
	if err != nil {
		return fmt.Errorf("load slots: %w", err)
	}
	pool, err := m.cfg.Terminals.Pool(ctx)
	if err != nil {
		return fmt.Errorf("load pool: %w", err)
	}
	bcp, err := m.cfg.Store.LoadBCP(ctx)
	if err != nil {
		return fmt.Errorf("load bcp mode: %w", err)
	}
	m.bcp = bcp
	m.policy = pol
	m.pool = pool
	m.byID, m.byUser, m.inUse, m.ended = map[string]*slot{}, map[string]*slot{}, map[string]string{}, map[string]endedInfo{}
	m.queue, m.granted, m.seq = nil, 0, 0
	m.feed = 0 // the next decision reads every live slot
	var ids []string
	for _, r := range recs {
		if r.TerminalID != "" {
			ids = append(ids, r.TerminalID)
		}
	}
	terms, err := m.cfg.Terminals.GetMany(ctx, ids)
	if err != nil {
		return fmt.Errorf("load the slots' pcs: %w", err)
	}
	// recs come ordered by queue_seq.
	for _, r := range recs {
		s := &slot{rec: r}
		if r.TerminalID != "" {
			if t, ok := terms[r.TerminalID]; ok {
				s.term = &t
				s.pool = t.Pool
			}
		} else {
			s.pool = true
		}
		m.byID[r.ID], m.byUser[r.UserID] = s, s
		m.seq = max(m.seq, r.QueueSeq)
		if r.State == api.SlotGranted {
			m.granted++
			if r.TerminalID != "" {
				m.inUse[r.TerminalID] = r.ID
			}
		} else {
			if m.cfg.People != nil {
				if who, err := m.cfg.People.Person(ctx, r.UserID); err == nil {
					s.who = who
				}
			}
			m.queue = append(m.queue, s)
		}
	}
	m.reorder()
	return nil
}

// journalFailed runs when a batch could not be written: memory is ahead of
// the database, so reload what the database holds. Waiters get the error.
func (m *Manager) journalFailed(err error) {
	m.log.Error("slots: write failed; reloading state from the database", "err", err)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.j.mu.Lock()
	failed := m.j.waiters
	m.j.pending, m.j.after, m.j.waiters = nil, nil, nil
	m.j.mu.Unlock()
	for _, w := range failed {
		w <- err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if lerr := m.load(ctx); lerr != nil {
		m.log.Error("slots: reload failed", "err", lerr)
	}
}

// Close flushes the journal and stops background work.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for _, cancel := range m.wakes {
		cancel()
	}
	m.mu.Unlock()
	if m.stop != nil {
		m.stop()
	}
	m.j.close()
	m.mu.Lock()
	close(m.audits)
	m.mu.Unlock()
}

// SetWaker sets how office PCs are woken (the relay engineer's broker/wake).
func (m *Manager) SetWaker(w WakeFunc) {
	m.mu.Lock()
	m.wake = w
	m.mu.Unlock()
}

// OnEnd registers a hook called (after the end is durable) with the ID of
// every slot that ends, e.g. to close its tunnels.
func (m *Manager) OnEnd(fn func(slotID string)) {
	m.mu.Lock()
	m.onEnd = append(m.onEnd, fn)
	m.mu.Unlock()
}

// change collects one decision's ops and post-commit callbacks.
type change struct {
	m     *Manager
	ops   []Op
	after []func()
	sync  bool // a put of a reassigned slot: a locked batch (slot.reassigned)
}

func (c *change) put(s *slot) {
	r := s.rec
	c.ops = append(c.ops, Op{Put: &r})
	if s.reassigned {
		c.sync, s.reassigned = true, false
	}
}

func (c *change) publish(userID, typ string, data any) {
	if c.m.cfg.Events == nil {
		return
	}
	ev := c.m.cfg.Events
	c.after = append(c.after, func() { ev.Publish(userID, typ, data) })
}

func (c *change) publishLatest(userID, typ string, data any) {
	if c.m.cfg.Events == nil {
		return
	}
	ev := c.m.cfg.Events
	c.after = append(c.after, func() { ev.PublishLatest(userID, typ, data) })
}

func (c *change) then(fn func()) { c.after = append(c.after, fn) }

// commit hands the change to the journal; call with m.mu held.
func (m *Manager) commit(c *change) ticket { return m.j.addSync(c.ops, c.after, c.sync) }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "s_" + hex.EncodeToString(b[:])
}

// Acquire requests a slot for the user: granted at once while under the
// cap with nobody waiting, else queued. A user holds at most one slot:
// asking again returns the one they have.
func (m *Manager) Acquire(ctx context.Context, h Holder, device string) (api.Slot, error) {
	// Resolve the PC outside the lock: it is a database read.
	term, err := m.cfg.Terminals.ForUser(ctx, h.UserID)
	return m.AcquirePaired(ctx, h, device, term, err)
}

// AcquirePaired is Acquire with the user's paired PC as the caller read
// it (Terminals.ForUser's answer: the server's segment check reads it
// first, and one read per request is enough).
func (m *Manager) AcquirePaired(ctx context.Context, h Holder, device string, term api.Terminal, err error) (api.Slot, error) {
	userID := h.UserID
	pool := false
	if errors.Is(err, ErrNoTerminal) {
		pool = true
	} else if err != nil {
		return api.Slot{}, fmt.Errorf("office pc of %s: %w", userID, err)
	}
	gateErr := m.admit(ctx, userID)
	m.mu.Lock()
	if s := m.byUser[userID]; s != nil {
		if !m.takeOver(s, h) {
			m.mu.Unlock()
			return api.Slot{}, api.Err(api.CodeSlotHeldElsewhere)
		}
		s.movedHere = false // the answer tells the app where it stands
		if s.term == nil && !pool && s.rec.TerminalID == term.ID {
			// Adopted from another broker before its PC was read here.
			s.term, s.pool = &term, false
		}
		v := m.view(s)
		var after []func()
		if s.rec.State == api.SlotGranted && s.term != nil && m.wakes[s.rec.ID] == nil {
			// Asked again (the app restarted after a crash): it waits for
			// the PC's wake progress, so report it afresh.
			id, t := s.rec.ID, *s.term
			after = append(after, func() { m.startWake(id, userID, t) })
		}
		c := &change{m: m}
		c.put(s)                                // a takeover changed the holder
		tk := m.j.addSync(c.ops, after, c.sync) // answer only once its creation is durable
		m.mu.Unlock()
		if err := tk.wait(ctx); err != nil || !m.shared() {
			return v, err
		}
		// Adopted here (a reconnect to another broker keeps the place in
		// the queue): answer with what the database holds now.
		return m.settled(h, s.rec.ID)
	}
	// The gate refuses new slots only: one already held (the app asking
	// again after a restart) stays.
	if gateErr != nil {
		m.mu.Unlock()
		return api.Slot{}, gateErr
	}
	if pool && len(m.pool) == 0 {
		m.mu.Unlock()
		return api.Slot{}, api.Err(api.CodeSlotNoTerminal)
	}
	now := m.now()
	s := &slot{pool: pool, rec: Record{ID: newID(), UserID: userID, State: api.SlotQueued,
		Device: device, SessionID: h.SessionID, DeviceID: h.DeviceID, RequestedAt: now, LeaseUntil: now.Add(m.cfg.Lease), LastActiveAt: now},
		who: h.person()}
	if m.shared() {
		// The database numbers the request and decides its grant.
		s.fresh, s.rec.Broker = true, m.cfg.Broker
	} else {
		m.seq++
		s.rec.QueueSeq = m.seq
	}
	if !pool {
		s.term = &term
		s.rec.TerminalID = term.ID
	}
	m.byID[s.rec.ID], m.byUser[userID] = s, s
	m.enqueue(s)
	c := &change{m: m}
	c.put(s)
	m.promote(c, now)
	v := m.view(s)
	t := m.commit(c)
	m.mu.Unlock()
	if err := t.wait(ctx); err != nil {
		return v, err
	}
	if m.shared() {
		return m.settled(h, s.rec.ID)
	}
	return v, nil
}

// settled is the answer to a request on a shared ledger once its batch
// committed: what the database decided, or, if another broker's request
// for the same user came first, that slot if this holder may use it.
func (m *Manager) settled(h Holder, id string) (api.Slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byUser[h.UserID]
	if s == nil {
		if e, ok := m.ended[id]; ok {
			return api.Slot{}, api.Err(api.CodeSlotEnded, e.reason)
		}
		return api.Slot{}, api.Err(api.CodeSlotNotFound)
	}
	if s.rec.ID != id && !m.takeOver(s, h) {
		return api.Slot{}, api.Err(api.CodeSlotHeldElsewhere)
	}
	return m.view(s), nil
}

// promote grants queued slots in order while under the cap, and publishes
// the positions that changed. A pool user waits at the head only for a
// free pool PC; those behind with their own PC are not held up by it.
// Call with m.mu held. On a shared ledger the database grants (in the
// batch's transaction, shared.go); here only positions are pushed.
func (m *Manager) promote(c *change, now time.Time) {
	if m.shared() {
		m.publishPositions(c)
		return
	}
	if limit := m.capLocked(); m.granted < limit && len(m.queue) > 0 {
		keep := m.queue[:0:0]
		for i, s := range m.queue {
			if m.granted >= limit {
				keep = append(keep, m.queue[i:]...)
				break
			}
			if s.pool {
				t := m.freePoolTerminal()
				if t == nil {
					keep = append(keep, s)
					continue
				}
				s.term = t
				s.rec.TerminalID = t.ID
			}
			m.grant(c, s, now)
		}
		m.queue = keep
	}
	m.publishPositions(c)
}

func (m *Manager) grant(c *change, s *slot, now time.Time) {
	s.rec.State = api.SlotGranted
	s.rec.GrantedAt = now
	s.rec.LastActiveAt = now
	s.rec.LeaseUntil = now.Add(m.cfg.Lease) // the wait in the queue does not eat the lease
	s.pos = 0
	m.granted++
	if s.rec.TerminalID != "" {
		m.inUse[s.rec.TerminalID] = s.rec.ID
	}
	c.put(s)
	c.publish(s.rec.UserID, api.EventGranted, m.view(s))
	m.auditLater(audit.Event{At: now, Actor: s.rec.UserID, Action: "slot.granted", Target: s.rec.ID,
		Fields: map[string]string{"terminal": s.rec.TerminalID, "device": s.rec.Device}})
	if s.term != nil {
		t := *s.term
		id, user := s.rec.ID, s.rec.UserID
		c.then(func() { m.startWake(id, user, t) })
	}
}

func (m *Manager) freePoolTerminal() *api.Terminal {
	for i := range m.pool {
		if _, busy := m.inUse[m.pool[i].ID]; !busy {
			t := m.pool[i]
			return &t
		}
	}
	return nil
}

// end removes a slot; call with m.mu held, then promote.
func (m *Manager) end(c *change, s *slot, reason, message string, now time.Time) {
	m.drop(c, s, reason, message, now, true)
	c.ops = append(c.ops, Op{End: &Ended{Record: s.rec, EndedAt: now, Reason: reason}})
}

// drop forgets an ended slot, tells its holder (if this broker serves
// them), ends its tunnels and audits the end if this broker made it.
// Call with m.mu held.
func (m *Manager) drop(c *change, s *slot, reason, message string, now time.Time, audited bool) {
	if m.byID[s.rec.ID] == s {
		delete(m.byID, s.rec.ID)
	}
	if m.byUser[s.rec.UserID] == s {
		delete(m.byUser, s.rec.UserID)
	}
	if s.rec.State == api.SlotGranted {
		m.granted--
		if m.inUse[s.rec.TerminalID] == s.rec.ID {
			delete(m.inUse, s.rec.TerminalID)
		}
		m.addLength(now.Sub(s.rec.GrantedAt))
		if audited {
			m.auditLater(audit.Event{At: now, Actor: s.rec.UserID, Action: "slot.ended", Target: s.rec.ID,
				Fields: map[string]string{"reason": reason, "terminal": s.rec.TerminalID,
					"minutes": fmt.Sprint(int(now.Sub(s.rec.GrantedAt).Minutes()))}})
		}
	} else {
		for i, q := range m.queue {
			if q == s {
				m.queue = append(m.queue[:i:i], m.queue[i+1:]...)
				break
			}
		}
	}
	m.ended[s.rec.ID] = endedInfo{userID: s.rec.UserID, reason: reason, at: now}
	tell := !m.shared() || s.rec.Broker == m.cfg.Broker
	if m.shared() && reason == api.EndAdmin {
		// IT's message is known only to the broker IT asked (audited:
		// this broker made the end): that one tells the holder, wherever
		// their app is (the stored event reaches it over the bus), and the
		// holder's broker, learning of the end, does not tell again.
		tell = audited
	}
	if tell {
		c.publish(s.rec.UserID, api.EventEnded, api.EndedNotice{SlotID: s.rec.ID, Reason: reason, Message: message})
	}
	id := s.rec.ID
	if cancel := m.wakes[id]; cancel != nil {
		cancel()
		delete(m.wakes, id)
	}
	hooks := append([]func(string){}, m.onEnd...)
	c.then(func() {
		for _, h := range hooks {
			h(id)
		}
	})
}

// find returns the user's slot by ID. Another user's slot is reported as
// not found, so IDs reveal nothing.
func (m *Manager) find(userID, slotID string) (*slot, error) {
	s := m.byID[slotID]
	if s == nil || (userID != "" && s.rec.UserID != userID) {
		if e, ok := m.ended[slotID]; ok && (userID == "" || e.userID == userID) {
			return nil, api.Err(api.CodeSlotEnded, e.reason)
		}
		return nil, api.Err(api.CodeSlotNotFound)
	}
	return s, nil
}

// takeOver reports whether h may use s, moving s to h's sign-in when it
// is a new sign-in of the same laptop. Call with m.mu held.
func (m *Manager) takeOver(s *slot, h Holder) bool {
	switch {
	case s.rec.UserID != h.UserID:
		return false
	case s.rec.SessionID == h.SessionID:
	case s.rec.DeviceID != "" && s.rec.DeviceID == h.DeviceID:
		s.rec.SessionID = h.SessionID
		s.reassigned = m.shared()
	default:
		return false
	}
	if m.shared() && s.rec.Broker != m.cfg.Broker {
		// The holder is served here now (their broker died or they
		// reconnected elsewhere): this broker tells them what happens.
		s.rec.Broker = m.cfg.Broker
		s.movedHere, s.reassigned = true, true
	}
	return true
}

// findFor is find for a holder: a slot held by another sign-in is
// reported as not found, as another user's is.
func (m *Manager) findFor(h Holder, slotID string) (*slot, error) {
	s, err := m.find(h.UserID, slotID)
	if err != nil {
		return nil, err
	}
	if !m.takeOver(s, h) {
		return nil, api.Err(api.CodeSlotNotFound)
	}
	return s, nil
}

// EndSignIns ends the slot held by sign-ins that just ended, and so its
// tunnels (OnEnd): every sign-in of the user, of one laptop (deviceID),
// or one (sessionID); a slot held on exceptDevice stays.
func (m *Manager) EndSignIns(ctx context.Context, userID, deviceID, sessionID, exceptDevice, reason string) error {
	m.mu.Lock()
	s := m.byUser[userID]
	if s == nil || (deviceID != "" && s.rec.DeviceID != deviceID) || (sessionID != "" && s.rec.SessionID != sessionID) ||
		(exceptDevice != "" && s.rec.DeviceID == exceptDevice) {
		m.mu.Unlock()
		return nil
	}
	now := m.now()
	c := &change{m: m}
	m.end(c, s, reason, "", now) // audited as slot.ended with the reason
	m.promote(c, now)
	t := m.commit(c)
	m.mu.Unlock()
	return t.wait(ctx)
}

// Release ends the user's session or takes them out of the queue.
func (m *Manager) Release(ctx context.Context, h Holder, slotID string) error {
	m.mu.Lock()
	s, err := m.findFor(h, slotID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	now := m.now()
	c := &change{m: m}
	m.end(c, s, api.EndUser, "", now)
	m.promote(c, now)
	t := m.commit(c)
	m.mu.Unlock()
	return t.wait(ctx)
}

// Heartbeat renews the lease; activity (the flag, or bytes from the user)
// resets the idle timer. The stored byte counters are the relay's.
func (m *Manager) Heartbeat(ctx context.Context, h Holder, slotID string, hb api.HeartbeatRequest) (api.Slot, error) {
	if hb.BytesUp < 0 || hb.BytesDown < 0 {
		return api.Slot{}, api.Err(api.CodeValidation, "bytes_up, bytes_down: not negative")
	}
	m.mu.Lock()
	s, err := m.findFor(h, slotID)
	if err != nil {
		m.mu.Unlock()
		return api.Slot{}, err
	}
	now := m.now()
	s.rec.LeaseUntil = now.Add(m.cfg.Lease)
	// The counters come from the relay (AddBytes), which sees the same
	// bytes: the app's figures only tell activity.
	if hb.Active || hb.BytesUp > 0 {
		s.rec.LastActiveAt = now
		if s.rec.Warned == api.EndIdle {
			s.rec.Warned = ""
		}
	}
	c := &change{m: m}
	c.put(s)
	v := m.view(s)
	if s.movedHere {
		// A grant made while the slot still named the broker the holder
		// left was told to nobody: tell it now (the app waits for it).
		s.movedHere = false
		if s.rec.State == api.SlotGranted {
			c.publish(s.rec.UserID, api.EventGranted, v)
		}
	}
	t := m.commit(c)
	m.mu.Unlock()
	return v, t.wait(ctx)
}

// HolderOf returns who holds a live slot (for IT's view and tests).
func (m *Manager) HolderOf(slotID string) (Holder, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[slotID]
	if s == nil {
		return Holder{}, false
	}
	return Holder{UserID: s.rec.UserID, SessionID: s.rec.SessionID, DeviceID: s.rec.DeviceID}, true
}

// Mine returns the user's slot.
func (m *Manager) Mine(userID string) (api.Slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byUser[userID]
	if s == nil {
		return api.Slot{}, api.Err(api.CodeSlotNotFound)
	}
	return m.view(s), nil
}

// Counts returns the cap, the granted count and the queue length.
func (m *Manager) Counts() (cap, granted, queued int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.capLocked(), m.granted, len(m.queue)
}

// InUse reports whether a granted slot uses the terminal.
func (m *Manager) InUse(terminalID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.inUse[terminalID]
	return ok
}

// PoolSize is the number of shared PCs.
func (m *Manager) PoolSize() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pool)
}

// view renders a slot for the API; call with m.mu held.
func (m *Manager) view(s *slot) api.Slot {
	v := api.Slot{ID: s.rec.ID, UserID: s.rec.UserID, State: s.rec.State, RequestedAt: s.rec.RequestedAt,
		GrantedAt: s.rec.GrantedAt, LeaseUntil: s.rec.LeaseUntil, HeartbeatSeconds: int(m.cfg.Heartbeat / time.Second),
		IdleMinutes: m.policy.IdleMinutes, LastActiveAt: s.rec.LastActiveAt, BytesUp: s.rec.BytesUp, BytesDown: s.rec.BytesDown}
	if s.term != nil {
		st := s.term.State
		if s.rec.State == api.SlotGranted {
			st = api.TerminalInUse
		}
		v.Terminal = &api.PairedTerminal{ID: s.term.ID, Name: s.term.Name, State: st, Pool: s.term.Pool}
	}
	if s.rec.State == api.SlotGranted {
		rdp := m.policy.RDP
		v.RDP = &rdp
	}
	if s.rec.State == api.SlotQueued {
		for i, q := range m.queue {
			if q == s {
				v.Position = i + 1
				break
			}
		}
		v.ETASeconds = m.etaSeconds(v.Position, m.avgLength())
	} else if m.policy.MaxMinutes > 0 {
		v.EndsAt = s.rec.GrantedAt.Add(time.Duration(m.policy.MaxMinutes) * time.Minute)
	}
	return v
}

func (m *Manager) addLength(d time.Duration) {
	if d <= 0 {
		return
	}
	if len(m.lengths) >= maxLengths {
		m.lengths = m.lengths[1:]
	}
	m.lengths = append(m.lengths, d)
}

// avgLength is the mean of recent session lengths (two hours before any).
func (m *Manager) avgLength() time.Duration {
	if len(m.lengths) == 0 {
		return 2 * time.Hour
	}
	var sum time.Duration
	for _, d := range m.lengths {
		sum += d
	}
	return sum / time.Duration(len(m.lengths))
}

// etaSeconds estimates the wait at a position: sessions end at a rate of
// about cap per average length, so position p waits p of those intervals.
func (m *Manager) etaSeconds(pos int, avg time.Duration) int {
	if pos <= 0 {
		return 0
	}
	c := max(m.capLocked(), 1)
	return int((avg * time.Duration(pos) / time.Duration(c)).Seconds())
}

// auditLater queues an audit event; call with m.mu held.
func (m *Manager) auditLater(e audit.Event) {
	if m.closed {
		return
	}
	select {
	case m.audits <- e:
	default:
		// Never block a decision on the audit trail; say so loudly instead.
		m.log.Error("slots: audit queue full, event logged here only", "action", e.Action, "target", e.Target, "actor", e.Actor)
	}
}

// auditLoop hands queued events to the recorder, everything queued at
// once: concurrent calls let the recorder commit them together.
func (m *Manager) auditLoop() {
	for e := range m.audits {
		batch := []audit.Event{e}
	drain:
		for len(batch) < 512 {
			select {
			case e, ok := <-m.audits:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var wg sync.WaitGroup
		for _, e := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := m.cfg.Audit.Record(ctx, e); err != nil {
					m.log.Error("slots: audit", "action", e.Action, "target", e.Target, "err", err)
				}
			}()
		}
		wg.Wait()
		cancel()
	}
}
