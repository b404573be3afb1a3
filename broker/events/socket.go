package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Socket timings.
const (
	pingEvery    = 30 * time.Second
	writeTimeout = 15 * time.Second
	backlogPage  = 500
)

// Close codes of the event socket beyond the standard ones.
const (
	// StatusFellBehind closes a socket whose reader was too slow; the app
	// reconnects with ?after= and loses nothing.
	StatusFellBehind websocket.StatusCode = 4000
	// StatusReplaced closes a socket that a newer one of the same laptop
	// replaced.
	StatusReplaced websocket.StatusCode = 4001
	// StatusSignedOut closes the socket of a sign-in that ended.
	StatusSignedOut websocket.StatusCode = 4002
)

// Serve runs one event socket until the peer leaves or ctx ends. This
// goroutine is the socket's only writer.
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, c Client, after int64) error {
	userID := c.UserID
	sub, err := h.SubscribeClient(c)
	if err != nil {
		conn.Close(websocket.StatusPolicyViolation, "too many event sockets: close other Zaitaku windows")
		return nil
	}
	defer h.Unsubscribe(sub)
	ctx, bad := readClient(ctx, conn)
	err = h.serve(ctx, conn, sub, userID, after, bad)
	if ctx.Err() != nil {
		return nil // the app left or the broker is stopping
	}
	if err != nil {
		conn.Close(websocket.StatusInternalError, "")
	}
	return err
}

// clientReadLimit bounds a frame from the app: it sends none, so anything
// longer than a short note is closed with StatusMessageTooBig.
const clientReadLimit = 4 << 10

// maxBadFrames is how many frames an app may send (each answered with an
// error frame) before its socket is closed as misbehaving.
const maxBadFrames = 10

// readClient reads what the app sends. Nothing is expected (sends are
// HTTP requests with an idempotency key), but reading answers pings and
// notices the peer's close; each data frame is reported on bad, so the
// writer can answer it with an error frame and the socket stays usable.
// (The library's CloseRead would close the socket on a data frame and
// then wait 15 s on itself.) The context ends when reading does.
func readClient(ctx context.Context, conn *websocket.Conn) (context.Context, <-chan struct{}) {
	conn.SetReadLimit(clientReadLimit)
	ctx, cancel := context.WithCancel(ctx)
	bad := make(chan struct{}, maxBadFrames+1)
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
			select {
			case bad <- struct{}{}:
			default:
			}
		}
	}()
	return ctx, bad
}

func (h *Hub) serve(ctx context.Context, conn *websocket.Conn, sub *Sub, userID string, after int64, bad <-chan struct{}) error {
	w := &writer{conn: conn}

	last := h.LastSeq(userID)
	if after > last && h.x != nil {
		// Another broker may have stored what the app saw, its
		// notification still on the way: ask the database.
		if err := h.refreshSeqs(ctx); err != nil {
			return fmt.Errorf("event counters: %w", err)
		}
		last = h.LastSeq(userID)
	}
	if err := w.send(ctx, api.Event{Type: api.EventHello, At: h.now(), Data: mustJSON(api.Hello{LastSeq: last})}); err != nil {
		return err
	}
	if after > last || after < 0 {
		// The app saw numbers this broker never stored (a restored
		// database): it must refetch its state; go on from here.
		if err := w.send(ctx, api.Event{Type: api.EventResync, At: h.now()}); err != nil {
			return err
		}
		after = last
	}
	sent := after
	for first := true; ; first = false {
		evs, err := h.Backlog(ctx, userID, sent, backlogPage)
		if err != nil {
			return fmt.Errorf("event backlog of %s: %w", userID, err)
		}
		if first && sent < last && (len(evs) == 0 || evs[0].Seq > sent+1) {
			// Events the app missed were purged.
			if err := w.send(ctx, api.Event{Type: api.EventResync, At: h.now()}); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			if err := w.send(ctx, ev); err != nil {
				return err
			}
			sent = ev.Seq
		}
		if len(evs) < backlogPage {
			break
		}
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	badFrames := 0
	for {
		select {
		case <-bad:
			badFrames++
			if badFrames > maxBadFrames {
				conn.Close(websocket.StatusPolicyViolation, "the event socket takes no messages")
				return nil
			}
			e := api.Err(api.CodeBadRequest, "the event socket takes no messages: send with the HTTP routes (chat: POST /v1/chat/channels/{id}/messages)")
			if err := w.send(ctx, api.Event{Type: api.EventError, At: h.now(), Data: mustJSON(e)}); err != nil {
				return err
			}
		case <-ctx.Done():
			conn.Close(websocket.StatusGoingAway, "")
			return nil
		case <-sub.Lost():
			switch sub.why {
			case dropReplaced:
				conn.Close(StatusReplaced, "replaced by a newer socket of this app")
			case dropEnded:
				conn.Close(StatusSignedOut, "the sign-in ended")
			default:
				conn.Close(StatusFellBehind, "fell behind; reconnect with after=")
			}
			return nil
		case ev := <-sub.C:
			if ev.Seq != 0 && ev.Seq <= sent {
				continue // already sent from the backlog
			}
			if ev.Seq > sent+1 && h.x != nil {
				// Across brokers, two brokers' events for one user may
				// cross on the bus; whatever is numbered below a stored
				// event is stored too, so the gap is read from the store.
				var err error
				if sent, err = h.sendBetween(ctx, w, userID, sent, ev.Seq); err != nil {
					return err
				}
			}
			if err := w.send(ctx, ev); err != nil {
				return err
			}
			sent = max(sent, ev.Seq)
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				conn.Close(websocket.StatusGoingAway, "no pong")
				return nil
			}
		}
	}
}

// sendBetween sends the stored events after sent and before upto.
func (h *Hub) sendBetween(ctx context.Context, w *writer, userID string, sent, upto int64) (int64, error) {
	for sent < upto-1 {
		evs, err := h.Backlog(ctx, userID, sent, int(min(upto-1-sent, backlogPage)))
		if err != nil {
			return sent, fmt.Errorf("event backlog of %s: %w", userID, err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.Seq >= upto {
				return sent, nil
			}
			if err := w.send(ctx, ev); err != nil {
				return sent, err
			}
			sent = ev.Seq
		}
	}
	return sent, nil
}

type writer struct{ conn *websocket.Conn }

func (w *writer) send(ctx context.Context, ev api.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := w.conn.Write(wctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("event socket write: %w", err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
