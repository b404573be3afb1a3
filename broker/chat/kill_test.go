package chat_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestChatResumeAfterBrokerKill runs the real broker binary and kills it
// with SIGKILL twice while a colleague sends 600 messages and the
// receiver's app is connected. The sender retries every send that got no
// answer with its key; the receiver reconnects and resumes. In the end
// the receiver has shown every message once, in order, and each was
// stored once: an acknowledged message survives a kill.
func TestChatResumeAfterBrokerKill(t *testing.T) {
	secrets := map[string]string{"alice": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "bob": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"}
	p := brokertest.StartProcess(t, func(b *daemon.Broker) {
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
	})
	login := func(id string) *api.Client {
		c, err := api.NewClient(p.URL, api.ClientOptions{Fingerprint: p.Fingerprint, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
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
		c.SetToken(resp.AccessToken)
		return c
	}
	alice, bob := login("alice"), login("bob")
	ctx := context.Background()
	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "停電訓練", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}

	const n = 600
	var acked atomic.Int64
	seqOf := make([]int64, n)
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		for i := range n {
			req := api.ChatSendRequest{Key: fmt.Sprint("k", i), Text: fmt.Sprint("停電中の連絡 ", i)}
			for try := 0; ; try++ {
				m, err := alice.ChatSend(ctx, g.ID, req)
				if err == nil {
					seqOf[i] = m.Seq
					acked.Add(1)
					break
				}
				if try > 600 {
					t.Errorf("send %d: %v", i, err)
					return
				}
				time.Sleep(50 * time.Millisecond) // the broker is restarting
			}
		}
	}()

	var mu sync.Mutex
	var shown []api.ChatMessage
	feed := api.NewChatFeed(bob, nil, func(m api.ChatMessage) {
		mu.Lock()
		shown = append(shown, m)
		mu.Unlock()
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(shown) }
	recvDone := make(chan struct{})
	reconnects := 0
	go func() {
		defer close(recvDone)
		deadline := time.Now().Add(3 * time.Minute)
		for count() < n && time.Now().Before(deadline) {
			func() {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				es, err := bob.DialEvents(cctx, 0)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					return
				}
				defer es.Close()
				reconnects++
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
					if _, err := feed.Apply(cctx, ev); err != nil {
						return
					}
				}
			}()
		}
	}()

	kills := 0
	for _, at := range []int64{n / 3, n * 2 / 3} {
		deadline := time.Now().Add(60 * time.Second)
		for acked.Load() < at {
			if time.Now().After(deadline) {
				t.Fatalf("sending stalled at %d; broker log:\n%s", acked.Load(), p.Log.String())
			}
			time.Sleep(time.Millisecond)
		}
		p.Restart() // SIGKILL, then the binary again on the same data and address
		kills++
		t.Logf("killed the broker with %d of %d sends acknowledged, %d shown", acked.Load(), n, count())
	}
	<-sendDone
	<-recvDone
	mu.Lock()
	defer mu.Unlock()
	if len(shown) != n {
		t.Fatalf("shown %d of %d", len(shown), n)
	}
	for i, m := range shown {
		if m.Seq != int64(i+1) || m.Text != fmt.Sprint("停電中の連絡 ", i) || seqOf[i] != m.Seq {
			t.Fatalf("message %d: seq %d %q, acknowledged as seq %d", i, m.Seq, m.Text, seqOf[i])
		}
	}
	h, err := bob.ChatAfter(ctx, g.ID, int64(n-1), 10)
	if err != nil || h.LastSeq != n || len(h.Messages) != 1 {
		t.Errorf("the channel holds %d entries: %+v %v, want exactly %d", h.LastSeq, h.Messages, err, n)
	}
	t.Logf("%d messages, %d kills, %d socket connections; each shown once, in order, stored once", n, kills, reconnects)
}
