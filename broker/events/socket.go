package events

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
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

// Socket is an accepted event socket.
type Socket struct {
	WS    *websocket.Conn
	batch *batchConn // nil: every frame leaves in a write of its own
}

// Accept upgrades the request to an event socket whose frames Serve
// gathers: when several are waiting, they leave in one TLS write (a
// syscall and a record per 16 KiB instead of one per frame), which is
// what a broadcast to thousands of sockets costs most.
func Accept(w http.ResponseWriter, r *http.Request) (*Socket, error) {
	hw := &hijackWriter{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, nil)
	if err != nil {
		return nil, err
	}
	return &Socket{WS: ws, batch: hw.batch}, nil
}

// hijackWriter hands the WebSocket library the connection wrapped in a
// batchConn.
type hijackWriter struct {
	http.ResponseWriter
	batch *batchConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // the 101 answer, if still held
		conn.Close()
		return nil, nil, err
	}
	w.batch = &batchConn{Conn: conn}
	return w.batch, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(w.batch)), nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// batchConn gathers writes while corked and sends them in one write at
// uncork. Outside a burst it writes through, so what the library sends on
// its own (pongs, the close) is held back at most until the burst ends.
type batchConn struct {
	net.Conn
	mu       sync.Mutex // guards corked, buf, deadline; held across the write to keep order
	corked   bool
	buf      []byte
	deadline time.Time // the connection's write deadline
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	c.extendLocked()
	return c.Conn.Write(p)
}

// extendLocked keeps a write deadline between half of writeTimeout and
// writeTimeout ahead: a peer that stops reading is cut within it, and the
// deadline is moved about once per writeTimeout/2, not at every write
// (setting it at every write was a tenth of a broadcast's CPU).
func (c *batchConn) extendLocked() {
	now := time.Now()
	if c.deadline.Sub(now) > writeTimeout/2 {
		return
	}
	c.deadline = now.Add(writeTimeout)
	_ = c.Conn.SetWriteDeadline(c.deadline)
}

func (c *batchConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

func (c *batchConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	c.extendLocked()
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > 256<<10 {
		c.buf = nil // an unusual burst: do not keep it
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// maxBurst bounds the frames gathered into one write.
const maxBurst = 64

// Serve runs one event socket until the peer leaves or ctx ends. This
// goroutine is the socket's only writer.
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, c Client, after int64) error {
	return h.ServeSocket(ctx, &Socket{WS: conn}, c, after)
}

// ServeSocket is Serve for a socket from Accept.
func (h *Hub) ServeSocket(ctx context.Context, sock *Socket, c Client, after int64) error {
	conn := sock.WS
	userID := c.UserID
	sub, err := h.SubscribeClient(c)
	if err != nil {
		conn.Close(websocket.StatusPolicyViolation, "too many event sockets: close other Zaitaku windows")
		return nil
	}
	defer h.Unsubscribe(sub)
	ctx, bad := readClient(ctx, conn)
	err = h.serve(ctx, &writer{conn: conn, batch: sock.batch}, sub, userID, after, bad)
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

func (h *Hub) serve(ctx context.Context, w *writer, sub *Sub, userID string, after int64, bad <-chan struct{}) error {
	conn := w.conn

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
		case f := <-sub.C:
			if err := h.burst(ctx, w, sub, userID, f, &sent); err != nil {
				return err
			}
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

type writer struct {
	conn   *websocket.Conn
	batch  *batchConn
	corked bool
}

// burst sends first and whatever else is waiting (up to maxBurst frames)
// in one write; sent is the last stored sequence sent.
func (h *Hub) burst(ctx context.Context, w *writer, sub *Sub, userID string, first *Frame, sent *int64) error {
	if w.batch != nil {
		w.batch.cork()
		w.corked = true
	}
	f, err := first, error(nil)
	for i := 1; err == nil; i++ {
		switch {
		case f.Seq != 0 && f.Seq <= *sent:
			// Sent from the backlog already.
		case f.Seq > *sent+1 && h.x != nil:
			// Across brokers, two brokers' events for one user may
			// cross on the bus; whatever is numbered below a stored
			// event is stored too, so the gap is read from the store.
			if *sent, err = h.sendBetween(ctx, w, userID, *sent, f.Seq); err == nil {
				err = w.sendFrame(ctx, f)
			}
			if err == nil {
				*sent = f.Seq
			}
		default:
			if err = w.sendFrame(ctx, f); err == nil {
				*sent = max(*sent, f.Seq)
			}
		}
		if w.batch == nil || i == maxBurst {
			break
		}
		select {
		case f = <-sub.C:
			continue
		default:
		}
		break
	}
	if w.corked {
		w.corked = false
		if ferr := w.batch.uncork(); err == nil && ferr != nil {
			err = fmt.Errorf("event socket write: %w", ferr)
		}
	}
	return err
}

func (w *writer) send(ctx context.Context, ev api.Event) error {
	return w.sendFrame(ctx, &Frame{Event: ev})
}

// sendFrame writes f; f is shared with the other sockets that got it and
// is only read.
func (w *writer) sendFrame(ctx context.Context, f *Frame) error {
	b := f.raw
	if b == nil {
		var err error
		if b, err = json.Marshal(f.Event); err != nil {
			return err
		}
	}
	if w.corked {
		// Into the batch's buffer: it cannot block, and the connection
		// has its deadline; a context here would cost a timer per frame.
		if err := w.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
			return fmt.Errorf("event socket write: %w", err)
		}
		return nil
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
