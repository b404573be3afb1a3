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
//	Upgrade: zaitaku-tunnel/1
//
// answered by 101, after which the TLS stream carries the raw bytes both
// ways (no framing: WebSocket framing cost twice the CPU per byte). The
// broker chooses the target, the office PC paired with the slot; the
// request names none.
//
// Throughput comes from a few things measured against ssh -L: large copy
// buffers (256 KiB, not io.Copy's 32 KiB), one syscall for many TLS records
// on write (corkConn), draining every record already received on read,
// and 4 MiB socket buffers.
const TunnelProtocol = "zaitaku-tunnel/1"

// TunnelPath is the route of a slot's tunnel.
func TunnelPath(slotID string) string { return "/v1/tunnel/" + url.PathEscape(slotID) }

const (
	// SocketBuffer is the kernel send/receive buffer for tunnel sockets:
	// large enough for a full-screen RDP burst on a long fat path.
	SocketBuffer = 4 << 20
	// copyBufMax is the copy buffer of a busy direction; a direction
	// starts at copyBufMin and grows when a read fills its buffer, so
	// hundreds of idle-ish tunnels do not each pin half a megabyte.
	copyBufMax = 256 << 10
	copyBufMin = 32 << 10
	// maxRecord is the largest TLS plaintext record.
	maxRecord = 16 << 10
)

// TuneSocket sets the tunnel's socket options on a TCP connection (or the
// TCP connection under a TLS one). Failures are ignored: the tunnel still
// works with the system's defaults.
func TuneSocket(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if cc, ok := c.(*CorkConn); ok {
		c = cc.Conn
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(SocketBuffer)
		_ = tcp.SetWriteBuffer(SocketBuffer)
		_ = tcp.SetNoDelay(true)
	}
}

// CorkConn sits under a TLS connection so that one large application
// write, which crypto/tls splits into 16 KiB records and writes one
// syscall each, leaves as one write. Outside Cork/Uncork it passes writes
// straight through, so what the TLS stack writes on its own (handshake,
// alerts, key updates) is never held back.
//
// Once boosted, reads go through a buffer of their own, so that the TLS
// layer above, which asks for little more than one record at a time, gets
// many records per syscall. The buffer starts small and grows to 256 KiB
// only when a read fills it: hundreds of quiet RDP tunnels should not
// each pin a quarter megabyte.
type CorkConn struct {
	net.Conn

	// Only the TLS layer's reading goroutine touches these.
	boosted    bool
	rbuf       []byte
	rpos, rend int
	filled     bool // the last read filled rbuf

	mu     sync.Mutex // guards corked, buf; held across the write to keep order
	corked bool
	buf    []byte
}

// NewCorkConn wraps c, with buffered reads from the start (the app's end
// of a tunnel, which carries nothing else).
func NewCorkConn(c net.Conn) *CorkConn { return &CorkConn{Conn: c, boosted: true} }

// CorkListener wraps every accepted connection in a CorkConn without read
// buffering. The broker's TLS listener sits on it; a connection that
// becomes a tunnel is boosted then (see NewTLSStream), the others cost a
// pointer.
func CorkListener(ln net.Listener) net.Listener { return corkListener{ln} }

type corkListener struct{ net.Listener }

func (l corkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &CorkConn{Conn: c}, nil
}

// boost turns on buffered reads. It must not run while a Read is in
// progress: NewTLSStream calls it once the connection is handed over.
func (c *CorkConn) boost() { c.boosted = true }

// Read reads through the buffer once boosted. Errors are not kept, so a
// timeout from a read deadline stays temporary, as crypto/tls expects.
func (c *CorkConn) Read(p []byte) (int, error) {
	if c.rpos == c.rend {
		if !c.boosted || len(p) >= copyBufMax {
			return c.Conn.Read(p)
		}
		switch {
		case c.rbuf == nil:
			c.rbuf = make([]byte, copyBufMin)
		case c.filled && len(c.rbuf) < copyBufMax:
			c.rbuf = make([]byte, copyBufMax) // the peer is sending in bulk
		}
		n, err := c.Conn.Read(c.rbuf)
		if n == 0 {
			return 0, err
		}
		c.rpos, c.rend, c.filled = 0, n, n == len(c.rbuf)
	}
	n := copy(p, c.rbuf[c.rpos:c.rend])
	c.rpos += n
	return n, nil
}

// Write buffers while corked, else writes through.
func (c *CorkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Cork starts buffering writes.
func (c *CorkConn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork writes what was buffered in one write and stops buffering.
func (c *CorkConn) Uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > 2*copyBufMax {
		c.buf = nil // an unusual burst: do not keep it
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// TLSStream is a TLS connection tuned for bulk relaying: Write coalesces
// records into one syscall (when the TLS connection runs over a
// CorkConn), Read returns every record already received instead of one.
// Prefix holds bytes read ahead while parsing the upgrade answer.
type TLSStream struct {
	*tls.Conn
	cork   *CorkConn // nil when the TLS connection was made elsewhere
	prefix []byte
}

// NewTLSStream wraps c; prefix is data already read from c's plaintext.
// No one else may read from c any more: its CorkConn, if any, starts
// buffering reads.
func NewTLSStream(c *tls.Conn, prefix []byte) *TLSStream {
	s := &TLSStream{Conn: c, prefix: prefix}
	if s.cork, _ = c.NetConn().(*CorkConn); s.cork != nil {
		s.cork.boost()
	}
	return s
}

// Write sends p as TLS records in as few syscalls as possible.
func (s *TLSStream) Write(p []byte) (int, error) {
	if s.cork == nil {
		return s.Conn.Write(p)
	}
	s.cork.Cork()
	n, err := s.Conn.Write(p)
	if ferr := s.cork.Uncork(); err == nil {
		err = ferr
	}
	return n, err
}

// drainDeadline is in the past: a read with it returns only what is
// already buffered, never waiting on the network.
var drainDeadline = time.Unix(1, 0)

// Read fills p with the first record and then every further record that
// is already buffered. crypto/tls returns at most one record per Read.
func (s *TLSStream) Read(p []byte) (int, error) {
	if len(s.prefix) > 0 {
		n := copy(p, s.prefix)
		s.prefix = s.prefix[n:]
		return n, nil
	}
	n, err := s.Conn.Read(p)
	if err != nil || len(p)-n < maxRecord {
		return n, err
	}
	// A read deadline in the past makes crypto/tls return a temporary
	// timeout (not sticky) as soon as it would wait for the network, while
	// complete records already in its buffer are still decrypted.
	_ = s.Conn.SetReadDeadline(drainDeadline)
	for len(p)-n >= maxRecord {
		m, err := s.Conn.Read(p[n:])
		n += m
		if err != nil {
			break // a timeout ends the drain; a real error repeats on the next Read
		}
	}
	_ = s.Conn.SetReadDeadline(time.Time{})
	return n, nil
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
			}
			closeBoth() // one side failed: the other direction is meaningless
		}
	}
	return first
}

// pipe copies src to dst with its own loop: io.CopyBuffer would hand the
// work to a ReaderFrom/WriterTo (32 KiB chunks) and skip our buffer. At
// src's EOF it half-closes dst so the peer sees the end of the stream.
func pipe(dst, src net.Conn, count, also *atomic.Int64) error {
	buf := make([]byte, copyBufMin)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			if count != nil {
				count.Add(int64(n))
			}
			if also != nil {
				also.Add(int64(n))
			}
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
