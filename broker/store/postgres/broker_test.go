package postgres_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// TestE2EBrokerOnPostgres: a broker started with -db postgres://... serves
// sign-in, the cap and its queue, and chat with Japanese search (two
// characters by the bounded scan, three by pg_trgm) from PostgreSQL; a
// broker started after it on the same database finds the granted slot,
// the queue and the messages where the first left them.
func TestE2EBrokerOnPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.NewDatabase(t)
	ctx := context.Background()
	b := brokertest.Start(t, brokertest.WithDB(url))
	if b.Store != nil || b.DB.Path() == "" {
		t.Fatalf("the broker runs on %T, want PostgreSQL", b.DB)
	}
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	users := staffWithPCs(t, b, it, 1, "yamada", "sato")
	yamada, sato := b.Login(t, users["yamada"]), b.Login(t, users["sato"])
	ys, err := yamada.RequestSlot(ctx, api.SlotRequest{Device: "laptop-1"})
	if err != nil || ys.State != api.SlotGranted {
		t.Fatalf("yamada: %+v %v", ys, err)
	}
	ss, err := sato.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || ss.State != api.SlotQueued || ss.Position != 1 {
		t.Fatalf("sato: %+v %v", ss, err)
	}
	dm, err := yamada.ChatDirect(ctx, "sato")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := yamada.ChatSend(ctx, dm.ID, api.ChatSendRequest{Key: "k1", Text: "午後は窓口をお願いします"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"窓口", "窓口をお願い"} {
		res, err := sato.ChatSearch(ctx, q, "")
		if err != nil || len(res.Hits) != 1 {
			t.Fatalf("search %s: %+v %v", q, res, err)
		}
	}

	b.Stop()
	b2 := brokertest.Start(t, brokertest.WithDB(url), brokertest.WithDataDir(b.DataDir), brokertest.WithClock(b.Clock))
	yamada2, sato2 := b2.Login(t, users["yamada"]), b2.Login(t, users["sato"])
	st, err := sato2.Status(ctx)
	if err != nil || st.SlotsCap != 1 || st.SlotsFree != 0 || st.Queued != 1 {
		t.Errorf("status after the restart: %+v %v", st, err)
	}
	h, err := yamada2.ChatAfter(ctx, dm.ID, 0, 10)
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "午後は窓口をお願いします" {
		t.Errorf("chat after the restart: %+v %v", h, err)
	}
}

// TestE2ETwoBrokersShareTheCap: two brokers on one database count one
// cap and keep one queue. A slot freed on one broker goes to the user
// queued on the other, who hears of it on their own broker's event
// socket; both brokers' admin views agree; a user whose broker is gone
// asks again on the other and keeps their place.
func TestE2ETwoBrokersShareTheCap(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.NewDatabase(t)
	ctx := context.Background()
	b1 := brokertest.Start(t, brokertest.WithDB(url))
	b2 := brokertest.Start(t, brokertest.WithDB(url), brokertest.WithClock(b1.Clock), brokertest.WithDataDir(sameKey(t, b1.DataDir)))
	it := b1.Signin(t, "it-admin", api.RoleAdmin)
	users := staffWithPCs(t, b1, it, 1, "yamada", "sato", "suzuki")
	yamada, sato, suzuki := b1.Login(t, users["yamada"]), b2.Login(t, users["sato"]), b2.Login(t, users["suzuki"])
	ys, err := yamada.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || ys.State != api.SlotGranted {
		t.Fatalf("yamada on broker 1: %+v %v", ys, err)
	}
	ss, err := sato.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || ss.State != api.SlotQueued || ss.Position != 1 {
		t.Fatalf("sato on broker 2, with the one slot held on broker 1: %+v %v", ss, err)
	}
	zs, err := suzuki.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || zs.State != api.SlotQueued || zs.Position != 2 {
		t.Fatalf("suzuki on broker 2: %+v %v", zs, err)
	}
	ev, err := sato.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := yamada.ReleaseSlot(ctx, ys.ID); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		e, err := ev.Next(wctx)
		if err != nil {
			t.Fatalf("sato's events on broker 2 after the release on broker 1: %v", err)
		}
		if e.Type == api.EventGranted {
			break
		}
	}
	itOn2 := b2.Signin(t, "it-admin2", api.RoleAdmin)
	for _, c := range []*brokertest.Session{it, itOn2} {
		l := waitSessions(t, c, func(l *api.SessionList) bool { return l.Used == 1 && l.Queued == 1 })
		if l.Sessions[0].UserID != "sato" || l.Queue[0].UserID != "suzuki" {
			t.Errorf("sessions %+v, queue %+v", l.Sessions, l.Queue)
		}
	}
	// Broker 2 goes; suzuki asks again on broker 1 and keeps the head of
	// the queue, then gets the slot sato gives back there.
	b2.Stop()
	suzuki1 := &brokertest.Session{Client: b1.Client(t), User: suzuki.User, Key: suzuki.Key, Login: suzuki.Login}
	suzuki1.SetToken(suzuki.Login.AccessToken)
	again, err := suzuki1.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || again.ID != zs.ID || again.State != api.SlotQueued || again.Position != 1 {
		t.Fatalf("suzuki again on broker 1: %+v %v (first %s)", again, err, zs.ID)
	}
	sato1 := &brokertest.Session{Client: b1.Client(t), User: sato.User, Key: sato.Key, Login: sato.Login}
	sato1.SetToken(sato.Login.AccessToken)
	if err := sato1.ReleaseSlot(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	got, err := suzuki1.MySlot(ctx)
	if err != nil || got.State != api.SlotGranted {
		t.Fatalf("suzuki after sato left: %+v %v", got, err)
	}
}

// sameKey is a new data directory with dir's secret.key: every broker on
// one database needs the key that seals the secrets it keeps.
func sameKey(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "secret.key"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitSessions reads IT's session list until ok holds (the other
// broker's commit reaches this one by notification) or 30 s pass.
func waitSessions(t *testing.T, c *brokertest.Session, ok func(*api.SessionList) bool) *api.SessionList {
	t.Helper()
	var l *api.SessionList
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if l, err = c.Sessions(context.Background()); err == nil && ok(l) {
			return l
		}
	}
	t.Fatalf("sessions: %+v %v", l, err)
	return nil
}

// staffWithPCs creates the staff on b, each paired with an office PC
// that takes connections, and sets the concurrency cap, through IT's
// session.
func staffWithPCs(t *testing.T, b *brokertest.Broker, it *brokertest.Session, limit int, ids ...string) map[string]brokertest.User {
	t.Helper()
	ctx := context.Background()
	port := brokertest.OfficePC(t, func(net.Conn) {})
	users := map[string]brokertest.User{}
	for _, u := range ids {
		users[u] = b.CreateUser(t, u)
		if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + u, Name: u + "のPC", Address: "127.0.0.1",
			RDPPort: port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := it.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &limit}); err != nil {
		t.Fatal(err)
	}
	return users
}
