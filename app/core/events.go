package core

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// flowState is the state the event socket, the connect flow and the
// heartbeats share. It is a field of Client, so it lives and dies with it.
type flowState struct {
	mu       sync.Mutex // guards every field below
	lastSeq  int64      // last event seen; the socket resumes after it
	sub      chan api.Event
	running  bool               // a connect flow is under way
	cancel   context.CancelFunc // ends the running flow
	done     chan struct{}      // closed when the running flow has cleaned up
	userStop bool               // Disconnect was pressed
}

// Reconnect backoff of the event socket (Client.eventsBackoff).
const (
	eventsMinBackoff = time.Second
	eventsMaxBackoff = 30 * time.Second
)

// resyncEvent is handed to the flow when the broker could not replay what
// the app missed: the flow re-reads its slot.
const resyncEvent = "app.resync"

// runEvents keeps the event socket open for the session: it reconnects
// with backoff, resumes after the last event seen (so nothing is lost or
// repeated), and sets State.Online.
func (c *Client) runEvents(ctx context.Context) {
	f := &c.flow
	minBackoff, maxBackoff := c.eventsBackoff[0], c.eventsBackoff[1]
	backoff := minBackoff
	first := true
	for ctx.Err() == nil {
		f.mu.Lock()
		after := f.lastSeq
		f.mu.Unlock()
		s, err := c.api.DialEvents(ctx, after)
		if err == nil {
			backoff = minBackoff
			c.update(func(st *State) { st.Online = true })
			if !first {
				// Something may have changed while the socket was down;
				// latest-value events (queue position) are not replayed.
				c.refreshStatus(ctx)
				c.dispatch(ctx, api.Event{Type: resyncEvent})
			}
			first = false
			err = c.readEvents(ctx, s)
			if s.CloseStatus() == closeSignedOut {
				c.kickRefresh() // why did the sign-in end? (a revoked laptop)
			}
			s.Close()
			if c.deps.Events != nil {
				c.deps.Events.Down()
			}
		}
		if ctx.Err() != nil {
			return
		}
		if e := api.AsError(err); e != nil && e.Code == api.CodeUnauthenticated {
			c.kickRefresh()
		}
		c.update(func(st *State) { st.Online = false })
		c.log.Info("event socket down; reconnecting", "err", err, "in", backoff)
		// Jitter spreads 3,000 laptops reconnecting after a broker restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// readEvents reads until the socket fails. Events that no running flow
// waits for (a previous run's backlog) are dropped by dispatch; a flow
// only acts on events of its own slot.
func (c *Client) readEvents(ctx context.Context, s *api.EventStream) error {
	f := &c.flow
	var hello api.Hello
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			return err
		}
		switch ev.Type {
		case api.EventHello:
			_ = json.Unmarshal(ev.Data, &hello)
			if c.deps.Events != nil {
				c.deps.Events.Subscribed()
			}
			continue
		case api.EventResync:
			// The broker cannot replay what we missed, or its numbers went
			// back (a restored database): follow its numbering from here.
			f.mu.Lock()
			f.lastSeq = min(f.lastSeq, hello.LastSeq)
			f.mu.Unlock()
			c.dispatch(ctx, api.Event{Type: resyncEvent})
			continue
		}
		if ev.Type == api.EventBCP {
			// An announcement to every running app, not the flow's.
			var n api.BCPNotice
			if json.Unmarshal(ev.Data, &n) == nil {
				c.update(func(st *State) { st.BCP = bcpFrom(&n) })
				c.kickStatus() // the cap changed with it
			}
			continue
		}
		if strings.HasPrefix(ev.Type, "chat.") {
			// Chat keeps its own per-channel sequence (app/chat); the
			// connect flow has no use for it.
			if c.deps.Events != nil {
				c.deps.Events.Event(ev)
			}
			continue
		}
		if ev.Seq != 0 {
			f.mu.Lock()
			if ev.Seq <= f.lastSeq {
				f.mu.Unlock()
				continue // already handled before a reconnect
			}
			f.lastSeq = ev.Seq
			f.mu.Unlock()
		} // else a latest-value event: not numbered
		if isTeleworkEvent(ev.Type) {
			// Telework is the faces' (a notice, a new view), not the flow's.
			c.teleworkEvent(ev, c.twKick)
			continue
		}
		c.dispatch(ctx, ev)
	}
}

// dispatch hands an event to the running connect flow, if any.
func (c *Client) dispatch(ctx context.Context, ev api.Event) {
	f := &c.flow
	f.mu.Lock()
	ch := f.sub
	f.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- ev:
	case <-ctx.Done():
	}
}

// statusEvery is how often the home screen's free-slot count is re-read:
// colleagues connecting change it, and no event carries it.
const statusEvery = 30 * time.Second

// keepStatus reads the status now, then every statusEvery and right after
// the phase changes (a grant or an end changes the count at once).
func (c *Client) keepStatus(ctx context.Context) {
	last := c.State().Phase
	c.refreshStatus(ctx)
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	changed := make(chan struct{}, 1)
	cancel := c.Subscribe(func(st State) {
		if st.Phase != last {
			last = st.Phase
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		case <-c.statusKick:
		}
		c.refreshStatus(ctx)
	}
}

// refreshStatus reads the free slots and the office PC for the home screen.
func (c *Client) refreshStatus(ctx context.Context) {
	st, err := c.api.Status(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("status", "err", err)
		}
		return
	}
	c.update(func(s *State) {
		s.SlotsCap, s.SlotsFree = st.SlotsCap, st.SlotsFree
		s.BCP = bcpFrom(st.BCP)
		if st.Terminal != nil {
			s.Terminal = &Terminal{ID: st.Terminal.ID, Name: st.Terminal.Name, State: terminalState(st.Terminal.State),
				SeenAt: st.Terminal.SeenAt}
		} else {
			s.Terminal = nil
		}
	})
}

func terminalState(s string) TerminalState {
	switch s {
	case api.TerminalAsleep:
		return TerminalAsleep
	case api.TerminalAwake:
		return TerminalAwake
	case api.TerminalInUse:
		return TerminalInUse
	}
	return TerminalUnknown
}
