// Package events is the event socket's hub: everything the broker pushes to
// a running app (queue position, wake progress, and later chat, presence
// and notices) goes through Publish. Each event gets the next sequence
// number of its user and is stored before anyone sees it, so a reconnecting
// app resumes from the last number it saw with nothing lost or repeated,
// even across a broker restart. Old events are purged after Retention.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Stored is an event with its user.
type Stored struct {
	UserID string
	api.Event
}

// Store is what the hub needs from the database.
type Store interface {
	// AppendEvents stores events and raises each user's counter, in one
	// transaction. A store that several brokers share numbers the events
	// itself (each user's counter is in the database, not in one hub's
	// memory) and writes the numbers it gave back into evs, keeping their
	// order; a store of one broker keeps the hub's.
	AppendEvents(ctx context.Context, evs []Stored) error
	// EventSeqs returns every user's last sequence number.
	EventSeqs(ctx context.Context) (map[string]int64, error)
	// EventsAfter returns up to limit events of the user with Seq > after, in order.
	EventsAfter(ctx context.Context, userID string, after int64, limit int) ([]api.Event, error)
	PurgeEvents(ctx context.Context, before time.Time) (int64, error)
}

// Retention is how long events are kept for resuming.
const Retention = 24 * time.Hour

// subBuffer bounds what a slow socket may fall behind before it is cut
// (the app then reconnects and resumes from the database).
const subBuffer = 512

// Hub assigns sequence numbers, stores events and fans them out.
type Hub struct {
	st  Store
	log *slog.Logger
	now func() time.Time

	mu        sync.Mutex       // guards seqs, committed, pending, subs, closed
	seqs      map[string]int64 // last assigned per user
	committed map[string]int64 // last stored per user
	pending   []Stored
	subs      map[string]map[*Sub]struct{}
	closed    bool

	kick chan struct{}
	done chan struct{}

	marks *marks // chat's 会議中 and 離席中 (marks.go)

	sigMu sync.Mutex                    // guards sigs
	sigs  map[string][]func(key string) // OnSignal's handlers, by topic

	// Across brokers (nil bus: one broker, nothing of this is used).
	x *across
}

// Frame is an event on its way to a socket. A live frame that many
// sockets get (pushLocal, broadcastLocal) carries its encoding, made once
// for all of them: at 3,000 sockets, encoding per socket was a fifth of
// the delivery's CPU. The queues hold pointers to it, so that a push to
// 300 or 3,000 sockets shares one frame instead of copying it into each
// queue; a frame is never changed once queued.
type Frame struct {
	api.Event
	raw []byte // the event as JSON; nil: the socket encodes it
}

// liveFrame encodes ev once for every socket that gets it.
func liveFrame(ev api.Event) *Frame {
	raw, _ := json.Marshal(ev) // Data is valid JSON already
	return &Frame{Event: ev, raw: raw}
}

// Sub is one socket's subscription.
type Sub struct {
	C      chan *Frame
	userID string
	client Client
	lost   chan struct{} // closed when the subscriber was dropped
	// why says why lost was closed; written before the close, read after.
	why string
}

// Client is who holds a socket: the user, the laptop and its sign-in.
// One socket per laptop is meant (one app); a new one replaces the old.
type Client struct {
	UserID, DeviceID, SessionID string
}

// Why a subscription was dropped.
const (
	dropBehind   = "behind"
	dropReplaced = "replaced"
	dropEnded    = "ended"
)

// MaxSocketsPerUser bounds the sockets of one user: one per laptop is
// meant, a few laptops at most.
const MaxSocketsPerUser = 8

// ErrTooManySockets is returned by SubscribeClient past MaxSocketsPerUser.
var ErrTooManySockets = errors.New("too many event sockets for one user")

// Lost is closed when the subscriber fell too far behind.
func (s *Sub) Lost() <-chan struct{} { return s.lost }

// Option configures New.
type Option func(*Hub)

// New loads the counters and starts the writer. With WithBus, it also
// listens to the other brokers and returns once listening.
func New(ctx context.Context, st Store, log *slog.Logger, now func() time.Time, opts ...Option) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	seqs, err := st.EventSeqs(ctx)
	if err != nil {
		return nil, err
	}
	committed := make(map[string]int64, len(seqs))
	for k, v := range seqs {
		committed[k] = v
	}
	h := &Hub{st: st, log: log, now: now, seqs: seqs, committed: committed, subs: map[string]map[*Sub]struct{}{},
		marks: newMarks(), sigs: map[string][]func(string){}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	for _, o := range opts {
		o(h)
	}
	if h.x != nil {
		if err := h.startAcross(ctx); err != nil {
			return nil, err
		}
	}
	go h.run()
	return h, nil
}

// Publish queues an event for the user. It does not block on the
// database: the event reaches sockets once it is stored.
func (h *Hub) Publish(userID, typ string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		h.log.Error("events: encode", "type", typ, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seqs[userID]++
	h.pending = append(h.pending, Stored{UserID: userID, Event: api.Event{Seq: h.seqs[userID], Type: typ, At: h.now(), Data: b}})
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// PublishLatest sends a latest-value event (a queue position) to the
// user's open sockets only, with Seq 0: it is state, not history, so it is
// not stored; a reconnecting app reads the current value instead. This
// keeps a long queue from writing thousands of rows per grant.
func (h *Hub) PublishLatest(userID, typ string, data any) {
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	if h.x != nil {
		h.x.send(wire{K: kindLive, Users: []string{userID}, Event: &ev})
		return
	}
	h.pushLocal([]string{userID}, ev)
}

// PublishNewest is PublishLatest of a value several brokers may announce
// (a queue position: the broker serving the user changes when they
// reconnect elsewhere), versioned by the announcer: across brokers two
// announcements may cross on the bus, and one older than the last passed
// on to the user's sockets for key is dropped, so that the app never
// sees the value go back. On one broker the announcer's order is kept.
func (h *Hub) PublishNewest(userID, typ, key string, version int64, data any) {
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	if h.x != nil {
		h.x.send(wire{K: kindLive, Users: []string{userID}, Event: &ev, Newest: userID + "\x00" + key, Ver: version})
		return
	}
	h.pushLocal([]string{userID}, ev)
}

// PushLive sends an unstored frame (Seq 0) to the open sockets of the
// users. Chat uses it: a channel's messages are stored once, by the
// channel's own sequence, and an app that missed a frame resumes from
// that sequence; storing them here too would store them once per member.
// The frame is encoded once however many sockets get it.
func (h *Hub) PushLive(userIDs []string, typ string, data any) {
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	if h.x != nil {
		h.x.send(wire{K: kindLive, Users: userIDs, Event: &ev})
		return
	}
	h.pushLocal(userIDs, ev)
}

// PushSeq is PushLive for a frame that is entry seq of an ordered stream
// (a chat channel's messages). On one broker it is PushLive: the caller
// pushes a stream in order. Across brokers two brokers' frames of one
// stream may cross on the bus, so each hub passes a stream's frames on in
// sequence: a repeat is dropped, and a frame past a gap is preceded by
// the missing entries, read from the store through the Filler.
func (h *Hub) PushSeq(userIDs []string, typ, stream string, seq int64, data any) {
	if h.x == nil {
		h.PushLive(userIDs, typ, data)
		return
	}
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	h.x.send(wire{K: kindLive, Users: userIDs, Event: &ev, Stream: stream, SSeq: seq})
}

// pushLocal sends a live frame to this broker's sockets of the users.
func (h *Hub) pushLocal(userIDs []string, e api.Event) {
	ev := liveFrame(e)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range userIDs {
		for s := range h.subs[u] {
			select {
			case s.C <- ev:
			default:
				// Cut rather than block: the app reconnects and resumes.
				h.dropLocked(s, dropBehind)
			}
		}
	}
}

func (h *Hub) run() {
	defer close(h.done)
	backoff := 100 * time.Millisecond
	for range h.kick {
		for {
			h.mu.Lock()
			batch := h.pending
			h.pending = nil
			h.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := h.st.AppendEvents(ctx, batch)
			cancel()
			if err != nil {
				// Keep the order: put the batch back in front and retry.
				h.log.Error("events: store", "n", len(batch), "err", err)
				h.mu.Lock()
				h.pending = append(batch, h.pending...)
				closed := h.closed
				h.mu.Unlock()
				if closed {
					return
				}
				time.Sleep(backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			if h.x != nil {
				// Every broker's sockets, this one's included, get the
				// events from the bus, in the database's commit order.
				h.noteStored(batch)
				h.x.sendEvents(batch)
				continue
			}
			h.deliver(batch)
		}
	}
}

// noteStored raises the counters to what the store gave (it may have
// renumbered: another broker published to the same user).
func (h *Hub) noteStored(batch []Stored) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range batch {
		h.committed[ev.UserID] = max(h.committed[ev.UserID], ev.Seq)
		h.seqs[ev.UserID] = max(h.seqs[ev.UserID], ev.Seq)
	}
}

func (h *Hub) deliver(batch []Stored) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range batch {
		h.committed[ev.UserID] = max(h.committed[ev.UserID], ev.Seq)
		for s := range h.subs[ev.UserID] {
			select {
			case s.C <- &Frame{Event: ev.Event}:
			default:
				h.dropLocked(s, dropBehind)
			}
		}
	}
}

// Subscribe registers a socket for the user's new events. Register before
// reading the backlog so that nothing falls between the two.
func (h *Hub) Subscribe(userID string) *Sub {
	s, _ := h.SubscribeClient(Client{UserID: userID})
	return s
}

// SubscribeClient is Subscribe for one app's socket: a socket of the same
// laptop that is still open is dropped (the app reconnected; the old one
// is a leftover), and a user may hold at most MaxSocketsPerUser.
func (h *Hub) SubscribeClient(c Client) (*Sub, error) {
	s := &Sub{C: make(chan *Frame, subBuffer), userID: c.UserID, client: c, lost: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.DeviceID != "" {
		for old := range h.subs[c.UserID] {
			if old.client.DeviceID == c.DeviceID {
				h.dropLocked(old, dropReplaced)
			}
		}
	}
	m := h.subs[c.UserID] // after the drops, which may remove the map
	if len(m) >= MaxSocketsPerUser {
		return nil, ErrTooManySockets
	}
	if m == nil {
		m = map[*Sub]struct{}{}
		h.subs[c.UserID] = m
		if h.x != nil {
			h.x.send(wire{K: kindOn, Users: []string{c.UserID}})
		}
	}
	m[s] = struct{}{}
	if h.x != nil && c.DeviceID != "" {
		// The laptop's old socket may be on another broker.
		h.x.send(wire{K: kindReplace, Client: &Client{UserID: c.UserID, DeviceID: c.DeviceID}})
	}
	return s, nil
}

// CloseSignIns drops the sockets of sign-ins that ended: every one of the
// user, of one laptop, or one session; sockets on exceptDevice stay.
func (h *Hub) CloseSignIns(userID, deviceID, sessionID, exceptDevice string) {
	if h.x != nil {
		h.x.send(wire{K: kindClose, Client: &Client{UserID: userID, DeviceID: deviceID, SessionID: sessionID}, Except: exceptDevice})
	}
	h.closeSignIns(userID, deviceID, sessionID, exceptDevice)
}

func (h *Hub) closeSignIns(userID, deviceID, sessionID, exceptDevice string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		c := s.client
		if (deviceID != "" && c.DeviceID != deviceID) || (sessionID != "" && c.SessionID != sessionID) ||
			(exceptDevice != "" && c.DeviceID == exceptDevice) {
			continue
		}
		h.dropLocked(s, dropEnded)
	}
}

// Unsubscribe removes a subscription.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[s.userID]; m != nil {
		if _, ok := m[s]; !ok {
			return
		}
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.userID)
			h.wentOffLocked(s.userID)
		}
	}
}

// wentOffLocked tells the other brokers that the user has no socket here
// any more.
func (h *Hub) wentOffLocked(userID string) {
	if h.x != nil {
		h.x.send(wire{K: kindOff, Users: []string{userID}})
	}
}

func (h *Hub) dropLocked(s *Sub, why string) {
	if m := h.subs[s.userID]; m != nil {
		if _, ok := m[s]; !ok {
			return // dropped already
		}
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.userID)
			h.wentOffLocked(s.userID)
		}
	}
	s.why = why
	close(s.lost)
}

// CloseUser cuts every socket of the user (a revoked laptop, a disabled
// account): the app reconnects, and its token is checked again.
func (h *Hub) CloseUser(userID string) {
	if h.x != nil {
		h.x.send(wire{K: kindClose, Client: &Client{UserID: userID}})
	}
	h.closeSignIns(userID, "", "", "")
}

// Online reports whether the user has an event socket open (the app, or
// the office page) on this broker or, across brokers, on another: chat's
// presence.
func (h *Hub) Online(userID string) bool {
	h.mu.Lock()
	local := len(h.subs[userID]) > 0
	h.mu.Unlock()
	return local || (h.x != nil && h.x.onlineElsewhere(userID))
}

// LastSeq is the user's last stored sequence number.
func (h *Hub) LastSeq(userID string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.committed[userID]
}

// Backlog returns stored events after seq after (up to limit).
func (h *Hub) Backlog(ctx context.Context, userID string, after int64, limit int) ([]api.Event, error) {
	return h.st.EventsAfter(ctx, userID, after, limit)
}

// Purge deletes events older than Retention.
func (h *Hub) Purge(ctx context.Context) (int64, error) {
	return h.st.PurgeEvents(ctx, h.now().Add(-Retention))
}

// Flush waits until everything published so far is stored (for tests and
// shutdown).
func (h *Hub) Flush(ctx context.Context) error {
	for {
		h.mu.Lock()
		idle := len(h.pending) == 0
		done := true
		for u, s := range h.seqs {
			if h.committed[u] != s {
				done = false
				break
			}
		}
		h.mu.Unlock()
		if idle && done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close stores what is pending and stops the writer.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.kick)
	h.mu.Unlock()
	<-h.done
	if h.x != nil {
		h.x.stop()
	}
}

// Broadcast sends an unstored frame (Seq 0) to every open socket: an
// announcement to every running app (BCP mode). An app that connects
// later reads the same state from its status instead.
func (h *Hub) Broadcast(typ string, data any) {
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	if h.x != nil {
		h.x.send(wire{K: kindAll, Event: &ev})
		return
	}
	h.broadcastLocal(ev)
}

// BroadcastOnce is Broadcast of an announcement that several brokers
// may make (each adopts a BCP switch, wherever it was made): across
// brokers each hub passes the first of a key on and drops the rest, so
// every socket hears it once. On one broker a key is announced once
// anyway.
func (h *Hub) BroadcastOnce(key, typ string, data any) {
	if h.x == nil {
		h.Broadcast(typ, data)
		return
	}
	ev, ok := h.encode(typ, data)
	if !ok {
		return
	}
	h.x.send(wire{K: kindAll, Event: &ev, Once: key})
}

func (h *Hub) broadcastLocal(e api.Event) {
	ev := liveFrame(e)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.subs {
		for s := range m {
			select {
			case s.C <- ev:
			default:
				h.dropLocked(s, dropBehind)
			}
		}
	}
}

// encode makes the event of typ with data, stamped now; a value that
// does not encode is logged (it is a programming error) and not sent.
func (h *Hub) encode(typ string, data any) (api.Event, bool) {
	b, err := json.Marshal(data)
	if err != nil {
		h.log.Error("events: encode", "type", typ, "err", err)
		return api.Event{}, false
	}
	return api.Event{Type: typ, At: h.now(), Data: b}, true
}

// Signal tells the handlers of topic (OnSignal) on every broker of the
// database, this one's included, that what key names may have changed: a
// hint to drop what they keep in memory of it (chat's member lists), not
// a frame for any socket. This broker's handlers run before Signal
// returns, so what it changed reads anew here at once; the others' run
// when the bus brings it. Key "" means anything of the topic.
func (h *Hub) Signal(topic, key string) {
	h.signalLocal(topic, key)
	if h.x != nil {
		h.x.send(wire{K: kindSig, Topic: topic, Key: key})
	}
}

// OnSignal registers fn for topic's signals. fn also runs with key ""
// when the bus reconnects: signals sent while it was down were missed.
// It runs on the signaller's goroutine or the bus listener's, so it must
// be quick and must not call back into the hub.
func (h *Hub) OnSignal(topic string, fn func(key string)) {
	h.sigMu.Lock()
	defer h.sigMu.Unlock()
	h.sigs[topic] = append(h.sigs[topic], fn)
}

func (h *Hub) signalLocal(topic, key string) {
	h.sigMu.Lock()
	fns := h.sigs[topic]
	h.sigMu.Unlock()
	for _, fn := range fns {
		fn(key)
	}
}

// signalAll runs every handler with key "" (after a reconnect of the bus).
func (h *Hub) signalAll() {
	h.sigMu.Lock()
	var fns []func(string)
	for _, fs := range h.sigs {
		fns = append(fns, fs...)
	}
	h.sigMu.Unlock()
	for _, fn := range fns {
		fn("")
	}
}
