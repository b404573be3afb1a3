package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestE2EChatAcrossBrokers runs two broker binaries on one PostgreSQL,
// with the same secret key and the same certificate (so one pin holds on
// both, as behind a load balancer). alice, on broker A, posts 1,000
// messages; bob's app, on broker B, shows every one exactly once and in
// order, live over the bus between the brokers. Broker B is killed with
// SIGKILL mid-run; bob's app reconnects to A (what the load balancer
// does) and resumes from what it last showed, with nothing lost.
func TestE2EChatAcrossBrokers(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	secrets := map[string]string{"alice": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "bob": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"}
	{
		cfg := daemon.DefaultConfig()
		cfg.Data, cfg.Listen, cfg.DB = dirA, "127.0.0.1:0", url
		cfg.MeetUDP, cfg.MeetTURNTCP = "off", "off"
		b, err := daemon.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), daemon.Options{Argon2: auth.TestArgon2})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a := b.Services.Auth
		for id, secret := range secrets {
			if _, err := a.CreateUser(ctx, "test", api.CreateUserRequest{ID: id, Name: id, Department: "総務課",
				Roles: []api.Role{api.RoleStaff}}); err != nil {
				t.Fatal(err)
			}
			if err := a.SetUserPassword(ctx, "test", id, brokertest.Password, false); err != nil {
				t.Fatal(err)
			}
			if err := a.SetTOTPSecret(ctx, id, secret, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	args := func(dir string) []string {
		return []string{"-data", dir, "-db", url, "-meet-udp", "off", "-meet-turn-tcp", "off"}
	}
	pa := brokertest.StartProcess(t, nil, args(dirA)...)
	for _, f := range []string{"secret.key", "tls-cert.pem", "tls-key.pem"} {
		copyFile(t, filepath.Join(dirA, f), filepath.Join(dirB, f))
	}
	pb := brokertest.StartProcess(t, nil, args(dirB)...)
	if pa.Pin != pb.Pin || pa.Fingerprint != pb.Fingerprint || pa.Pin == "" {
		t.Fatalf("the brokers present different keys: A %s, B %s", pa.Pin, pb.Pin)
	}

	client := func(p *brokertest.Process, token string) *api.Client {
		c, err := api.NewClient(p.URL, api.ClientOptions{Fingerprint: pa.Fingerprint, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(token)
		return c
	}
	login := func(p *brokertest.Process, id string) string {
		c := client(p, "")
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		code, err := auth.TOTPCode(secrets[id], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Login(context.Background(), api.LoginRequest{StaffID: id, Password: brokertest.Password, OTP: code,
			Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.AccessToken
	}
	alice := client(pa, login(pa, "alice"))
	bobToken := login(pb, "bob")
	ctx := context.Background()
	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "二拠点の連絡", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}

	const n = 1000
	var acked atomic.Int64
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		for i := range n {
			req := api.ChatSendRequest{Key: fmt.Sprint("k", i), Text: fmt.Sprint("二拠点の連絡 ", i)}
			for try := 0; ; try++ {
				if _, err := alice.ChatSend(ctx, g.ID, req); err == nil {
					acked.Add(1)
					break
				} else if try > 100 {
					t.Errorf("send %d: %v", i, err)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	// bob's app: on B until B dies, then on A, as a load balancer sends
	// a new connection to a broker that answers.
	var mu sync.Mutex
	var shown []api.ChatMessage
	deliver := func(m api.ChatMessage) {
		mu.Lock()
		shown = append(shown, m)
		mu.Unlock()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(shown) }
	var liveOnB atomic.Int64 // messages bob's socket on B got live, over the bus
	var onA atomic.Bool
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		feed := api.NewChatFeed(client(pb, bobToken), nil, deliver)
		deadline := time.Now().Add(3 * time.Minute)
		for count() < n && time.Now().Before(deadline) {
			func() {
				p := pb
				if onA.Load() {
					p = pa
				}
				c := client(p, bobToken)
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				es, err := c.DialEvents(cctx, 0)
				if err != nil {
					if p == pb {
						onA.Store(true) // B does not answer: the next connection goes to A
						feed = api.NewChatFeed(client(pa, bobToken), feed.Last(), deliver)
					}
					time.Sleep(50 * time.Millisecond)
					return
				}
				defer es.Close()
				if ev, err := es.Next(cctx); err != nil || ev.Type != api.EventHello {
					return
				}
				if feed.Catchup(cctx) != nil {
					return
				}
				for count() < n {
					ev, err := es.Next(cctx)
					if err != nil {
						return // killed: reconnect
					}
					before := count()
					if _, err := feed.Apply(cctx, ev); err != nil {
						return
					}
					if p == pb && count() == before+1 {
						liveOnB.Add(1)
					}
				}
			}()
		}
	}()

	for liveOnB.Load() < n/3 {
		select {
		case <-recvDone:
			t.Fatalf("the receiver stopped with %d shown", count())
		case <-time.After(time.Millisecond):
		}
	}
	pb.Kill()
	t.Logf("killed broker B with %d of %d sends acknowledged, %d shown (%d live on B)", acked.Load(), n, count(), liveOnB.Load())
	<-sendDone
	<-recvDone
	mu.Lock()
	defer mu.Unlock()
	if len(shown) != n {
		t.Fatalf("shown %d of %d; broker A's log:\n%s", len(shown), n, pa.Log.String())
	}
	for i, m := range shown {
		if m.Seq != int64(i+1) || m.Text != fmt.Sprint("二拠点の連絡 ", i) {
			t.Fatalf("message %d: seq %d %q", i, m.Seq, m.Text)
		}
	}
	if !onA.Load() {
		t.Fatal("bob's app never moved to broker A")
	}
	t.Logf("%d messages shown once, in order: %d live on B over the bus, the rest on A after B was killed", n, liveOnB.Load())
}
