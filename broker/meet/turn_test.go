package meet_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

func turnClient(t *testing.T, addr, user, pass string) (*turn.Client, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: turn.NewSTUNConn(conn),
		Username: user, Password: pass, Realm: "zaitaku", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c, nil
}

// TestMeetTURNIsNoOpenRelay: the embedded TURN server allocates only for
// a participant who is in a room, and its relays reach nothing but the
// broker's media port.
func TestMeetTURNIsNoOpenRelay(t *testing.T) {
	b := brokertest.Start(t)
	host := b.Signin(t, "turn-host")
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
	ice := w.ICEServers[0]
	addr := b.Services.Meet.TURNAddr().String()
	t.Logf("TURN %s for %s", addr, ice.URLs)

	if c, _ := turnClient(t, addr, ice.Username, "wrong"); c != nil {
		if _, err := c.Allocate(); err == nil {
			t.Error("allocation with a wrong password succeeded")
		}
	}
	c, _ := turnClient(t, addr, ice.Username, ice.Credential)
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

	// The credentials end with the participant.
	s.send(`{"type":"leave"}`)
	time.Sleep(200 * time.Millisecond)
	if c2, _ := turnClient(t, addr, ice.Username, ice.Credential); c2 != nil {
		if _, err := c2.Allocate(); err == nil {
			t.Error("allocation after the participant left succeeded")
		}
	}
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
