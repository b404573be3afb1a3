// Package wake brings a sleeping office PC up before a tunnel is opened:
// probe its RDP port, and if nothing answers, send a Wake-on-LAN magic
// packet and keep probing until it answers or the wait runs out.
package wake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Stages reported to the progress callback, in the order they happen.
const (
	StageChecking = "checking" // first probe of the RDP port
	StageWaking   = "waking"   // magic packet sent
	StageWaiting  = "waiting"  // probing until the PC answers
	StageReady    = "ready"    // the RDP port answers
	StageFailed   = "failed"   // detail says why
)

// Errors Wake returns (wrapped with the target's address).
var (
	ErrNoAnswer = errors.New("office pc did not answer after wake-on-lan")
	ErrNoMAC    = errors.New("office pc has no mac address for wake-on-lan")
	ErrBadMAC   = errors.New("wake-on-lan needs a 6-byte mac address")
)

// Target is the PC to wake.
type Target struct {
	Addr      string           // host:port of its RDP service
	MAC       net.HardwareAddr // its network card, for the magic packet
	Broadcast string           // host:port the magic packet is sent to (e.g. 192.168.1.255:9)
}

// Waker wakes office PCs. The zero value uses the defaults below; tests
// inject the clock and the timer.
type Waker struct {
	// Timeout bounds the wait after the first magic packet (default 3 min:
	// a Windows PC resuming from S3 answers in seconds, a cold boot in ~1 min).
	Timeout time.Duration
	// Interval between probes while waiting (default 2 s).
	Interval time.Duration
	// Resend repeats the magic packet this often while waiting (default
	// 20 s): a single UDP datagram can be lost, and some NICs only listen
	// once the PC has fully entered sleep.
	Resend time.Duration
	// ProbeTimeout bounds one TCP connect (default 2 s).
	ProbeTimeout time.Duration

	Now   func() time.Time                                                  // default time.Now
	After func(d time.Duration) <-chan time.Time                            // default time.After
	Dial  func(ctx context.Context, network, addr string) (net.Conn, error) // default net.Dialer
}

func (w *Waker) defaults() Waker {
	c := *w
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	if c.Resend <= 0 {
		c.Resend = 20 * time.Second
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.Dial == nil {
		c.Dial = (&net.Dialer{}).DialContext
	}
	return c
}

// Wake returns nil once t.Addr accepts a TCP connection, waking the PC
// first if it does not. progress (may be nil) sees each stage with a
// detail for people and logs. Errors: ErrNoMAC, ErrBadMAC, ErrNoAnswer,
// a send failure, or ctx's error.
func (w *Waker) Wake(ctx context.Context, t Target, progress func(stage, detail string)) error {
	c := w.defaults()
	if progress == nil {
		progress = func(string, string) {}
	}
	fail := func(err error) error {
		progress(StageFailed, err.Error())
		return fmt.Errorf("wake %s: %w", t.Addr, err)
	}
	progress(StageChecking, t.Addr)
	if c.probe(ctx, t.Addr) {
		progress(StageReady, t.Addr)
		return nil
	}
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	if len(t.MAC) == 0 {
		return fail(ErrNoMAC)
	}
	if err := Send(ctx, t.Broadcast, t.MAC); err != nil {
		return fail(err)
	}
	progress(StageWaking, t.MAC.String())
	start := c.Now()
	lastSend := start
	progress(StageWaiting, fmt.Sprintf("%s, up to %s", t.Addr, c.Timeout))
	for {
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-c.After(c.Interval):
		}
		if c.probe(ctx, t.Addr) {
			progress(StageReady, t.Addr)
			return nil
		}
		now := c.Now()
		if now.Sub(start) >= c.Timeout {
			return fail(fmt.Errorf("%w within %s", ErrNoAnswer, c.Timeout))
		}
		if now.Sub(lastSend) >= c.Resend {
			if err := Send(ctx, t.Broadcast, t.MAC); err != nil {
				return fail(err)
			}
			lastSend = now
		}
	}
}

// Probe reports whether an office PC's RDP port (host:port) accepts a TCP
// connection within the Waker's ProbeTimeout: the PC is awake. It sends
// nothing, so the PC sees a connection opened and closed.
func (w *Waker) Probe(ctx context.Context, addr string) bool {
	c := w.defaults()
	return c.probe(ctx, addr)
}

// probe reports whether addr accepts a TCP connection.
func (c *Waker) probe(ctx context.Context, addr string) bool {
	pctx, cancel := context.WithTimeout(ctx, c.ProbeTimeout)
	defer cancel()
	conn, err := c.Dial(pctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// MagicPacket builds the Wake-on-LAN payload: 6 bytes of 0xFF followed by
// the MAC repeated 16 times (102 bytes).
func MagicPacket(mac net.HardwareAddr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("%w, got %d bytes", ErrBadMAC, len(mac))
	}
	p := make([]byte, 0, 6+16*6)
	for range 6 {
		p = append(p, 0xFF)
	}
	for range 16 {
		p = append(p, mac...)
	}
	return p, nil
}

// Send sends one magic packet for mac by UDP to broadcast (host:port).
func Send(ctx context.Context, broadcast string, mac net.HardwareAddr) error {
	p, err := MagicPacket(mac)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", broadcast)
	if err != nil {
		return fmt.Errorf("send wake-on-lan to %s: %w", broadcast, err)
	}
	defer conn.Close()
	if uc, ok := conn.(*net.UDPConn); ok {
		// Directed broadcasts (x.y.z.255) need SO_BROADCAST.
		_ = setBroadcast(uc)
	}
	if _, err := conn.Write(p); err != nil {
		return fmt.Errorf("send wake-on-lan to %s: %w", broadcast, err)
	}
	return nil
}
