package relay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// TestTunnelRefusedThroughInterceptor: a TLS-inspecting proxy whose CA
// the laptop trusts (the profile trusts the OS store, which holds the
// proxy's CA, as managed networks arrange it) terminates the app's TLS
// and opens its own to the broker. The app's request, with a valid token
// and signed by the device key, is refused with the binding code and
// audited: the exporter the app signed is not the broker's. The same
// request without the proxy succeeds, and the proxy cannot open a tunnel
// of its own with the token it saw.
func TestTunnelRefusedThroughInterceptor(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t, brokertest.WithRealClock())
	it := b.Signin(t, "mitm-it", api.RoleAdmin)
	s := b.Signin(t, "mitm-yamada")
	pc := echoPC(t)
	host, port, _ := net.SplitHostPort(pc)
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{Name: "PC", Address: host, RDPPort: mustAtoi(t, port), UserID: s.User.ID}); err != nil {
		t.Fatal(err)
	}
	slot, err := s.RequestSlot(ctx, api.SlotRequest{Device: "laptop"})
	if err != nil || slot.State != api.SlotGranted {
		t.Fatalf("slot %+v %v", slot, err)
	}

	caCert, caKey := newCA(t)
	proxy := startInterceptor(t, strings.TrimPrefix(b.URL, "https://"), caCert, caKey)
	// The OS store of this laptop: the proxy's CA, and (for the direct
	// path) the broker's own certificate.
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	roots.AddCert(brokerCert(t, b.URL))
	laptop := func(url string) *api.Client {
		c, err := api.NewClient(url, api.ClientOptions{TrustSystemRoots: true, RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(s.Token())
		c.SetSigner(s.Sign)
		return c
	}

	// Through the proxy: API calls work (the proxy is trusted), the tunnel does not.
	via := laptop("https://" + proxy)
	if _, err := via.MySlot(ctx); err != nil {
		t.Fatalf("API call through the proxy: %v (the test needs a working interceptor)", err)
	}
	conn, err := via.DialTunnel(ctx, slot.ID)
	if e := api.AsError(err); e == nil || e.Code != api.CodeTunnelBinding {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("tunnel through the interceptor: %v, want %s", err, api.CodeTunnelBinding)
	}
	if len(b.Services.Relay.Live()) != 0 {
		t.Fatal("a tunnel runs through the interceptor")
	}
	// The proxy itself, on a connection of its own, with the token it saw
	// but without the device key.
	thief, err := api.NewClient(b.URL, api.ClientOptions{Pins: []string{b.Pin}})
	if err != nil {
		t.Fatal(err)
	}
	thief.SetToken(s.Token())
	if _, err := thief.DialTunnel(ctx, slot.ID); api.AsError(err) == nil || api.AsError(err).Code != api.CodeTunnelBinding {
		t.Fatalf("tunnel with a stolen token: %v, want %s", err, api.CodeTunnelBinding)
	}
	// Both refusals are in the operation log.
	waitFor(t, "the refusals in the operation log", func() bool {
		page, err := it.SearchOplogs(ctx, api.OplogQuery{Type: "relay.refused", User: s.User.ID})
		if err != nil {
			return false
		}
		n := 0
		for _, ev := range page.Events {
			if ev.Fields["reason"] == string(api.CodeTunnelBinding) && ev.Target == slot.ID {
				n++
			}
		}
		return n == 2
	})

	// Without the proxy the same request succeeds.
	direct := laptop(b.URL)
	conn, err = direct.DialTunnel(ctx, slot.ID)
	if err != nil {
		t.Fatalf("the same tunnel without the proxy: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q %v", got, err)
	}
	waitFor(t, "the tunnel-opened record", func() bool {
		page, err := it.SearchOplogs(ctx, api.OplogQuery{Type: "relay.tunnel_opened", User: s.User.ID})
		return err == nil && len(page.Events) == 1 && page.Events[0].Fields["binding"] == "tls-exporter" &&
			strings.HasPrefix(page.Events[0].Fields["protocol"], "TLS 1.3 ")
	})
}

// startInterceptor is a TLS-inspecting proxy: it answers the app with a
// certificate for 127.0.0.1 from its own CA, opens its own TLS connection
// to the broker, and passes the plaintext both ways.
func startInterceptor(t *testing.T, broker string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				up, err := tls.Dial("tcp", broker, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) // it trusts whatever it meets
				if err != nil {
					c.Close()
					return
				}
				_ = tunnel.Splice(c, up, nil, nil)
			}()
		}
	}()
	return ln.Addr().String()
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Inspection CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// brokerCert reads the certificate the broker presents.
func brokerCert(t *testing.T, url string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true}) // only to read it
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// echoPC is an office PC stand-in that echoes; it returns host:port.
func echoPC(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(brokertest.OfficePC(t, brokertest.Echo))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
