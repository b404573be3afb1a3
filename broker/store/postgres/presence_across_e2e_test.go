package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// twoProcesses is two broker binaries on one PostgreSQL with one secret
// key and one certificate (as behind a load balancer), and staff of 総務課
// created beforehand.
type twoProcesses struct {
	a, b *brokertest.Process
}

const twoSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// startTwoProcesses creates the users (staff; those in admins IT too) and
// starts both brokers, meetings on.
func startTwoProcesses(t *testing.T, users []string, admins ...string) *twoProcesses {
	t.Helper()
	url := pgtest.Shared(t).NewDatabase(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	cfg := daemon.DefaultConfig()
	cfg.Data, cfg.Listen, cfg.DB = dirA, "127.0.0.1:0", url
	cfg.MeetUDP, cfg.MeetTURNTCP = "off", "off"
	b, err := daemon.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), daemon.Options{Argon2: auth.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := b.Services.Auth
	for _, id := range users {
		roles := []api.Role{api.RoleStaff}
		for _, x := range admins {
			if x == id {
				roles = append(roles, api.RoleAdmin)
			}
		}
		if _, err := a.CreateUser(ctx, "test", api.CreateUserRequest{ID: id, Name: id, Department: "総務課", Roles: roles}); err != nil {
			t.Fatal(err)
		}
		if err := a.SetUserPassword(ctx, "test", id, brokertest.Password, false); err != nil {
			t.Fatal(err)
		}
		if err := a.SetTOTPSecret(ctx, id, twoSecret, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	args := []string{"-db", url, "-log-level", "warn"}
	tp := &twoProcesses{a: brokertest.StartProcessOn(t, dirA, args...)}
	for _, f := range []string{"secret.key", "tls-cert.pem", "tls-key.pem"} {
		copyFile(t, filepath.Join(dirA, f), filepath.Join(dirB, f))
	}
	tp.b = brokertest.StartProcessOn(t, dirB, args...)
	for _, p := range []*brokertest.Process{tp.a, tp.b} {
		t.Cleanup(func() {
			if t.Failed() {
				l := p.Log.String()
				t.Logf("broker %s's log (its end):\n%s", p.URL, l[max(0, len(l)-4000):])
			}
		})
	}
	return tp
}

// client talks to broker p with token (none: "").
func (tp *twoProcesses) client(t *testing.T, p *brokertest.Process, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(p.URL, api.ClientOptions{Fingerprint: tp.a.Fingerprint, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// login signs id in on p and returns the access token (good on both).
func (tp *twoProcesses) login(t *testing.T, p *brokertest.Process, id string) string {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	code, err := auth.TOTPCode(twoSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tp.client(t, p, "").Login(context.Background(), api.LoginRequest{StaffID: id, Password: brokertest.Password, OTP: code,
		Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

// socket opens an event socket on p and reads its hello.
func (tp *twoProcesses) socket(t *testing.T, ctx context.Context, p *brokertest.Process, token string) *api.EventStream {
	t.Helper()
	es, err := tp.client(t, p, token).DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	nextOf(ctx, t, es, api.EventHello)
	return es
}

// signal opens a meeting's signalling socket on the broker at base with
// a join token and reads its welcome: the caller is then in the meeting.
func signal(t *testing.T, ctx context.Context, c *api.Client, base, roomID, token string) *websocket.Conn {
	t.Helper()
	u := strings.Replace(base, "https://", "wss://", 1) + "/v1/meet/rooms/" + roomID + "/signal?join=" + token
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.HTTPClient()})
	if err != nil {
		t.Fatalf("signalling socket at %s: %v", base, err)
	}
	_, msg, err := conn.Read(ctx)
	var w api.MeetSignal
	if err == nil {
		err = json.Unmarshal(msg, &w)
	}
	if err != nil || w.Type != "welcome" {
		t.Fatalf("signalling at %s: %s %v, want a welcome", base, msg, err)
	}
	return conn
}

// waitPresence asks c for the user's presence until it is want.
func waitPresence(t *testing.T, ctx context.Context, c *api.Client, user, want, on string) {
	t.Helper()
	var got string
	for ctx.Err() == nil {
		l, err := c.ChatPresence(ctx, "", []string{user})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.People) == 1 {
			if got = l.People[0].State; got == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s's presence asked of %s: %q, want %q", user, on, got, want)
}

// TestE2EPresenceAcrossBrokers: 会議中 and 離席中 read the same whichever
// broker is asked and whichever broker the person is on. alice's meeting
// runs on A (carol joins it through B); bob's app is on B and says it is
// idle through A, then active through B; each is asked of both brokers.
// When A stops, its meeting ends for presence with it, and bob's idle
// flag, set through A, is still known to B.
func TestE2EPresenceAcrossBrokers(t *testing.T) {
	tp := startTwoProcesses(t, []string{"alice", "bob", "carol"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	aliceTok, bobTok, carolTok := tp.login(t, tp.a, "alice"), tp.login(t, tp.b, "bob"), tp.login(t, tp.b, "carol")
	aliceA, bobA, bobB, carolB := tp.client(t, tp.a, aliceTok), tp.client(t, tp.a, bobTok), tp.client(t, tp.b, bobTok), tp.client(t, tp.b, carolTok)
	tp.socket(t, ctx, tp.a, aliceTok)
	bobs := tp.socket(t, ctx, tp.b, bobTok)
	tp.socket(t, ctx, tp.b, carolTok)
	for _, c := range []*api.Client{aliceA, bobB} {
		waitPresence(t, ctx, c, "alice", api.PresenceOnline, "either broker")
		waitPresence(t, ctx, c, "carol", api.PresenceOnline, "either broker")
	}

	// alice's meeting, on A.
	room, err := aliceA.CreateRoom(ctx, api.CreateRoomRequest{Title: "二拠点の会議"})
	if err != nil {
		t.Fatal(err)
	}
	aliceIn := signal(t, ctx, aliceA, tp.a.URL, room.Room.ID, room.Token)
	defer aliceIn.CloseNow()
	waitPresence(t, ctx, bobB, "alice", api.PresenceMeeting, "B")
	waitPresence(t, ctx, bobA, "alice", api.PresenceMeeting, "A")
	// The department hears it on B's sockets, told by A.
	for {
		var p api.ChatPresence
		ev := nextOf(ctx, t, bobs, api.EventChatPresence)
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			t.Fatal(err)
		}
		if p.User == "alice" && p.State == api.PresenceMeeting {
			break
		}
	}
	// carol joins through B: the meeting, and so her 会議中, is A's.
	j, err := carolB.JoinRoom(ctx, room.Room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Broker != tp.a.URL {
		t.Fatalf("carol's way in names %q, want A (%s)", j.Broker, tp.a.URL)
	}
	carolIn := signal(t, ctx, carolB, j.Broker, room.Room.ID, j.Token)
	waitPresence(t, ctx, bobB, "carol", api.PresenceMeeting, "B")
	waitPresence(t, ctx, aliceA, "carol", api.PresenceMeeting, "A")
	carolIn.Close(websocket.StatusNormalClosure, "")
	waitPresence(t, ctx, bobB, "carol", api.PresenceOnline, "B")
	waitPresence(t, ctx, aliceA, "carol", api.PresenceOnline, "A")

	// bob's app is on B; its idle flag goes through A (the load balancer
	// picked A for the request), and back through B.
	away, back := true, false
	if _, err := bobA.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &away}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, ctx, aliceA, "bob", api.PresenceAway, "A")
	waitPresence(t, ctx, carolB, "bob", api.PresenceAway, "B")
	if _, err := bobB.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &back}); err != nil {
		t.Fatal(err)
	}
	// Set through B: B answers at once, A agrees.
	l, err := carolB.ChatPresence(ctx, "", []string{"bob"})
	if err != nil || len(l.People) != 1 || l.People[0].State != api.PresenceOnline {
		t.Fatalf("bob asked of B right after his app said active there: %+v %v", l, err)
	}
	waitPresence(t, ctx, aliceA, "bob", api.PresenceOnline, "A")
	if _, err := bobA.ChatSetStatus(ctx, api.ChatStatusRequest{Away: &away}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, ctx, carolB, "bob", api.PresenceAway, "B")

	// A stops with alice in her meeting: the meeting is gone with it, so
	// is her 会議中; bob's idle flag was his app's, and B keeps it.
	waitPresence(t, ctx, carolB, "alice", api.PresenceMeeting, "B")
	if err := tp.a.Terminate(); err != nil {
		t.Logf("broker A stopped: %v", err)
	}
	waitPresence(t, ctx, carolB, "alice", api.PresenceOffline, "B")
	waitPresence(t, ctx, carolB, "bob", api.PresenceAway, "B")
}
