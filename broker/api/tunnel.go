package api

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The tunnel carries one RDP connection over its own TLS connection to the
// broker: an authenticated HTTP/1.1 request
//
//	GET /v1/tunnel/{slot}
//	Connection: Upgrade
//	Upgrade: zaitaku-tunnel/2
//
// answered by 101, after which the connection carries the bytes both ways
// in AES-GCM records keyed from the TLS session (tunnel_records.go; no
// WebSocket framing: it cost twice the CPU per byte). The broker chooses
// the target, the office PC paired with the slot; the request names none.
//
// Throughput comes from a few things measured against ssh -L: records
// sealed and opened without copies, large copy buffers (up to 1 MiB, not
// io.Copy's 32 KiB) so that a busy direction makes few syscalls, and
// 4 MiB socket buffers.
//
// A broker behind a TLS-terminating proxy (-insecure-http) sees no TLS,
// so it has no keys for records: the app offers both protocols and such a
// broker answers TunnelProtocolBytes, the bytes as they are inside the
// app's TLS connection to the proxy.
const (
	TunnelProtocol      = "zaitaku-tunnel/2"
	TunnelProtocolBytes = "zaitaku-tunnel/1"
)

// TunnelPath is the route of a slot's tunnel.
func TunnelPath(slotID string) string { return "/v1/tunnel/" + url.PathEscape(slotID) }

const (
	// SocketBuffer is the kernel send/receive buffer for tunnel sockets:
	// large enough for a full-screen RDP burst on a long fat path.
	SocketBuffer = 4 << 20
	// copyBufMax is the copy buffer of a busy direction; a direction
	// starts at copyBufMin and grows when a read fills its buffer, so
	// hundreds of idle-ish tunnels do not each pin a megabyte. On 2
	// cores one stream ran 8.7 Gbit/s with 256 KiB and 9.6 with 1 MiB.
	copyBufMax = 1 << 20
	copyBufMin = 32 << 10
)

// TuneSocket sets the tunnel's socket options on a TCP connection (or the
// TCP connection under a TLS one). Failures are ignored: the tunnel still
// works with the system's defaults.
func TuneSocket(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if rc, ok := c.(*RecordConn); ok {
		c = rc.raw
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(SocketBuffer)
		_ = tcp.SetWriteBuffer(SocketBuffer)
		_ = tcp.SetNoDelay(true)
	}
}

// Splice relays between a and b until both directions end or one fails,
// then closes both. aToB and bToA (may be nil) count the bytes as they
// pass, so that others can read them while the tunnel runs. Closing a or
// b from another goroutine ends the splice. also, when given, is a second
// pair of counters (aToB, bToA) such as totals over several splices. The
// error is the first failure other than the connections being closed.
func Splice(a, b net.Conn, aToB, bToA *atomic.Int64, also ...*atomic.Int64) error {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	defer closeBoth()
	errc := make(chan error, 2)
	var alsoAB, alsoBA *atomic.Int64
	if len(also) == 2 {
		alsoAB, alsoBA = also[0], also[1]
	}
	go func() { errc <- pipe(b, a, aToB, alsoAB) }()
	go func() { errc <- pipe(a, b, bToA, alsoBA) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil {
			if first == nil && !errors.Is(err, net.ErrClosed) {
				first = err
				// A failure (a cut tunnel, a refused record) must not look
				// like the end of the stream to the RDP client or the
				// office PC: they get a reset, not a FIN.
				once.Do(func() {
					abort(a)
					abort(b)
				})
			}
			closeBoth() // one side failed: the other direction is meaningless
		}
	}
	return first
}

// abort closes c so that its peer sees a reset.
func abort(c net.Conn) {
	raw := c
	if rc, ok := c.(*RecordConn); ok {
		raw = rc.raw
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	c.Close()
}

// pipe copies src to dst with its own loop: io.CopyBuffer would hand the
// work to a ReaderFrom/WriterTo (32 KiB chunks) and skip our buffer. At
// src's EOF it half-closes dst so the peer sees the end of the stream.
func pipe(dst, src net.Conn, count, also *atomic.Int64) error {
	add := relayCounter(count, also)
	if rc, ok := src.(*RecordConn); ok {
		if err := rc.RelayTo(dst, add); err != nil {
			return err
		}
		return closeWrite(dst)
	}
	buf := make([]byte, copyBufMin)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			add(n)
			if n == len(buf) && len(buf) < copyBufMax {
				buf = make([]byte, copyBufMax)
			}
		}
		if err == io.EOF {
			return closeWrite(dst)
		}
		if err != nil {
			return err
		}
	}
}

// closeWrite half-closes c. Its failure is not reported: it means the
// peer is already gone, and there is nothing left to deliver to it.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return nil
	}
	_ = c.Close()
	return nil
}

// TunnelStats describes one forwarded connection once it has ended.
type TunnelStats struct {
	Up, Down int64 // bytes from the local client to the broker, and back
	Duration time.Duration
	Err      error // the dial or relay failure, nil on a clean end
}

// Forward accepts connections on ln (the app's 127.0.0.1 listener) and
// carries each over its own connection from dial, typically
// Client.DialTunnel for the granted slot. It returns when ctx ends or
// ln fails, after closing ln and every forwarded connection. done (may
// be nil) is called as each connection ends.
func Forward(ctx context.Context, ln net.Listener, dial func(ctx context.Context) (net.Conn, error), done func(TunnelStats)) error {
	return (&Forwarder{Dial: dial, Done: done}).Serve(ctx, ln)
}

// Forwarder is Forward with live byte totals.
type Forwarder struct {
	Dial func(ctx context.Context) (net.Conn, error)
	Done func(TunnelStats) // may be nil
	// Up and Down count the bytes of all connections as they pass.
	Up, Down atomic.Int64
}

// Serve forwards ln's connections until ctx ends or ln fails (see Forward).
func (f *Forwarder) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	for {
		local, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := f.forwardOne(ctx, local)
			if f.Done != nil {
				f.Done(st)
			}
		}()
	}
}

func (f *Forwarder) forwardOne(ctx context.Context, local net.Conn) TunnelStats {
	start := time.Now()
	TuneSocket(local)
	remote, err := f.Dial(ctx)
	if err != nil {
		local.Close()
		return TunnelStats{Err: err, Duration: time.Since(start)}
	}
	stop := context.AfterFunc(ctx, func() {
		local.Close()
		remote.Close()
	})
	defer stop()
	var c counted
	c.up, c.down = &f.Up, &f.Down
	err = Splice(local, remote, &c.connUp, &c.connDown, c.up, c.down)
	return TunnelStats{Up: c.connUp.Load(), Down: c.connDown.Load(), Duration: time.Since(start), Err: err}
}

type counted struct {
	connUp, connDown atomic.Int64
	up, down         *atomic.Int64
}
