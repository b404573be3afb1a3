package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Bus carries the hub's frames between brokers that share one database
// (PostgreSQL's LISTEN/NOTIFY, in broker/store/postgres). A hub without
// one (SQLite: one broker) delivers to its own sockets only.
//
// With a bus every frame, this broker's own included, reaches the sockets
// through the bus: each broker then sees one order, the database's commit
// order of the notifications, and a stored event is never shown before it
// is stored on the broker that did not store it.
type Bus interface {
	// Publish sends payload to every broker's Listen, this one's
	// included. Payloads that one caller publishes one after another
	// arrive in that order.
	Publish(ctx context.Context, payload []byte) error
	// Listen calls recv with each payload published while it listens,
	// in order, until ctx ends; it reconnects by itself when the
	// connection drops. connected is called each time it starts
	// listening: whatever was published while it was not is lost to
	// this broker.
	Listen(ctx context.Context, connected func(), recv func(payload []byte)) error
}

// Filler reads the entries of an ordered stream (PushSeq) with sequence
// numbers after after and before before, as the frames' data: what a hub
// sends before a frame that arrived past a gap.
type Filler func(ctx context.Context, stream string, after, before int64) ([]any, error)

// WithBus makes the hub one of several brokers on one database.
func WithBus(b Bus) Option {
	return func(h *Hub) {
		if b != nil {
			h.x = &across{h: h, bus: b, id: newBrokerID(), peers: map[string]*peer{}, streams: map[string]int64{}, once: map[string]bool{}, newest: map[string]int64{},
				listened: make(chan struct{}), published: make(chan struct{})}
			h.x.cond = sync.NewCond(&h.x.mu)
		}
	}
}

// SetFiller sets how gaps in ordered streams are filled (chat's history).
func (h *Hub) SetFiller(f Filler) {
	if h.x != nil {
		h.x.fillMu.Lock()
		h.x.filler = f
		h.x.fillMu.Unlock()
	}
}

// What travels on the bus.
const (
	kindEvents  = "ev"      // stored events (Publish)
	kindLive    = "live"    // an unstored frame to users (PushLive, PushSeq, PublishLatest)
	kindAll     = "all"     // an unstored frame to everyone (Broadcast)
	kindClose   = "close"   // sign-ins ended (CloseSignIns, CloseUser)
	kindReplace = "replace" // a laptop opened a new socket
	kindOn      = "on"      // a user's first socket on the sending broker
	kindOff     = "off"     // a user's last socket on the sending broker closed
	kindSnap    = "snap"    // every user with a socket on the sending broker
	kindHello   = "hello"   // a broker started listening: tell it who is online
	kindBye     = "bye"     // a broker stops
	kindHold    = "hold"    // a mark the sending broker holds for users, or no longer (Hold)
	kindFlag    = "flag"    // a user's flag set or cleared (Flag)
	kindSig     = "sig"     // something a broker may keep in memory changed (Signal)
)

type wire struct {
	K      string      `json:"k"`
	From   string      `json:"b"`
	Users  []string    `json:"u,omitempty"`
	Events []wireEvent `json:"ev,omitempty"`
	Event  *api.Event  `json:"e,omitempty"`
	Stream string      `json:"s,omitempty"`
	SSeq   int64       `json:"q,omitempty"`
	Client *Client     `json:"c,omitempty"`
	Except string      `json:"x,omitempty"`
	// Marks (kindHold, kindFlag; kindSnap carries Held and Flags).
	Mark  string              `json:"m,omitempty"`
	On    bool                `json:"o,omitempty"`
	Token string              `json:"t,omitempty"`
	Held  map[string][]string `json:"h,omitempty"`
	Flags map[string][]string `json:"f,omitempty"`
	// Once keys an announcement several brokers make (BroadcastOnce).
	Once string `json:"1,omitempty"`
	// A signal's topic and key (kindSig).
	Topic string `json:"g,omitempty"`
	Key   string `json:"y,omitempty"`
	// Newest keys a latest value that several brokers may announce, Ver
	// its version (PublishNewest): an older one is dropped.
	Newest string `json:"n,omitempty"`
	Ver    int64  `json:"v,omitempty"`
}

type wireEvent struct {
	User string `json:"user"`
	api.Event
}

// Presence across brokers: each broker tells its users' first and last
// sockets as they come and go, and all of them every snapEvery; a broker
// not heard of for peerTTL (killed) counts for nobody.
const (
	snapEvery = 20 * time.Second
	peerTTL   = 3 * snapEvery
)

// packLimit is how much a published payload packs of queued frames:
// under NOTIFY's 8000 bytes, so that most go inline.
const packLimit = 7000

// maxStreams bounds the ordered streams a hub remembers the last entry of.
const maxStreams = 100_000

// maxOnce bounds the announcement keys a hub remembers (a few a year).
const maxOnce = 10_000

type peer struct {
	users map[string]bool
	held  map[string]map[string]bool // mark → users, as it told
	flags map[string]map[string]bool // mark → users, in its last snapshot
	heard time.Time
}

// across is a hub's part in a group of brokers.
type across struct {
	h   *Hub
	bus Bus
	id  string // this broker process, on the bus

	mu      sync.Mutex // guards queue, closing
	cond    *sync.Cond
	queue   []wire
	closing bool

	peersMu sync.Mutex // guards peers
	peers   map[string]*peer

	fillMu sync.Mutex
	filler Filler

	streams map[string]int64 // the listener's only: last entry passed on, by stream
	once    map[string]bool  // the listener's only: announcements passed on (BroadcastOnce)
	newest  map[string]int64 // the listener's only: version last passed on, by user and key (PublishNewest)

	listened  chan struct{} // closed once listening the first time
	published chan struct{} // closed when the publisher has stopped
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func newBrokerID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startAcross starts the listener and the publisher and waits until the
// hub listens: a frame published before then would be lost to it.
func (h *Hub) startAcross(ctx context.Context) error {
	x := h.x
	lctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	x.wg.Add(2)
	go func() {
		defer x.wg.Done()
		x.publisher()
	}()
	go func() {
		defer x.wg.Done()
		first := true
		err := x.bus.Listen(lctx, func() {
			if first {
				first = false
				close(x.listened)
			} else {
				h.forgetFlags()
				h.signalAll() // signals may have been missed meanwhile
				h.resumeAll()
			}
			x.send(wire{K: kindHello})
			x.sendSnap()
		}, x.recv)
		if err != nil && lctx.Err() == nil {
			h.log.Error("events: bus listener stopped", "err", err)
		}
	}()
	go func() {
		t := time.NewTicker(snapEvery)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				x.sendSnap()
			}
		}
	}()
	select {
	case <-x.listened:
		return nil
	case <-ctx.Done():
		x.stop()
		return fmt.Errorf("events: listen to the other brokers: %w", ctx.Err())
	}
}

// send queues a frame for the bus; it never blocks on the database.
func (x *across) send(w wire) {
	w.From = x.id
	x.mu.Lock()
	if !x.closing {
		x.queue = append(x.queue, w)
		x.cond.Signal()
	}
	x.mu.Unlock()
}

func (x *across) sendEvents(batch []Stored) {
	w := wire{K: kindEvents, Events: make([]wireEvent, len(batch))}
	for i, e := range batch {
		w.Events[i] = wireEvent{User: e.UserID, Event: e.Event}
	}
	x.send(w)
}

// sendSnap queues the snapshot under the locks that guard what it
// tells, so that no change (a socket, a held mark) is queued between
// reading it and queueing it: a snapshot never overtakes a later change
// on the bus.
func (x *across) sendSnap() {
	h := x.h
	h.mu.Lock()
	defer h.mu.Unlock()
	users := make([]string, 0, len(h.subs))
	for u := range h.subs {
		users = append(users, u)
	}
	h.marks.mu.Lock()
	defer h.marks.mu.Unlock()
	x.send(wire{K: kindSnap, Users: users, Held: listOf(h.marks.held), Flags: listOf(h.marks.flags)})
}

// publisher publishes the queue in order, packing frames into payloads.
// A payload the database refuses is tried again a few times, then given
// up: what it carried is in the store (events by user, chat by channel)
// or is state sent again (presence), and the listener's reconnect cuts
// the sockets so that they resume.
func (x *across) publisher() {
	defer close(x.published)
	for {
		x.mu.Lock()
		for len(x.queue) == 0 && !x.closing {
			x.cond.Wait()
		}
		if len(x.queue) == 0 {
			x.mu.Unlock()
			return
		}
		batch := x.queue
		x.queue = nil
		x.mu.Unlock()
		for len(batch) > 0 {
			payload, n := pack(batch)
			batch = batch[n:]
			for try := 0; ; try++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := x.bus.Publish(ctx, payload)
				cancel()
				if err == nil {
					break
				}
				if try == 4 {
					x.h.log.Error("events: publish to the other brokers; given up", "bytes", len(payload), "err", err)
					break
				}
				time.Sleep(time.Duration(100<<try) * time.Millisecond)
			}
		}
	}
}

// pack encodes the first frames of ws, as many as fit in packLimit (at
// least one), as a JSON array.
func pack(ws []wire) ([]byte, int) {
	out := []byte{'['}
	n := 0
	for _, w := range ws {
		b, err := json.Marshal(w)
		if err != nil {
			n++
			continue
		}
		if n > 0 && len(out)+len(b)+1 > packLimit {
			break
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, b...)
		n++
	}
	return append(out, ']'), n
}

// stop publishes what is queued, says goodbye and stops listening.
func (x *across) stop() {
	x.send(wire{K: kindBye})
	x.mu.Lock()
	x.closing = true
	x.cond.Broadcast()
	x.mu.Unlock()
	select {
	case <-x.published:
	case <-time.After(10 * time.Second):
	}
	x.cancel()
	x.wg.Wait()
}

// recv takes one payload from the bus (the listener's goroutine).
func (x *across) recv(payload []byte) {
	var ws []wire
	if err := json.Unmarshal(payload, &ws); err != nil {
		x.h.log.Warn("events: bad frame on the bus", "bytes", len(payload), "err", err)
		return
	}
	for _, w := range ws {
		x.apply(w)
	}
}

func (x *across) apply(w wire) {
	h := x.h
	self := w.From == x.id
	switch w.K {
	case kindEvents:
		batch := make([]Stored, len(w.Events))
		for i, e := range w.Events {
			batch[i] = Stored{UserID: e.User, Event: e.Event}
		}
		h.deliver(batch)
	case kindLive:
		if w.Event == nil {
			return
		}
		if w.Stream != "" {
			for _, ev := range x.inOrder(w) {
				h.pushLocal(w.Users, ev)
			}
			return
		}
		if w.Newest != "" {
			if w.Ver < x.newest[w.Newest] {
				return // another broker's later value came first
			}
			if len(x.newest) >= maxOnce {
				clear(x.newest)
			}
			x.newest[w.Newest] = w.Ver
		}
		h.pushLocal(w.Users, *w.Event)
	case kindAll:
		if w.Event == nil {
			return
		}
		if w.Once != "" {
			if x.once[w.Once] {
				return // announced already, by another broker
			}
			if len(x.once) >= maxOnce {
				clear(x.once)
			}
			x.once[w.Once] = true
		}
		h.broadcastLocal(*w.Event)
	case kindClose:
		if !self && w.Client != nil {
			h.closeSignIns(w.Client.UserID, w.Client.DeviceID, w.Client.SessionID, w.Except)
		}
	case kindReplace:
		if !self && w.Client != nil {
			h.dropDevice(w.Client.UserID, w.Client.DeviceID)
		}
	case kindOn, kindOff, kindSnap, kindHold:
		if !self {
			x.notePeer(w)
		}
	case kindFlag:
		h.applyFlag(w, self)
	case kindSig:
		if !self { // this broker's ran at Signal
			h.signalLocal(w.Topic, w.Key)
		}
	case kindHello:
		if !self {
			x.sendSnap()
		}
	case kindBye:
		if !self {
			x.peersMu.Lock()
			delete(x.peers, w.From)
			x.peersMu.Unlock()
		}
	}
}

// inOrder returns the frames to pass on for a frame of an ordered stream:
// none for a repeat, the missing entries and then the frame past a gap.
func (x *across) inOrder(w wire) []api.Event {
	last, known := x.streams[w.Stream]
	if known && w.SSeq <= last {
		return nil
	}
	var out []api.Event
	if known && w.SSeq > last+1 {
		x.fillMu.Lock()
		f := x.filler
		x.fillMu.Unlock()
		if f != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			items, err := f(ctx, w.Stream, last, w.SSeq)
			cancel()
			if err != nil {
				// The app pages the gap in itself when it sees it.
				x.h.log.Warn("events: fill a gap in a stream", "stream", w.Stream, "err", err)
			}
			for _, it := range items {
				b, err := json.Marshal(it)
				if err != nil {
					continue
				}
				out = append(out, api.Event{Type: w.Event.Type, At: w.Event.At, Data: b})
			}
		}
	}
	if len(x.streams) >= maxStreams && !known {
		clear(x.streams)
	}
	x.streams[w.Stream] = w.SSeq
	return append(out, *w.Event)
}

func (x *across) notePeer(w wire) {
	x.peersMu.Lock()
	defer x.peersMu.Unlock()
	p := x.peers[w.From]
	if p == nil || w.K == kindSnap {
		p = &peer{users: map[string]bool{}, held: setOf(w.Held), flags: setOf(w.Flags)}
		x.peers[w.From] = p
	}
	p.heard = time.Now()
	if w.K == kindHold {
		for _, u := range w.Users {
			setIn(p.held, w.Mark, u, w.On)
		}
		return
	}
	for _, u := range w.Users {
		if w.K == kindOff {
			delete(p.users, u)
		} else {
			p.users[u] = true
		}
	}
}

func (x *across) onlineElsewhere(userID string) bool {
	return x.anyLivePeer(func(p *peer) bool { return p.users[userID] })
}

// anyLivePeer reports whether ok holds for another broker still heard
// of, forgetting those unheard for peerTTL on the way.
func (x *across) anyLivePeer(ok func(*peer) bool) bool {
	x.peersMu.Lock()
	defer x.peersMu.Unlock()
	now := time.Now()
	for id, p := range x.peers {
		if now.Sub(p.heard) > peerTTL {
			delete(x.peers, id) // killed without a goodbye
			continue
		}
		if ok(p) {
			return true
		}
	}
	return false
}

// dropDevice cuts this broker's sockets of the user's laptop: it opened
// a new one on another broker.
func (h *Hub) dropDevice(userID, deviceID string) {
	if deviceID == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		if s.client.DeviceID == deviceID {
			h.dropLocked(s, dropReplaced)
		}
	}
}

// resumeAll follows a reconnect of the listener, which may have missed
// frames: the counters are read again and every socket is cut, so that
// each app reconnects and resumes from the store (events after its last
// number, chat after each channel's).
func (h *Hub) resumeAll() {
	h.log.Warn("events: the bus reconnected; sockets are cut so that they resume from the database")
	if err := h.refreshSeqs(context.Background()); err != nil {
		h.log.Warn("events: read counters", "err", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.subs {
		for s := range m {
			h.dropLocked(s, dropBehind)
		}
	}
}

// refreshSeqs raises the counters to the store's: other brokers publish
// to the same users.
func (h *Hub) refreshSeqs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seqs, err := h.st.EventSeqs(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for u, s := range seqs {
		h.committed[u] = max(h.committed[u], s)
		h.seqs[u] = max(h.seqs[u], s)
	}
	return nil
}
