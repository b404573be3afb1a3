package core

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// TunnelDialer opens one tunnel connection for a granted slot
// (*api.Client implements it).
type TunnelDialer interface {
	DialTunnel(ctx context.Context, slotID string) (net.Conn, error)
}

var _ TunnelDialer = (*api.Client)(nil)

// Tunnel is the app's end of the RDP tunnel: a listener on 127.0.0.1 at a
// random port, for the RDP client only, whose every connection the broker
// carries to the office PC over a TLS connection of its own.
type Tunnel struct {
	ln     net.Listener
	fwd    tunnel.Forwarder
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards lastErr, opened, ended
	lastErr error      // the last connection's failure (e.g. the slot ended)
	opened  int        // connections the RDP client made
	ended   int        // connections that have ended
	err     error      // Serve's result, once done is closed
}

// OpenTunnel starts listening for slotID. It runs until Close or ctx ends.
func OpenTunnel(ctx context.Context, d TunnelDialer, slotID string) (*Tunnel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &Tunnel{ln: ln, cancel: cancel, done: make(chan struct{})}
	t.fwd.Dial = func(ctx context.Context) (net.Conn, error) {
		t.mu.Lock()
		t.opened++
		t.mu.Unlock()
		return d.DialTunnel(ctx, slotID)
	}
	t.fwd.Done = func(st tunnel.Stats) {
		t.mu.Lock()
		t.ended++
		if st.Err != nil {
			t.lastErr = st.Err
		}
		t.mu.Unlock()
	}
	go func() {
		err := t.fwd.Serve(ctx, ln)
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
		close(t.done)
	}()
	return t, nil
}

// Port is the local port for the RDP client.
func (t *Tunnel) Port() int { return t.ln.Addr().(*net.TCPAddr).Port }

// Bytes returns what the tunnel has carried so far: from the laptop to
// the office PC (up) and back (down), live, over all its connections.
func (t *Tunnel) Bytes() (up, down int64) { return t.fwd.Up.Load(), t.fwd.Down.Load() }

// LastError is the last connection's failure, nil if none failed. An
// *api.Error says why the broker refused (the slot ended, the PC is down).
func (t *Tunnel) LastError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}

// Ended counts connections that have ended.
func (t *Tunnel) Ended() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended
}

// Settle waits up to d for every connection to have ended, so that
// LastError says how the last one went: the RDP client can exit a moment
// before its broken connection is torn down.
func (t *Tunnel) Settle(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		t.mu.Lock()
		done := t.ended >= t.opened
		t.mu.Unlock()
		if done || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops listening, ends every connection and waits for them.
func (t *Tunnel) Close() error {
	t.cancel()
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil && !errors.Is(t.err, net.ErrClosed) {
		return t.err
	}
	return nil
}
