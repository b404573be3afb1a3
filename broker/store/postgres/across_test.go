package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// sharedDB starts n brokers in process on one new PostgreSQL database,
// with one clock (tokens and one-time codes cross brokers).
func sharedDB(t *testing.T, n int) []*brokertest.Broker {
	url := pgtest.Shared(t).NewDatabase(t)
	clock := brokertest.NewClock(time.Now())
	var bs []*brokertest.Broker
	for i := range n {
		opts := []brokertest.Option{brokertest.WithDB(url), brokertest.WithClock(clock)}
		if i > 0 {
			// Every broker on one database has the same secret key: it
			// seals the secrets the database keeps.
			dir := t.TempDir()
			key, err := os.ReadFile(filepath.Join(bs[0].DataDir, "secret.key"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "secret.key"), key, 0o600); err != nil {
				t.Fatal(err)
			}
			opts = append(opts, brokertest.WithDataDir(dir))
		}
		bs = append(bs, brokertest.Start(t, opts...))
	}
	return bs
}

// nextOf reads frames until one of type typ.
func nextOf(ctx context.Context, t *testing.T, es *api.EventStream, typ string) api.Event {
	t.Helper()
	for {
		ev, err := es.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if ev.Type == typ {
			return ev
		}
	}
}

// TestE2EChatTwoBrokersOnePostgres: two brokers on one PostgreSQL, a
// group whose members are on either. Messages sent at once on both
// brokers reach a member's socket on one of them exactly once and in
// channel order; a read receipt on one reaches the sender's socket on
// the other; a member with a socket on B is online for a colleague
// asking A.
func TestE2EChatTwoBrokersOnePostgres(t *testing.T) {
	bs := sharedDB(t, 2)
	a, b := bs[0], bs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := a.Login(t, a.CreateUser(t, "alice"))
	bob := b.Login(t, a.CreateUser(t, "bob"))
	carol := b.Login(t, a.CreateUser(t, "carol"))

	bobs, err := bob.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()
	nextOf(ctx, t, bobs, api.EventHello)
	alices, err := alice.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer alices.Close()
	nextOf(ctx, t, alices, api.EventHello)

	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "窓口応援", Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	nextOf(ctx, t, bobs, api.EventChatChannel)
	// The first message starts the channel's stream on B's hub.
	if _, err := alice.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: "first", Text: "よろしくお願いします"}); err != nil {
		t.Fatal(err)
	}
	const each = 200
	var wg sync.WaitGroup
	for _, s := range []*brokertest.Session{alice, carol} {
		wg.Go(func() {
			for i := range each {
				if _, err := s.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: fmt.Sprint(s.User.ID, i), Text: fmt.Sprintf("%s の %d 件目", s.User.ID, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for want := int64(1); want <= 2*each+1; want++ {
		ev := nextOf(ctx, t, bobs, api.EventChatMessage)
		var m api.ChatMessage
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Channel != g.ID || m.Seq != want {
			t.Fatalf("bob's socket on B: message %d of %s, want %d", m.Seq, m.Channel, want)
		}
	}
	wg.Wait()

	if _, err := bob.ChatMarkRead(ctx, g.ID, 2*each+1); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextOf(ctx, t, alices, api.EventChatRead)
		var r api.ChatRead
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.User == "bob" && r.Seq == 2*each+1 {
			break
		}
	}

	for end := time.Now().Add(time.Minute); ; {
		l, err := alice.ChatPresence(ctx, "", []string{"bob"})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.People) == 1 && l.People[0].State == api.PresenceOnline {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("bob (socket on B) as A sees him: %+v", l.People)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
