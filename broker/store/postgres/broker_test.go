package postgres_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
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
	port := brokertest.OfficePC(t, func(net.Conn) {})
	users := map[string]brokertest.User{}
	for _, u := range []string{"yamada", "sato"} {
		users[u] = b.CreateUser(t, u)
		if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + u, Name: u + "のPC", Address: "127.0.0.1",
			RDPPort: port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	one := 1
	if _, err := it.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &one}); err != nil {
		t.Fatal(err)
	}
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

// TestE2EOneBrokerPerPostgres: until the cap is decided in the database,
// a second broker on a database another serves is refused at start,
// naming the one that serves it, and starts once that one has stopped
// (or been killed: the lock goes with its connection).
func TestE2EOneBrokerPerPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.NewDatabase(t)
	ctx := context.Background()
	first := brokertest.Start(t, brokertest.WithDB(url))
	cfg := daemon.DefaultConfig()
	cfg.Data, cfg.Listen, cfg.DB = t.TempDir(), "127.0.0.1:0", url
	cfg.MeetUDP, cfg.MeetTURNTCP = "127.0.0.1:0", "127.0.0.1:0" // free ports, as brokertest gives
	_, err := daemon.Open(ctx, cfg, slog.New(slog.DiscardHandler), daemon.Options{Argon2: auth.TestArgon2})
	if err == nil || !strings.Contains(err.Error(), "already serves") || !strings.Contains(err.Error(), "zaitaku-broker") {
		t.Fatalf("a second broker on the database: %v", err)
	}
	t.Logf("the second broker is told: %v", err)
	first.Stop()
	second, err := daemon.Open(ctx, cfg, slog.New(slog.DiscardHandler), daemon.Options{Argon2: auth.TestArgon2})
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
}
