package tunnel

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pair is both ends of one tunnel's TLS connection over loopback TCP, as
// the app (client: ClientConn under TLS) and the broker (server: the
// Listener under TLS) hold them after the upgrade.
func pair(t *testing.T) (app, broker *Conn) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := tls.NewListener(Listener(ln), ApplyProfile(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	got := make(chan *Conn, 1)
	go func() {
		c, err := tln.Accept()
		if err != nil {
			got <- nil
			return
		}
		if err := c.(*tls.Conn).Handshake(); err != nil {
			got <- nil
			return
		}
		got <- newConn(c, nil)
	}()
	raw, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(ClientConn(raw), ApplyProfile(&tls.Config{InsecureSkipVerify: true})) // a test: no one to pin
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	broker = <-got
	if broker == nil {
		t.Fatal("server handshake failed")
	}
	app = newConn(tc, nil)
	t.Cleanup(func() { app.Close(); broker.Close() })
	return app, broker
}

// readAll reads until an error and returns what came and the error (nil
// for io.EOF).
func readAll(c net.Conn) ([]byte, error) {
	var b bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			return b.Bytes(), nil
		}
		if err != nil {
			return b.Bytes(), err
		}
	}
}

// TestCutIsToldFromAnEnd: close_notify then FIN reads as io.EOF; a FIN
// without close_notify (the peer's process died, a middlebox cut the
// connection) reads as ErrCut, after the data that came before it; a
// reset reads as a reset.
func TestCutIsToldFromAnEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(c *Conn)
		want func(error) bool
	}{
		{"CloseWrite is an end", func(c *Conn) { _ = c.CloseWrite() }, func(err error) bool { return err == nil }},
		{"Close is an end", func(c *Conn) { _ = c.Close() }, func(err error) bool { return err == nil }},
		{"TCP close without close_notify is a cut", func(c *Conn) { _ = tcpConn(c).Close() }, func(err error) bool { return errors.Is(err, ErrCut) }},
		{"Abort is a reset", func(c *Conn) { Abort(c) }, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dir := range []string{"app→broker", "broker→app"} {
				app, broker := pair(t)
				from, to := app, broker
				if dir == "broker→app" {
					from, to = broker, app
				}
				data := bytes.Repeat([]byte("RDP "), 50000)
				if _, err := from.Write(data); err != nil {
					t.Fatal(err)
				}
				type result struct {
					b   []byte
					err error
				}
				res := make(chan result, 1)
				go func() { b, err := readAll(to); res <- result{b, err} }()
				time.Sleep(20 * time.Millisecond) // the data first, then the end (a reset may discard unread data)
				tc.end(from)
				r := <-res
				if !tc.want(r.err) {
					t.Fatalf("%s: read ended with %v", dir, r.err)
				}
				if r.err == nil || errors.Is(r.err, ErrCut) {
					if !bytes.Equal(r.b, data) {
						t.Fatalf("%s: %d bytes arrived of %d", dir, len(r.b), len(data))
					}
				}
			}
		})
	}
}

// TestHalfCloseKeepsTheOtherDirection: after one side's CloseWrite, the
// other still sends, as RDP clients and servers expect of TCP.
func TestHalfCloseKeepsTheOtherDirection(t *testing.T) {
	app, broker := pair(t)
	if _, err := app.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := app.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b, err := readAll(broker); err != nil || string(b) != "bye" {
		t.Fatalf("broker read %q, %v", b, err)
	}
	if _, err := broker.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	_ = broker.CloseWrite()
	if b, err := readAll(app); err != nil || string(b) != "last words" {
		t.Fatalf("app read %q, %v", b, err)
	}
}

// TestFailedRelayResetsBothSides: a splice between the RDP client's
// connection and the tunnel (a *Conn over TLS over the bulk reader over
// TCP) whose tunnel is cut resets the RDP client, and the tunnel's far end
// sees a reset too, not a clean end: through every wrapper.
func TestFailedRelayResetsBothSides(t *testing.T) {
	app, broker := pair(t)
	// The RDP client and the app's listener.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rdp, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer rdp.Close()
	local, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var up, down atomic.Int64
	spliced := make(chan error, 1)
	go func() { spliced <- Splice(local, app, &up, &down) }()
	if _, err := rdp.Write([]byte("x224")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(broker, got); err != nil {
		t.Fatal(err)
	}
	// Now the broker side goes away without close_notify: a cut.
	go func() { _, _ = readAll(broker) }()
	_ = tcpConn(broker).Close()
	if err := <-spliced; !errors.Is(err, ErrCut) {
		t.Fatalf("splice ended with %v, want ErrCut", err)
	}
	if _, err := readAll(rdp); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the RDP client saw %v, want a reset", err)
	}
	if up.Load() != 4 {
		t.Fatalf("counted %d bytes up, want 4", up.Load())
	}
}

func TestBindingIsTheConnections(t *testing.T) {
	app, broker := pair(t)
	other, _ := pair(t)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	sign := func(m []byte) []byte { return ed25519.Sign(key, m) }
	h, err := Bind(app.TLS(), "s1", sign)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyBinding(broker.TLS(), "s1", h, pub); err != nil {
		t.Fatalf("the same connection: %v", err)
	}
	wrongKey, _, _ := ed25519.GenerateKey(rand.Reader)
	hOther, _ := Bind(other.TLS(), "s1", sign)
	for name, err := range map[string]error{
		"another connection's exporter": VerifyBinding(broker.TLS(), "s1", hOther, pub),
		"another slot":                  VerifyBinding(broker.TLS(), "s2", h, pub),
		"another device key":            VerifyBinding(broker.TLS(), "s1", h, wrongKey),
		"garbage":                       VerifyBinding(broker.TLS(), "s1", "!!", pub),
	} {
		if !errors.Is(err, ErrBinding) {
			t.Errorf("%s: %v, want ErrBinding", name, err)
		}
	}
	if err := VerifyBinding(broker.TLS(), "s1", "", pub); !errors.Is(err, ErrNoBinding) {
		t.Errorf("no header: %v", err)
	}
	if err := VerifyBinding(nil, "s1", h, pub); !errors.Is(err, ErrNoExporter) {
		t.Errorf("no TLS: %v", err)
	}
	// The exporter is RFC 9266's: label, empty context, 32 bytes.
	cs := broker.TLS()
	want, _ := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if got, _ := Exporter(cs); !bytes.Equal(got, want) || len(got) != 32 {
		t.Fatalf("exporter %x, want %x", got, want)
	}
}

// TestUpgradeKeepsBytesReadAhead: an office PC that speaks first may have
// its first bytes arrive with the 101; they reach the reader.
func TestUpgradeKeepsBytesReadAhead(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		buf := make([]byte, 4096)
		n, _ := b.Read(buf)
		if !strings.Contains(string(buf[:n]), "Upgrade: "+Protocol) {
			b.Close()
			return
		}
		_, _ = b.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Protocol + "\r\n\r\nhello from the PC"))
	}()
	req, _ := http.NewRequest("GET", "http://broker/v1/tunnel/s1", nil)
	c, resp, err := Upgrade(a, req)
	if err != nil || resp != nil {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	got := make([]byte, len("hello from the PC"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello from the PC" {
		t.Fatalf("read %q %v", got, err)
	}
}

// TestUpgradeWantsHTTP11: the error text asks for HTTP/1.1, so HTTP/1.0
// (which has no Upgrade) is refused as it says.
func TestUpgradeWantsHTTP11(t *testing.T) {
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{{1, 1, true}, {1, 0, false}, {2, 0, false}} {
		req, _ := http.NewRequest("GET", "https://broker/v1/tunnel/s1", nil)
		req.ProtoMajor, req.ProtoMinor = tc.major, tc.minor
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", Protocol)
		if got := IsUpgrade(req); got != tc.want {
			t.Errorf("HTTP/%d.%d: IsUpgrade = %v, want %v", tc.major, tc.minor, got, tc.want)
		}
	}
}
