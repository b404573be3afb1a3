package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// BenchmarkSlotsAcquire3000PG is nine in the morning on several brokers:
// 3,000 signed-in staff (connections open) press Connect at once, a
// third on each of three broker processes on one PostgreSQL database,
// against a cap of 300, the grant decided in the database. The baseline,
// in the same run, is the same 3,000 on one broker process on SQLite
// (the in-memory grant). It prints both p99 answer times and their
// ratio, and checks that no more than the cap were granted.
func BenchmarkSlotsAcquire3000PG(b *testing.B) {
	const clients, capN = 3000, 300
	tr := startThreeBrokers(b, clients, "90s")
	stmts := newStatementCount(b, tr.db)
	pg := acquireBurst(b, tr.procs[:], tr.sessions, capN, stmts.reset)
	perAcquire, top := stmts.read(b, clients)
	var inDB int
	if err := tr.db.QueryRow(context.Background(), `SELECT count(*) FROM slots WHERE state = 'granted'`).Scan(&inDB); err != nil {
		b.Fatal(err)
	}
	if inDB != capN {
		b.Fatalf("%d granted in the database, want %d", inDB, capN)
	}
	for _, p := range tr.procs {
		p.Kill() // the machine to the baseline
	}

	// The same staff, sessions and PCs, as they were before the copy.
	sq := brokertest.StartProcessOn(b, tr.sqliteDir, "-log-level", "warn")
	base := acquireBurst(b, []*brokertest.Process{sq}, tr.sessions, capN, nil)

	b.StopTimer()
	fmt.Printf("BENCH %s %.3g %s %s\n", "slots.acquire3000_p99_pg", pg.p99, "s", "target<=1.0")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_p50_pg", pg.p50, "s")
	fmt.Printf("BENCH %s %d %s\n", "slots.pg_brokers", len(tr.procs), "count")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_p99_sqlite_process", base.p99, "s")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_pg_vs_sqlite", pg.p99/base.p99, "ratio")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_wall_pg", pg.wall, "s")
	fmt.Printf("BENCH %s %d %s\n", "slots.acquire3000_granted_max_pg", inDB, "slots")
	fmt.Printf("BENCH %s %.3g %s\n", "slots.acquire3000_statements_per_acquire_pg", perAcquire, "statements")
	if os.Getenv("ZAITAKU_BENCH_STATEMENTS") != "" {
		// Which statements the figure is made of, most frequent first.
		for _, l := range top {
			fmt.Println("  ", l)
		}
	}
}

// statementCount counts, with pg_stat_statements (pgtest preloads it),
// the statements every broker ran on the database between reset and
// read, BEGIN and COMMIT included: what a request costs the database.
type statementCount struct{ db *pgxpool.Pool }

func newStatementCount(b *testing.B, db *pgxpool.Pool) statementCount {
	b.Helper()
	if _, err := db.Exec(context.Background(), `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		b.Fatalf("pg_stat_statements (the contrib package of PostgreSQL): %v", err)
	}
	return statementCount{db: db}
}

func (c statementCount) reset() {
	if _, err := c.db.Exec(context.Background(), `SELECT pg_stat_statements_reset()`); err != nil {
		panic(err)
	}
}

// read waits for the brokers' work after the answers (audits, events)
// to settle, and returns the statements per request and the most run.
func (c statementCount) read(b *testing.B, requests int) (float64, []string) {
	b.Helper()
	ctx := context.Background()
	const q = `SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'`
	var n, last int64 = 0, -1
	for range 50 {
		if err := c.db.QueryRow(ctx, q).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == last {
			break
		}
		last = n
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := c.db.Query(ctx, `SELECT calls, regexp_replace(left(query, 110), '\s+', ' ', 'g') FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
		ORDER BY calls DESC LIMIT 25`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var top []string
	for rows.Next() {
		var calls int64
		var text string
		if err := rows.Scan(&calls, &text); err != nil {
			b.Fatal(err)
		}
		top = append(top, fmt.Sprintf("%6d %5.2f/req %s", calls, float64(calls)/float64(requests), text))
	}
	return float64(n) / float64(requests), top
}

type burst struct{ p50, p99, wall float64 }

// acquireBurst sets the cap, opens every session's connection to its
// broker (round robin over procs) and has all of them ask for a slot at
// once; it fails if more than the cap were granted.
func acquireBurst(b *testing.B, procs []*brokertest.Process, sessions []*brokertest.Session, capN int, atStart func()) burst {
	b.Helper()
	ctx := context.Background()
	cs := make([]*api.Client, len(sessions))
	var wg sync.WaitGroup
	errs := make([]error, len(sessions))
	for i, s := range sessions {
		cs[i] = procClient(b, procs[i%len(procs)], s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = cs[i].Status(ctx)
		}()
	}
	wg.Wait()
	admin := procClient(b, procs[0], sessions[0]) // st0000 is IT (seedStaff)
	cp := capN
	if _, err := admin.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &cp}); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, len(cs))
	got := make([]*api.Slot, len(cs))
	start := make(chan struct{})
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			got[i], errs[i] = cs[i].RequestSlot(ctx, api.SlotRequest{})
			lat[i] = time.Since(t0)
		}()
	}
	if atStart != nil {
		atStart()
	}
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	granted := 0
	for i := range got {
		if errs[i] != nil {
			b.Fatalf("request %d: %v", i, errs[i])
		}
		if got[i].State == api.SlotGranted {
			granted++
		}
	}
	if granted > capN {
		b.Fatalf("%d granted in the answers, cap %d", granted, capN)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(f float64) float64 { return lat[int(f*float64(len(lat)-1))].Seconds() }
	return burst{p50: q(0.5), p99: q(0.99), wall: wall.Seconds()}
}
