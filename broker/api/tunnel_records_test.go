package api

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// wire is one end of a connection whose sent bytes are captured and whose
// received bytes are given in advance: the tests play the network.
type wire struct {
	mu      sync.Mutex
	sent    bytes.Buffer
	recv    *bytes.Reader
	shut    bool // CloseWrite was called
	closed  bool
	noInput bool // Read blocks instead of returning EOF (a peer still connected)
}

func newWire(recv []byte) *wire { return &wire{recv: bytes.NewReader(recv)} }

func (w *wire) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.noInput && w.recv.Len() == 0 {
		return 0, errors.New("test wire: nothing more to read")
	}
	return w.recv.Read(p)
}

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shut || w.closed {
		return 0, net.ErrClosed
	}
	return w.sent.Write(p)
}

func (w *wire) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.sent.Bytes()...)
}

func (w *wire) CloseWrite() error                { w.mu.Lock(); w.shut = true; w.mu.Unlock(); return nil }
func (w *wire) Close() error                     { w.mu.Lock(); w.closed = true; w.mu.Unlock(); return nil }
func (w *wire) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (w *wire) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (w *wire) SetDeadline(time.Time) error      { return nil }
func (w *wire) SetReadDeadline(time.Time) error  { return nil }
func (w *wire) SetWriteDeadline(time.Time) error { return nil }

var (
	testUp   = bytes.Repeat([]byte{1}, 28)
	testDown = bytes.Repeat([]byte{2}, 28)
)

// appSends returns what the app's end puts on the wire for these writes,
// then its end record when end is set.
func appSends(t *testing.T, end bool, writes ...[]byte) []byte {
	t.Helper()
	w := newWire(nil)
	c, err := newRecordConn(w, nil, testDown, testUp, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range writes {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if end {
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	return w.bytes()
}

// brokerReads reads what the broker's end makes of raw, with Read or
// with RelayTo.
func brokerReads(t *testing.T, raw []byte, relay bool) ([]byte, error) {
	t.Helper()
	c, err := newRecordConn(newWire(raw), nil, testUp, testDown, true)
	if err != nil {
		t.Fatal(err)
	}
	if relay {
		out := newWire(nil)
		err := c.RelayTo(out, func(int) {})
		return out.bytes(), err
	}
	var got bytes.Buffer
	buf := make([]byte, 7000)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			return got.Bytes(), nil
		}
		if err != nil {
			return got.Bytes(), err
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestRecordsRoundTrip(t *testing.T) {
	var writes [][]byte
	var want []byte
	for _, n := range []int{1, 0, 700, recMaxPlain, recMaxPlain + 1, 300 << 10, 3 << 20, 5} {
		p := randomBytes(n)
		writes = append(writes, p)
		want = append(want, p...)
	}
	raw := appSends(t, true, writes...)
	for _, relay := range []bool{false, true} {
		got, err := brokerReads(t, raw, relay)
		if err != nil {
			t.Fatalf("relay=%v: %v", relay, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("relay=%v: got %d bytes, want %d (or different bytes)", relay, len(got), len(want))
		}
	}
	if bytes.Contains(raw, want[len(want)-700:]) {
		t.Fatal("plaintext visible on the wire")
	}
}

// TestRecordsByteByByte feeds the raw stream one byte per read, so every
// record boundary falls in every position of the buffer.
func TestRecordsByteByByte(t *testing.T) {
	want := randomBytes(100 << 10)
	raw := appSends(t, true, want[:1], want[1:50000], want[50000:])
	c, err := newRecordConn(&trickle{raw: raw}, nil, testUp, testDown, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

type trickle struct {
	wire
	raw []byte
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.raw) == 0 {
		return 0, io.EOF
	}
	p[0], t.raw = t.raw[0], t.raw[1:]
	return 1, nil
}

func TestRecordsRefuseTampering(t *testing.T) {
	first, second := randomBytes(1000), randomBytes(1000)
	raw := appSends(t, true, first, second)
	// Records on the wire: start, first, second, end.
	startLen := recHeader + recTag
	firstLen := recHeader + len(first) + recTag
	cases := map[string][]byte{
		"flipped bit in the second record": func() []byte {
			b := bytes.Clone(raw)
			b[startLen+firstLen+recHeader+10] ^= 1
			return b
		}(),
		"flipped type of the second record": func() []byte {
			b := bytes.Clone(raw)
			b[startLen+firstLen] = recEnd
			return b
		}(),
		"second record replayed in place of the first": func() []byte {
			var b []byte
			b = append(b, raw[:startLen]...)
			b = append(b, raw[startLen+firstLen:startLen+2*firstLen]...)
			return append(b, raw[startLen+firstLen:]...)
		}(),
		"first record repeated": func() []byte {
			var b []byte
			b = append(b, raw[:startLen+firstLen]...)
			return append(b, raw[startLen:]...)
		}(),
		"reflected: the broker's own direction": func() []byte {
			w := newWire(nil)
			c, _ := newRecordConn(w, nil, testUp, testDown, false) // sealed with the other key
			_, _ = c.Write(first)
			return w.bytes()
		}(),
		"a length below the tag": func() []byte {
			b := bytes.Clone(raw[:startLen+firstLen])
			return append(b, recData, 0, 3, 1, 2, 3)
		}(),
		"start record missing":    raw[startLen:],
		"an empty data record":    craft(t, raw[:startLen+firstLen], 2, recData, nil),
		"an end record with data": craft(t, raw[:startLen+firstLen], 2, recEnd, []byte("x")),
		"a length over the largest record": func() []byte {
			b := bytes.Clone(raw[:startLen+firstLen])
			n := recMax - recHeader + 1
			b = append(b, recData, byte(n>>8), byte(n))
			return append(b, make([]byte, recMax)...)
		}(),
	}
	for name, raw := range cases {
		for _, relay := range []bool{false, true} {
			got, err := brokerReads(t, raw, relay)
			if err == nil {
				t.Errorf("%s (relay=%v): accepted", name, relay)
				continue
			}
			if len(got) > 0 && !bytes.Equal(got, first) {
				t.Errorf("%s (relay=%v): emitted %d unauthenticated bytes", name, relay, len(got))
			}
		}
	}
}

// craft appends to prefix a record the app's writer never makes, sealed
// with the right key at sequence seq.
func craft(t *testing.T, prefix []byte, seq uint64, typ byte, plain []byte) []byte {
	t.Helper()
	c, err := newRecordConn(newWire(nil), nil, testDown, testUp, false)
	if err != nil {
		t.Fatal(err)
	}
	c.out.seq = seq
	b, err := c.seal(bytes.Clone(prefix), typ, plain)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordsManyTinyRecords(t *testing.T) {
	var writes [][]byte
	var want []byte
	for i := range 5000 {
		writes = append(writes, []byte{byte(i)})
		want = append(want, byte(i))
	}
	raw := appSends(t, true, writes...)
	got, err := brokerReads(t, raw, true)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d of %d bytes: %v", len(got), len(want), err)
	}
}

func TestRecordsWriteFailureSticks(t *testing.T) {
	w := &failingWire{}
	c, err := newRecordConn(w, nil, testDown, testUp, false)
	if err != nil {
		t.Fatal(err)
	}
	w.fail = true
	if _, err := c.Write([]byte("lost")); err == nil {
		t.Fatal("write through a failing connection succeeded")
	}
	w.fail = false // the sequence number of the lost record is gone for good
	if _, err := c.Write([]byte("next")); err == nil {
		t.Fatal("a write after a failed one succeeded: the peer would fail to authenticate it")
	}
	if err := c.CloseWrite(); err == nil {
		t.Fatal("CloseWrite after a failed write succeeded")
	}
}

type failingWire struct {
	wire
	fail bool
}

func (f *failingWire) Write(p []byte) (int, error) {
	if f.fail {
		return 0, errors.New("connection reset")
	}
	return len(p), nil
}

func TestRecordsCutIsNotAnEnd(t *testing.T) {
	data := randomBytes(5000)
	raw := appSends(t, false, data) // no end record: the connection was cut
	for _, relay := range []bool{false, true} {
		got, err := brokerReads(t, raw, relay)
		if !errors.Is(err, ErrTunnelCut) {
			t.Fatalf("relay=%v: err %v, want ErrTunnelCut", relay, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("relay=%v: the data before the cut was not delivered", relay)
		}
	}
	// Cut in the middle of a record: the part is never delivered.
	full := appSends(t, true, data)
	got, err := brokerReads(t, full[:len(full)-recHeader-recTag-100], true)
	if !errors.Is(err, ErrTunnelCut) || len(got) != 0 {
		t.Fatalf("cut mid-record: %d bytes, %v", len(got), err)
	}
}

func TestRecordsRekey(t *testing.T) {
	w := newWire(nil)
	app, err := newRecordConn(w, nil, testDown, testUp, false)
	if err != nil {
		t.Fatal(err)
	}
	app.out.seq = rekeyAfter - 3 // the start record was 0; jump near the ratchet
	want := randomBytes(10 * recMaxPlain)
	if _, err := app.Write(want); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(app.out.secret, testUp) {
		t.Fatal("the sender did not move on to a new key")
	}
	raw := w.bytes()
	broker, _ := newRecordConn(newWire(raw), nil, testUp, testDown, true)
	if _, err := broker.Read(make([]byte, 1)); err == nil {
		t.Fatal("a receiver behind the sender's sequence opened its records")
	}
	// In step: skip the start record as the sender's sequence did.
	broker, _ = newRecordConn(newWire(raw[recHeader+recTag:]), nil, testUp, testDown, false)
	broker.in.seq = rekeyAfter - 3
	got := make([]byte, len(want))
	if _, err := io.ReadFull(broker, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("across the rekey: %v", err)
	}
}

func TestBrokerWaitsForTheStartRecord(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	broker, err := newRecordConn(b, nil, testUp, testDown, true)
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := broker.Write([]byte("from the office PC"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("the broker wrote before the app started: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The app's end sends its start record when it is made.
	read := make(chan string, 1)
	go func() {
		app, err := newRecordConn(a, nil, testDown, testUp, false)
		if err != nil {
			read <- err.Error()
			return
		}
		buf := make([]byte, 64)
		n, _ := app.Read(buf)
		read <- string(buf[:n])
	}()
	go func() { _, _ = broker.Read(make([]byte, 1)) }() // reading takes the start record in
	if err := <-wrote; err != nil {
		t.Fatalf("broker write: %v", err)
	}
	if got := <-read; got != "from the office PC" {
		t.Fatalf("app read %q", got)
	}
	// Close unblocks a writer that still waits.
	c, _ := newRecordConn(newWire(nil), nil, testUp, testDown, true)
	go func() { time.Sleep(20 * time.Millisecond); c.Close() }()
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on a closed connection: %v", err)
	}
}

func TestRecordKeysNeedTLS13AndDependOnTheSlot(t *testing.T) {
	if _, _, err := recordKeys(tls.ConnectionState{Version: tls.VersionTLS12}, "s1"); err == nil || !strings.Contains(err.Error(), "TLS 1.3") {
		t.Fatalf("TLS 1.2: %v", err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	cli := tls.Client(a, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	up1, down1, err1 := recordKeys(cli.ConnectionState(), "s1")
	up2, down2, err2 := recordKeys(srv.ConnectionState(), "s1")
	other, _, err3 := recordKeys(cli.ConnectionState(), "s2")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if !bytes.Equal(up1, up2) || !bytes.Equal(down1, down2) {
		t.Fatal("the two ends derived different keys")
	}
	if bytes.Equal(up1, down1) || bytes.Equal(up1, other) {
		t.Fatal("keys shared between directions or slots")
	}
}
