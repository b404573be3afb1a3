package api

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// After the upgrade, a tunnel's bytes travel in AES-128-GCM records keyed
// from the TLS connection's exporter (RFC 8446 §7.5), over the same TCP
// connection, instead of through crypto/tls's record layer. The
// construction is TLS 1.3's: per-direction key and IV, nonce = IV XOR
// sequence number, the record header as additional data. What it buys is
// copies: crypto/tls copies each record's plaintext into its own buffer
// before sealing and again out of its buffer after opening, and hands
// reads one record at a time. Here a writer seals straight from the
// caller's buffer into one contiguous write, and a reader opens records
// in place and writes their plaintexts on with one writev. On 2 cores
// that lifted one iperf3 stream by a quarter (docs/DESIGN-NOTES.md).
//
// A record is
//
//	type (1 byte) | length (2 bytes, big endian) | AES-GCM ciphertext and tag
//
// with type recData, recStart (empty: the app's first record, see below)
// or recEnd (empty: the sender will send nothing more, an authenticated
// half-close, so that a cut connection is never taken for a clean end).
//
// Order at the upgrade: the app sends the request through crypto/tls and
// reads the 101 answer through it; the broker writes the 101 and then
// waits for the app's start record before sending anything. So neither
// side's crypto/tls ever reads a byte that belongs to the records.
const (
	recData  = 0
	recStart = 1
	recEnd   = 2

	recHeader   = 3
	recTag      = 16
	recMaxPlain = 16 << 10 // as TLS: a reader holds two records' worth at least
	recMax      = recHeader + recMaxPlain + recTag
	recBufMin   = 2 * recMax

	// rekeyAfter records, each key moves on to the next one (both ends
	// derive it, nothing is sent): far below AES-GCM's limits for
	// records of this size.
	rekeyAfter = 1 << 20

	exporterLabel = "EXPERIMENTAL zaitaku tunnel records v2"
)

// recordKeys derives both directions' key and IV from the TLS session,
// bound to the slot the tunnel is for.
func recordKeys(cs tls.ConnectionState, slotID string) (appToBroker, brokerToApp []byte, err error) {
	if cs.Version != tls.VersionTLS13 {
		return nil, nil, errors.New("tunnel needs TLS 1.3")
	}
	m, err := cs.ExportKeyingMaterial(exporterLabel, []byte(slotID), 2*(16+12))
	if err != nil {
		return nil, nil, fmt.Errorf("tunnel keys: %w", err)
	}
	return m[:28], m[28:], nil
}

// sealer or opener state of one direction.
type recordDir struct {
	secret []byte // key (16) | IV (12), ratcheted every rekeyAfter records
	aead   cipher.AEAD
	iv     [12]byte
	seq    uint64
}

func newRecordDir(secret []byte) (*recordDir, error) {
	d := &recordDir{secret: append([]byte(nil), secret...)}
	return d, d.load()
}

func (d *recordDir) load() error {
	blk, err := aes.NewCipher(d.secret[:16])
	if err != nil {
		return err
	}
	if d.aead, err = cipher.NewGCM(blk); err != nil {
		return err
	}
	copy(d.iv[:], d.secret[16:28])
	return nil
}

// nonce returns the next record's nonce and moves on.
func (d *recordDir) nonce() ([12]byte, error) {
	if d.seq == rekeyAfter {
		next, err := hkdf.Expand(sha256.New, d.secret, "zaitaku tunnel rekey", len(d.secret))
		if err != nil {
			return [12]byte{}, err
		}
		d.secret, d.seq = next, 0
		if err := d.load(); err != nil {
			return [12]byte{}, err
		}
	}
	n := d.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], d.seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	d.seq++
	return n, nil
}

// RecordConn is the tunnel's byte stream over its TCP connection, in
// records (see above). Write and CloseWrite may be called from any
// goroutine; Read and RelayTo from one reading goroutine.
type RecordConn struct {
	raw net.Conn

	// Reading side.
	in         *recordDir
	rbuf       []byte // raw bytes; [rpos:rend] not yet opened
	rpos, rend int
	rfilled    bool   // the last read filled rbuf: grow it
	plain      []byte // opened, not yet returned by Read
	rerr       error  // sticky: authentication failure, the end, a cut
	started    chan struct{}
	startOnce  sync.Once
	needStart  bool // the broker's end: the first record must be recStart

	// Writing side.
	wmu    sync.Mutex
	out    *recordDir
	wbuf   []byte
	wended bool
	werr   error // sticky: after a failed write the sequence is lost

	closed    chan struct{}
	closeOnce sync.Once
}

// ErrTunnelCut is a tunnel connection that ended without its peer's end
// record: a network failure, not a clean end.
var ErrTunnelCut = errors.New("tunnel connection cut")

// newRecordConn takes over raw after the upgrade. pending holds raw bytes
// already read from it. The app's end sends its start record at once; the
// broker's end (broker=true) holds its writes until that record arrives.
func newRecordConn(raw net.Conn, pending []byte, inSecret, outSecret []byte, broker bool) (*RecordConn, error) {
	in, err := newRecordDir(inSecret)
	if err != nil {
		return nil, err
	}
	out, err := newRecordDir(outSecret)
	if err != nil {
		return nil, err
	}
	c := &RecordConn{raw: raw, in: in, out: out, started: make(chan struct{}), closed: make(chan struct{}), needStart: broker}
	c.rbuf = make([]byte, max(recBufMin, len(pending)+recMax))
	c.rend = copy(c.rbuf, pending)
	if !broker {
		close(c.started)
		if err := c.writeRecord(recStart, nil); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewBrokerRecordConn is the broker's end of a tunnel once it has written
// the 101 answer through tc; raw is the TCP connection under tc, and
// nothing may read from tc any more.
func NewBrokerRecordConn(tc *tls.Conn, slotID string) (*RecordConn, error) {
	up, down, err := recordKeys(tc.ConnectionState(), slotID)
	if err != nil {
		return nil, err
	}
	raw := tc.NetConn()
	// An app that never starts must not hold the office PC's connection.
	_ = raw.SetReadDeadline(time.Now().Add(startTimeout))
	return newRecordConn(raw, nil, up, down, true)
}

// startTimeout bounds the wait for the app's start record.
const startTimeout = 30 * time.Second

// Write seals p into records and sends them with one write.
func (c *RecordConn) Write(p []byte) (int, error) {
	if err := c.waitStarted(); err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.wended {
		return 0, errors.New("tunnel: write after CloseWrite")
	}
	need := len(p) + (len(p)/recMaxPlain+1)*(recHeader+recTag)
	if cap(c.wbuf) < need {
		c.wbuf = make([]byte, 0, need)
	}
	w := c.wbuf[:0]
	for off := 0; off < len(p); {
		end := min(off+recMaxPlain, len(p))
		var err error
		if w, err = c.seal(w, recData, p[off:end]); err != nil {
			c.werr = err
			return 0, err
		}
		off = end
	}
	if _, err := c.raw.Write(w); err != nil {
		c.werr = err
		return 0, err
	}
	if cap(c.wbuf) > 2*copyBufMax {
		c.wbuf = nil // an unusual burst: do not keep it
	}
	return len(p), nil
}

// seal appends one record to w. The caller holds wmu.
func (c *RecordConn) seal(w []byte, typ byte, plain []byte) ([]byte, error) {
	nonce, err := c.out.nonce()
	if err != nil {
		return w, err
	}
	h := len(w)
	w = append(w, typ, 0, 0)
	binary.BigEndian.PutUint16(w[h+1:], uint16(len(plain)+recTag))
	return c.out.aead.Seal(w, nonce[:], plain, w[h:h+recHeader]), nil
}

func (c *RecordConn) writeRecord(typ byte, plain []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	w, err := c.seal(c.wbuf[:0], typ, plain)
	if err == nil {
		_, err = c.raw.Write(w)
	}
	c.werr = err
	return err
}

// CloseWrite sends the end record and half-closes the TCP connection:
// the peer reads io.EOF.
func (c *RecordConn) CloseWrite() error {
	if err := c.waitStarted(); err != nil {
		return err
	}
	c.wmu.Lock()
	ended := c.wended
	c.wended = true
	c.wmu.Unlock()
	if ended {
		return nil
	}
	if err := c.writeRecord(recEnd, nil); err != nil {
		return err
	}
	if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *RecordConn) waitStarted() error {
	select {
	case <-c.started:
		return nil
	case <-c.closed:
		return net.ErrClosed
	}
}

// Read returns plaintext from the records.
func (c *RecordConn) Read(p []byte) (int, error) {
	for len(c.plain) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		var err error
		c.rpos, err = c.open(c.rbuf[:c.rend], c.rpos, func(b []byte) bool {
			// Read takes what one record held; the next call opens more.
			c.plain = b
			return false
		})
		if err != nil {
			c.rerr = err
			continue
		}
		if len(c.plain) == 0 {
			if err := c.fill(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, c.plain)
	c.plain = c.plain[n:]
	return n, nil
}

// RelayTo writes the plaintext of the records to dst until the end record
// (then it returns nil) or a failure. Records are opened in place and
// written on with one writev per read; count gets each write's size.
func (c *RecordConn) RelayTo(dst net.Conn, count func(int)) error {
	if len(c.plain) > 0 {
		n, err := dst.Write(c.plain)
		count(n)
		if err != nil {
			return err
		}
		c.plain = nil
	}
	if c.rerr == io.EOF {
		return nil
	}
	if c.rerr != nil {
		return c.rerr
	}
	var out net.Buffers
	for {
		out = out[:0]
		var err error
		// A peer sending tiny records must not grow the list unbounded:
		// write every 1024 records.
		c.rpos, err = c.open(c.rbuf[:c.rend], c.rpos, func(b []byte) bool {
			out = append(out, b)
			return len(out) < 1024
		})
		if len(out) > 0 {
			bufs := out // WriteTo consumes its receiver
			n, werr := bufs.WriteTo(dst)
			count(int(n))
			if werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF:
			c.rerr = err
			return nil
		case err != nil:
			c.rerr = err
			return err
		case len(out) == 1024:
			continue // stopped early: more records may be buffered
		}
		if err := c.fill(); err != nil {
			return err
		}
	}
}

// fill reads more raw bytes, keeping the unopened ones. The buffer
// grows from 32 KiB to 1 MiB while reads fill it: big reads are what make
// bulk transfers cheap, small buffers what keep idle tunnels light.
func (c *RecordConn) fill() error {
	if c.rpos == c.rend {
		c.rpos, c.rend = 0, 0
	}
	unread := c.rend - c.rpos
	switch {
	case c.rfilled && len(c.rbuf) < copyBufMax:
		nb := make([]byte, min(4*len(c.rbuf), copyBufMax))
		copy(nb, c.rbuf[c.rpos:c.rend])
		c.rbuf, c.rpos, c.rend = nb, 0, unread
	case len(c.rbuf)-c.rend < recMax:
		// What is left unopened is less than one record: room for at
		// least one whole record once it moves to the front.
		copy(c.rbuf, c.rbuf[c.rpos:c.rend])
		c.rpos, c.rend = 0, unread
	}
	n, err := c.raw.Read(c.rbuf[c.rend:])
	c.rfilled = c.rend+n == len(c.rbuf)
	c.rend += n
	if n > 0 {
		return nil
	}
	if err == io.EOF {
		c.rerr = ErrTunnelCut // no end record came
		return ErrTunnelCut
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err // a deadline's timeout stays temporary: nothing is lost
}

// open opens the complete records in b[pos:] in place and passes each
// data record's plaintext to emit, until emit returns false. It returns
// the position after the last record opened. The end record makes the
// error io.EOF.
func (c *RecordConn) open(b []byte, pos int, emit func([]byte) bool) (int, error) {
	for len(b)-pos >= recHeader {
		typ := b[pos]
		n := int(binary.BigEndian.Uint16(b[pos+1:]))
		if n < recTag || n > recMaxPlain+recTag {
			return pos, errors.New("tunnel: malformed record")
		}
		if len(b)-pos < recHeader+n {
			break
		}
		nonce, err := c.in.nonce()
		if err != nil {
			return pos, err
		}
		body := b[pos+recHeader : pos+recHeader+n]
		plain, err := c.in.aead.Open(body[:0], nonce[:], body, b[pos:pos+recHeader])
		if err != nil {
			return pos, errors.New("tunnel: a record failed authentication (tampered or out of order)")
		}
		pos += recHeader + n
		// Only what the writer above produces is accepted: data records
		// carry data, the others nothing.
		if (typ == recData) != (len(plain) > 0) {
			return pos, errors.New("tunnel: malformed record")
		}
		if c.needStart {
			if typ != recStart {
				return pos, errors.New("tunnel: the app did not start with a start record")
			}
			c.needStart = false
			_ = c.raw.SetReadDeadline(time.Time{})
			c.startOnce.Do(func() { close(c.started) })
			continue
		}
		switch typ {
		case recData:
			if !emit(plain) {
				return pos, nil
			}
		case recEnd:
			return pos, io.EOF
		default:
			return pos, fmt.Errorf("tunnel: unexpected record type %d", typ)
		}
	}
	return pos, nil
}

// Close closes the connection; blocked calls return.
func (c *RecordConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.raw.Close()
}

func (c *RecordConn) LocalAddr() net.Addr                { return c.raw.LocalAddr() }
func (c *RecordConn) RemoteAddr() net.Addr               { return c.raw.RemoteAddr() }
func (c *RecordConn) SetDeadline(t time.Time) error      { return c.raw.SetDeadline(t) }
func (c *RecordConn) SetReadDeadline(t time.Time) error  { return c.raw.SetReadDeadline(t) }
func (c *RecordConn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }

// relayCounter adds to the counters pipe keeps.
func relayCounter(count, also *atomic.Int64) func(int) {
	return func(n int) {
		if count != nil {
			count.Add(int64(n))
		}
		if also != nil {
			also.Add(int64(n))
		}
	}
}
