package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
)

// BenchmarkStoreEngines runs the store's hot paths on SQLite and on
// PostgreSQL in the same run (PostgreSQL on a local unix socket, with
// fsync off as the test server runs, SQLite durable at NORMAL) and prints
// each engine's time per operation and their ratio: the token check of
// every request, chat appends to one channel from many writers (its row
// lock), slot journal batches, and a three-character Japanese search.
func BenchmarkStoreEngines(b *testing.B) {
	ctx := context.Background()
	srv := pgtest.Shared(b)
	sq, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "zaitaku.db"), nil, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sq.Close()
	pg, err := postgres.Open(ctx, srv.NewDatabase(b), nil, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for _, st := range []services.Stores{sq, pg} {
		a := st.Auth()
		must := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		must(a.CreateUser(ctx, auth.UserRecord{User: api.User{ID: "yamada", Name: "山田 花子", Roles: []api.Role{api.RoleStaff}, CreatedAt: t0}, PasswordHash: "x", UpdatedAt: t0}))
		must(a.CreateDevice(ctx, api.Device{ID: "dev", UserID: "yamada", Name: "PC", OS: "windows", PublicKey: bytes.Repeat([]byte{1}, 32), Status: api.DeviceActive, CreatedAt: t0}))
		must(a.CreateSession(ctx, auth.Session{ID: "s", UserID: "yamada", DeviceID: "dev", Scope: auth.ScopeFull,
			AccessHash: bytes.Repeat([]byte{2}, 32), AccessExpires: t0.Add(time.Hour), CreatedAt: t0}))
		must(st.Chat().CreateChannel(ctx, chat.Channel{ID: "g1", Kind: api.ChatGroup, Name: "窓口班", CreatedBy: "yamada", CreatedAt: t0}, []string{"yamada"}))
	}
	const writers = 8
	parallel := func(n int, fn func(w, i int) error) error {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n / writers {
					if err := fn(w, i); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	workloads := []struct {
		name string
		ops  int
		run  func(st services.Stores, ops int) error
	}{
		{"session_user", 20_000, func(st services.Stores, ops int) error {
			return parallel(ops, func(int, int) error {
				_, _, err := st.Auth().SessionUser(ctx, bytes.Repeat([]byte{2}, 32))
				return err
			})
		}},
		{"chat_append", 4_000, func(st services.Stores, ops int) error {
			return parallel(ops, func(w, i int) error {
				_, _, err := st.Chat().Append(ctx, api.ChatMessage{Channel: "g1", Kind: api.ChatKindMessage, Sender: "yamada",
					Key: fmt.Sprintf("%d-%d", w, i), Text: fmt.Sprintf("午後は窓口をお願いします %d", i), At: t0})
				return err
			})
		}},
		{"apply_slots_batch10", 400, func(st services.Stores, ops int) error {
			return parallel(ops, func(w, i int) error {
				batch := make([]slots.Op, 0, 10)
				for k := range 10 {
					r := slots.Record{ID: fmt.Sprintf("s%d-%d-%d", w, i, k), UserID: fmt.Sprintf("u%d-%d-%d", w, i, k), State: api.SlotGranted,
						QueueSeq: int64(i*10 + k), RequestedAt: t0, GrantedAt: t0, LeaseUntil: t0.Add(time.Minute), LastActiveAt: t0}
					batch = append(batch, slots.Op{Put: &r})
				}
				return st.Slots().ApplySlots(ctx, batch)
			})
		}},
		{"chat_search3", 400, func(st services.Stores, ops int) error {
			return parallel(ops, func(int, int) error {
				res, _, err := st.Chat().Search(ctx, chat.SearchQuery{Channels: []string{"g1"}, Text: "窓口を", Limit: 20})
				if err == nil && len(res) != 20 {
					err = fmt.Errorf("search: %d results", len(res))
				}
				return err
			})
		}},
	}
	b.ResetTimer()
	for _, w := range workloads {
		var per [2]time.Duration
		for e, st := range []services.Stores{sq, pg} {
			start := time.Now()
			if err := w.run(st, w.ops); err != nil {
				b.Fatalf("%s on %T: %v", w.name, st, err)
			}
			per[e] = time.Since(start) / time.Duration(w.ops)
		}
		fmt.Printf("BENCH store.%s_sqlite %.3g us\n", w.name, float64(per[0].Nanoseconds())/1e3)
		fmt.Printf("BENCH store.%s_pg %.3g us\n", w.name, float64(per[1].Nanoseconds())/1e3)
		fmt.Printf("BENCH store.%s_pg_vs_sqlite %.3g ratio\n", w.name, float64(per[1])/float64(per[0]))
	}
	fmt.Printf("BENCH store.engines_writers %d goroutines\n", writers)
}
