package tunnel

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// ErrCut is a tunnel connection whose TCP connection ended before the
// peer's TLS close_notify: a crash or a cut network, never a clean end.
// crypto/tls reports such an EOF as io.EOF when it falls on a record
// boundary; Conn tells the two apart.
var ErrCut = errors.New("tunnel connection cut")

// rawConn sits between a TLS connection and its TCP connection. Corked,
// it gathers what crypto/tls writes (one write per 16 KiB record) into
// one syscall; outside Cork/Uncork it writes through, so what the TLS
// stack sends on its own (handshake, alerts, key updates) is never held
// back. Boosted, it reads in bulk, so that crypto/tls, which asks for
// little more than one record at a time, gets many records per syscall.
// It also notes whether the TCP connection reached EOF, which is how Conn
// tells a cut from a close_notify.
type rawConn struct {
	net.Conn

	// Only the TLS layer's reading goroutine touches these.
	boosted    bool
	rbuf       []byte
	rpos, rend int
	filled     bool // the last read filled rbuf: the peer sends in bulk
	eof        bool // the TCP connection reached EOF

	mu     sync.Mutex // guards corked, wbuf; held across the write to keep order
	corked bool
	wbuf   []byte
}

// Listener wraps every accepted connection so that, once it becomes a
// tunnel, it reads in bulk and corks its writes. The broker's TLS listener
// sits on it; connections that stay HTTP cost a pointer.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c}, nil
}

// ClientConn wraps the app's TCP connection to the broker for
// tls.Client: a tunnel connection carries nothing else, so it reads in
// bulk from the start.
func ClientConn(c net.Conn) net.Conn { return &rawConn{Conn: c, boosted: true} }

// NetConn returns the TCP connection (for socket options and resets).
func (c *rawConn) NetConn() net.Conn { return c.Conn }

// Read reads through the buffer once boosted. Errors are not kept, so a
// timeout from a read deadline stays temporary, as crypto/tls expects.
func (c *rawConn) Read(p []byte) (int, error) {
	if c.rpos == c.rend {
		if !c.boosted || len(p) >= CopyBufferMax {
			n, err := c.Conn.Read(p)
			c.eof = c.eof || err == io.EOF
			return n, err
		}
		switch {
		case c.rbuf == nil:
			c.rbuf = make([]byte, copyBufMin)
		case c.filled && len(c.rbuf) < CopyBufferMax:
			c.rbuf = make([]byte, CopyBufferMax)
		}
		n, err := c.Conn.Read(c.rbuf)
		if n == 0 {
			c.eof = c.eof || err == io.EOF
			return 0, err
		}
		c.rpos, c.rend, c.filled = 0, n, n == len(c.rbuf)
	}
	n := copy(p, c.rbuf[c.rpos:c.rend])
	c.rpos += n
	return n, nil
}

// Write buffers while corked, else writes through.
func (c *rawConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.wbuf = append(c.wbuf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *rawConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered in one write and stops gathering.
func (c *rawConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.wbuf)
	if cap(c.wbuf) > 2*CopyBufferMax {
		c.wbuf = nil // an unusual burst: do not keep it
	} else {
		c.wbuf = c.wbuf[:0]
	}
	return err
}

// Conn is one tunnel's byte stream after the upgrade: the TLS connection
// (or, behind a TLS-terminating proxy or in plain-HTTP development, the
// plain one) with the bytes read ahead while parsing the upgrade. Reads
// return every record already received; writes leave in one syscall; a
// cut reads as ErrCut, a close_notify as io.EOF. Read from one goroutine,
// write from another.
type Conn struct {
	net.Conn           // the *tls.Conn, or the plain connection
	tls      *tls.Conn // nil when plain
	raw      *rawConn  // under tls; nil when the TLS connection was made elsewhere
	prefix   []byte
}

// newConn wraps c, which may be a *tls.Conn over a rawConn. prefix is
// plaintext already read from c. No one else may read from c any more.
func newConn(c net.Conn, prefix []byte) *Conn {
	s := &Conn{Conn: c, prefix: prefix}
	if tc, ok := c.(*tls.Conn); ok {
		s.tls = tc
		if s.raw, _ = tc.NetConn().(*rawConn); s.raw != nil {
			s.raw.boosted = true
		}
	} else if rc, ok := c.(*rawConn); ok {
		rc.boosted = true
	}
	return s
}

// TLS returns the TLS connection state, nil for a plain connection.
func (c *Conn) TLS() *tls.ConnectionState {
	if c.tls == nil {
		return nil
	}
	cs := c.tls.ConnectionState()
	return &cs
}

// NetConn returns the connection under the stream (for Abort and tuning).
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Write sends p as TLS records in as few syscalls as possible.
func (c *Conn) Write(p []byte) (int, error) {
	// One record leaves in one syscall anyway; corking it would only copy
	// it once more (RDP's interactive traffic is mostly such writes).
	if c.raw == nil || len(p) <= maxRecord {
		return c.Conn.Write(p)
	}
	c.raw.cork()
	n, err := c.Conn.Write(p)
	if ferr := c.raw.uncork(); err == nil {
		err = ferr
	}
	return n, err
}

// drainDeadline is in the past: a read with it returns only what is
// already buffered, never waiting on the network.
var drainDeadline = time.Unix(1, 0)

// Read fills p with the first record and then every further record that
// is already buffered (crypto/tls returns at most one record per Read).
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	// Drain only after a full record: a sender in bulk. Interactive RDP
	// traffic comes in short records, one at a time, and the deadline
	// round trip would cost it CPU for nothing.
	if err != nil || c.tls == nil || n < maxRecord || len(p)-n < maxRecord {
		return n, c.cut(err)
	}
	// A read deadline in the past makes crypto/tls return a temporary
	// timeout (not sticky) as soon as it would wait for the network, while
	// complete records already in its buffer are still decrypted.
	_ = c.Conn.SetReadDeadline(drainDeadline)
	for len(p)-n >= maxRecord {
		m, err := c.Conn.Read(p[n:])
		n += m
		if err != nil {
			break // a timeout ends the drain; a real error repeats on the next Read
		}
	}
	_ = c.Conn.SetReadDeadline(time.Time{})
	return n, nil
}

// cut turns crypto/tls's io.EOF into ErrCut when it came from the TCP
// connection's end rather than from the peer's close_notify (after which
// crypto/tls reads no further, so the TCP EOF is not seen).
func (c *Conn) cut(err error) error {
	if err == io.EOF && c.raw != nil && c.raw.eof {
		return ErrCut
	}
	return err
}

// CloseWrite ends this direction: a close_notify, then the TCP half-close,
// so the peer reads io.EOF while its own direction goes on.
func (c *Conn) CloseWrite() error {
	var err error
	if c.tls != nil {
		err = c.tls.CloseWrite()
	}
	if tcp := tcpConn(c); tcp != nil {
		if werr := tcp.CloseWrite(); err == nil {
			err = werr
		}
	} else if c.tls == nil {
		err = c.Conn.Close()
	}
	return err
}

// tcpConn finds the TCP connection under every wrapper, or nil.
func tcpConn(c net.Conn) *net.TCPConn {
	for range 8 { // wrappers nest a few levels at most
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// Abort closes c so that its peer sees a reset, not an end: no
// close_notify (tls.Conn.Close would send one) and no FIN.
func Abort(c net.Conn) {
	if tcp := tcpConn(c); tcp != nil {
		_ = tcp.SetLinger(0)
		_ = tcp.Close()
	}
	_ = c.Close()
}

// TuneSocket sets the tunnel's socket options on the TCP connection under
// c. Failures are ignored: the tunnel still works with the defaults.
func TuneSocket(c net.Conn) {
	if tcp := tcpConn(c); tcp != nil {
		_ = tcp.SetReadBuffer(SocketBuffer)
		_ = tcp.SetWriteBuffer(SocketBuffer)
		_ = tcp.SetNoDelay(true)
	}
}
