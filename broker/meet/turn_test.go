package meet_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// turnClient is a pion TURN client on a new connection from dial (TCP,
// or TLS).
func turnClient(t *testing.T, dial func() net.Conn, user, pass string) *turn.Client {
	t.Helper()
	conn := dial()
	addr := conn.RemoteAddr().String()
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: turn.NewSTUNConn(conn),
		Username: user, Password: pass, Realm: "zaitaku", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c
}

func dialTCP(t *testing.T, addr string) func() net.Conn {
	return func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
}

// welcomeTURN joins a new room of b and returns its signalling socket
// and the broker's TURN server as the welcome gives it.
func welcomeTURN(t *testing.T, b *brokertest.Broker, id string) (*sock, api.MeetICEServer) {
	t.Helper()
	host := b.Signin(t, id)
	r, err := host.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s, st, code := dial(t, b, r.Room.ID, r.Token)
	if s == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	w := s.await("welcome")
	if len(w.ICEServers) != 1 || w.ICEServers[0].Username == "" {
		t.Fatalf("welcome has ICE servers %+v, want the broker's TURN with credentials", w.ICEServers)
	}
	return s, w.ICEServers[0]
}

// noOpenRelay checks the broker's TURN server on one way in (dial): no
// allocation without the welcome's credentials, one with them, whose
// relay reaches nothing but the broker's media port, and none once the
// participant (s) has left.
func noOpenRelay(t *testing.T, dial func() net.Conn, s *sock, ice api.MeetICEServer) {
	t.Helper()
	for _, bad := range []struct{ what, user, pass string }{
		{"a wrong password", ice.Username, "wrong"},
		{"no credentials", "", ""},
		{"a username the broker never gave", "p-nobody", ice.Credential},
	} {
		if _, err := turnClient(t, dial, bad.user, bad.pass).Allocate(); err == nil {
			t.Errorf("allocation with %s succeeded", bad.what)
		}
	}
	c := turnClient(t, dial, ice.Username, ice.Credential)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate with the welcome's credentials: %v", err)
	}
	defer relay.Close()

	// Two targets that are not the media port: another port on the
	// broker's own address, and another address.
	for _, target := range []string{"127.0.0.1:0", "127.0.0.2:0"} {
		l, err := net.ListenPacket("udp4", target)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for i := 0; i < 5; i++ {
			_, _ = relay.WriteTo([]byte("through the broker's relay"), l.LocalAddr())
		}
		_ = l.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 1500)
		if n, from, err := l.ReadFrom(buf); err == nil {
			t.Errorf("%s received %q from %s through TURN: an open relay", l.LocalAddr(), buf[:n], from)
		}
	}

	// The credentials end with the participant (once the broker has seen
	// them leave).
	s.send(`{"type":"leave"}`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := turnClient(t, dial, ice.Username, ice.Credential).Allocate(); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("allocations still succeed 10 s after the participant left")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMeetTURNIsNoOpenRelay: the embedded TURN server allocates only for
// a participant who is in a room, and its relays reach nothing but the
// broker's media port.
func TestMeetTURNIsNoOpenRelay(t *testing.T) {
	b := brokertest.Start(t)
	s, ice := welcomeTURN(t, b, "turn-host")
	addr := b.Services.Meet.TURNAddr().String()
	if want := "turn:" + addr + "?transport=tcp"; len(ice.URLs) != 1 || ice.URLs[0] != want {
		t.Fatalf("TURN URLs %v, want only %s (TURN over TLS is off by default)", ice.URLs, want)
	}
	noOpenRelay(t, dialTCP(t, addr), s, ice)
}

// TestMeetTURNOverTLS: with -meet-turn-tls the same TURN server answers
// over TLS with the broker's own certificate (the key laptops pin, one a
// client that trusts the broker's certificate accepts for the host in
// the URL); the welcome names it after TURN over TCP, with the same
// credentials, and over TLS too it is no open relay. With TURN over TCP
// off, the welcome offers TLS alone.
func TestMeetTURNOverTLS(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) { c.MeetTURNTLS = "127.0.0.1:0" }))
	s, ice := welcomeTURN(t, b, "turns-host")
	tcpAddr, tlsAddr := b.Services.Meet.TURNAddr().String(), b.Services.Meet.TURNTLSAddr().String()
	want := []string{"turn:" + tcpAddr + "?transport=tcp", "turns:" + tlsAddr + "?transport=tcp"}
	if !slices.Equal(ice.URLs, want) {
		t.Fatalf("TURN URLs %v, want %v", ice.URLs, want)
	}
	pem, err := os.ReadFile(filepath.Join(b.DataDir, "tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("the broker's tls-cert.pem holds no certificate")
	}
	u, err := url.Parse(strings.Replace(want[1], "turns:", "turns://", 1))
	if err != nil {
		t.Fatal(err)
	}
	dialTLS := func() net.Conn {
		t.Helper()
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: roots, ServerName: u.Hostname()})
		if err != nil {
			t.Fatalf("TLS to the TURN server: %v", err)
		}
		pin, err := api.CertKeyPin(conn.ConnectionState().PeerCertificates[0].Raw)
		if err != nil || pin != b.Pin {
			t.Fatalf("TURN over TLS serves key %s (%v), want the broker's %s", pin, err, b.Pin)
		}
		return conn
	}
	noOpenRelay(t, dialTLS, s, ice)

	// Plain TURN on the TLS port is refused: the port speaks TLS only.
	if _, err := turnClient(t, dialTCP(t, tlsAddr), "", "").Allocate(); err == nil {
		t.Error("plain TURN on the TLS port got an allocation")
	}

	t.Run("TLS only", func(t *testing.T) {
		b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) { c.MeetTURNTCP, c.MeetTURNTLS = "off", "127.0.0.1:0" }))
		_, ice := welcomeTURN(t, b, "turns-only")
		want := "turns:" + b.Services.Meet.TURNTLSAddr().String() + "?transport=tcp"
		if len(ice.URLs) != 1 || ice.URLs[0] != want || b.Services.Meet.TURNAddr() != nil {
			t.Fatalf("TURN URLs %v, want only %s", ice.URLs, want)
		}
	})
}

// TestMeetWelcomeHasSiteICEServers: a site that runs its own TURN (on
// 443, say) has it handed to every page after the broker's own.
func TestMeetWelcomeHasSiteICEServers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ice.json")
	if err := os.WriteFile(file, []byte(`[{"urls":["turns:turn.city.lg.jp:443?transport=tcp"],"username":"zaitaku","credential":"site-secret"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) { c.MeetICEServers = file }))
	host := b.Signin(t, "ice-host")
	r, err := host.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s, st, code := dial(t, b, r.Room.ID, r.Token)
	if s == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	w := s.await("welcome")
	if len(w.ICEServers) != 2 || w.ICEServers[0].Username == "" || w.ICEServers[1].URLs[0] != "turns:turn.city.lg.jp:443?transport=tcp" ||
		w.ICEServers[1].Credential != "site-secret" {
		t.Fatalf("welcome has ICE servers %+v, want the broker's TURN, then the site's", w.ICEServers)
	}
}
