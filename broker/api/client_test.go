package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rotatingBroker accepts only the newest token and rotates the client's
// token while the first request is on its way, as a refresh in another
// goroutine does.
type rotatingBroker struct {
	mu     sync.Mutex
	c      *Client
	bodies []string
	auths  []string
}

func (b *rotatingBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, string(body))
	b.auths = append(b.auths, r.Header.Get("Authorization"))
	b.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer zat_new" {
		b.c.SetToken("zat_new") // the refresh lands meanwhile
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(Err(CodeUnauthenticated))
		return
	}
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func startRotatingBroker(t *testing.T) (*rotatingBroker, *httptest.Server, *Client) {
	t.Helper()
	b := &rotatingBroker{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.c = c
	return b, srv, c
}

func TestClientResendsARequestRefusedForARotatedToken(t *testing.T) {
	b, _, c := startRotatingBroker(t)
	c.SetToken("zat_old")
	var out struct{ OK bool }
	if err := c.Do(context.Background(), "POST", "/v1/x", map[string]int{"n": 7}, &out); err != nil || !out.OK {
		t.Fatalf("Do: %v %+v", err, out)
	}
	if len(b.bodies) != 2 || b.bodies[1] != `{"n":7}` || b.auths[1] != "Bearer zat_new" {
		t.Fatalf("resent request: bodies %q auths %q", b.bodies, b.auths)
	}
}

func TestClientDoesNotResendAStreamOrAnUnchangedToken(t *testing.T) {
	b, srv, c := startRotatingBroker(t)
	// A body that was read cannot be sent again: the caller sees the refusal.
	c.SetToken("zat_old")
	err := c.Do(context.Background(), "POST", "/v1/x", strings.NewReader("stream"), nil)
	if e := AsError(err); e == nil || e.Code != CodeUnauthenticated || len(b.bodies) != 1 {
		t.Fatalf("stream: %v after %d requests", err, len(b.bodies))
	}
	// A token that is simply wrong (not rotated) is refused once.
	b.bodies = nil
	c.SetToken("zat_new")
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.bodies = append(b.bodies, "")
		w.WriteHeader(http.StatusUnauthorized)
	})
	err = c.Do(context.Background(), "GET", "/v1/x", nil, nil)
	if e := AsError(err); e == nil || e.Code != CodeUnauthenticated || len(b.bodies) != 1 {
		t.Fatalf("wrong token: %v after %d requests", err, len(b.bodies))
	}
}

func TestParsePin(t *testing.T) {
	sum := make([]byte, 32)
	sum[0] = 0xfe // base64 begins with "/": "/g..."
	pin := FormatPin(sum)
	if !strings.HasPrefix(pin, "sha256//") {
		t.Fatalf("test needs a digest whose base64 begins with /: %s", pin)
	}
	b64 := pin[len("sha256/"):]
	for _, s := range []string{pin, " " + pin + " ", "sha256//" + b64 /* curl's form */} {
		got, err := ParsePin(s)
		if err != nil || !bytes.Equal(got, sum) {
			t.Errorf("ParsePin(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "sha256/", "AB:CD", "sha256/AAAA", "sha1/" + b64, "sha256/" + b64[1:]} {
		if _, err := ParsePin(s); err == nil {
			t.Errorf("ParsePin(%q) accepted", s)
		}
	}
}

// TestKeyRotationAnnounced: a broker announces its next key's pin; a
// laptop that reached it through the pin it holds keeps the new one too,
// and after the rotation it trusts the new key and nothing else.
func TestKeyRotationAnnounced(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	next := tlsServer(t, ok) // the new key, not yet in use
	defer next.Close()
	nextPin := KeyPin(next.Certificate())
	cur := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(KeyPinsHeader, "sha256/garbage, "+nextPin)
		ok(w, r)
	}))
	defer cur.Close()

	var learned []string
	c, err := NewClient(cur.URL, ClientOptions{Pins: []string{KeyPin(cur.Certificate())}, OnPin: func(p string) { learned = append(learned, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), "GET", "/v1/status", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(learned) != 1 || learned[0] != nextPin {
		t.Fatalf("learned %v, want [%s]", learned, nextPin)
	}
	// The rotation: the same address now serves the new key.
	c2, err := NewClient(next.URL, ClientOptions{Pins: append([]string{KeyPin(cur.Certificate())}, learned...)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Do(context.Background(), "GET", "/v1/status", nil, nil); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	// A key nobody announced is refused.
	other := tlsServer(t, ok)
	defer other.Close()
	c3, _ := NewClient(other.URL, ClientOptions{Pins: append([]string{KeyPin(cur.Certificate())}, learned...)})
	if err := c3.Do(context.Background(), "GET", "/v1/status", nil, nil); AsError(err) == nil || AsError(err).Code != CodeCertificateChange {
		t.Fatalf("an unannounced key: %v, want %s", err, CodeCertificateChange)
	}
	// An unpinned https broker is refused unless the OS store is trusted.
	if _, err := NewClient(other.URL, ClientOptions{}); AsError(err) == nil || AsError(err).Code != CodeBrokerNotPinned {
		t.Fatalf("unpinned: %v, want %s", err, CodeBrokerNotPinned)
	}
	if _, err := NewClient(other.URL, ClientOptions{TrustSystemRoots: true}); err != nil {
		t.Fatalf("trusting the OS store: %v", err)
	}
}

// tlsServer serves h over TLS with a key of its own (httptest's servers
// share one).
func tlsServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	return srv
}
