package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/store/dbcopy"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// threeBrokers is a PostgreSQL database served by three broker
// processes, and staff signed in beforehand (through an in-process
// broker on the same database, with the tests' cheap password hashing).
type threeBrokers struct {
	url      string
	procs    [3]*brokertest.Process
	sessions []*brokertest.Session
	db       *pgxpool.Pool
	// sqliteDir is the SQLite installation the staff were signed in on
	// before the copy (a baseline for benchmarks).
	sqliteDir string
}

// startThreeBrokers signs n users in, each with an office PC answering
// on a loopback port, then starts three broker processes with the
// given lease on the database. The staff are signed in on SQLite (an
// in-process broker, the tests' cheap password hashing) and the
// installation is copied to PostgreSQL as `broker admin db copy` does:
// much faster than thousands of sign-ins on PostgreSQL, and the SQLite
// data directory is left for a baseline.
func startThreeBrokers(tb testing.TB, n int, lease string) *threeBrokers {
	tb.Helper()
	srv := pgtest.Shared(tb)
	tr := &threeBrokers{url: srv.NewDatabase(tb), sqliteDir: tb.TempDir()}
	ctx := context.Background()
	seed := brokertest.Start(tb, brokertest.WithDataDir(tr.sqliteDir), brokertest.WithRealClock(), brokertest.WithLog(io.Discard))
	tr.sessions = seedStaff(tb, seed, n)
	seed.Stop()
	st, err := postgres.Open(ctx, tr.url, nil, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := dbcopy.Copy(ctx, filepath.Join(tr.sqliteDir, "zaitaku.db"), st, nil); err != nil {
		tb.Fatal(err)
	}
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(tr.sqliteDir, "secret.key"))
	if err != nil {
		tb.Fatal(err)
	}
	for i := range tr.procs {
		// Every broker on one database has the same secret.key.
		dir := tb.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "secret.key"), key, 0o600); err != nil {
			tb.Fatal(err)
		}
		p := brokertest.StartProcessOn(tb, dir, "-db", tr.url, "-slot-lease", lease, "-log-level", "warn")
		tr.procs[i] = p
		tb.Cleanup(func() {
			if tb.Failed() {
				l := p.Log.String()
				tb.Logf("broker %d's log (its end):\n%s", i, l[max(0, len(l)-4000):])
			}
		})
	}
	if tr.db, err = pgxpool.New(ctx, tr.url); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tr.db.Close)
	return tr
}

// seedStaff signs n users in on seed (st0000, st0001, ...; st0000 is IT
// as well), each with an office PC answering on a loopback port. Through the services, not
// HTTP: thousands of sign-ins over TLS would take most of a test's time.
func seedStaff(tb testing.TB, seed *brokertest.Broker, n int) []*brokertest.Session {
	tb.Helper()
	ctx := context.Background()
	port := brokertest.OfficePC(tb, func(net.Conn) {})
	sessions := make([]*brokertest.Session, n)
	t0 := time.Now()
	a := seed.Services.Auth
	users := make(chan int)
	var wg sync.WaitGroup
	var setupErr atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range users {
				id := fmt.Sprintf("st%04d", i)
				secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
				_, key, _ := ed25519.GenerateKey(rand.Reader)
				var resp *api.LoginResponse
				err := func() error {
					roles := []api.Role{api.RoleStaff}
					if i == 0 {
						roles = append(roles, api.RoleAdmin) // IT, for the admin views
					}
					if _, err := a.CreateUser(ctx, "test", api.CreateUserRequest{ID: id, Name: id, Department: "総務課",
						Roles: roles}); err != nil {
						return err
					}
					if err := a.SetUserPassword(ctx, "test", id, brokertest.Password, false); err != nil {
						return err
					}
					if err := a.SetTOTPSecret(ctx, id, secret, false); err != nil {
						return err
					}
					if _, err := seed.Services.Terminals.Create(ctx, "test", api.CreateTerminalRequest{ID: "pc-" + id, Name: id,
						Address: "127.0.0.1", RDPPort: port, WakeAddr: "127.0.0.1", UserID: id}); err != nil {
						return err
					}
					code, err := auth.TOTPCode(secret, time.Now())
					if err != nil {
						return err
					}
					resp, err = a.Login(ctx, api.LoginRequest{StaffID: id, Password: brokertest.Password, OTP: code,
						Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}, "127.0.0.1")
					return err
				}()
				if err != nil {
					setupErr.Store(fmt.Errorf("user %s: %w", id, err))
					continue
				}
				sessions[i] = &brokertest.Session{User: brokertest.User{ID: id, Password: brokertest.Password, TOTPSecret: secret},
					Key: key, Login: resp}
			}
		}()
	}
	for i := range n {
		users <- i
	}
	close(users)
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%d staff signed in in %.1fs", n, time.Since(t0).Seconds())
	return sessions
}

// client is session s talking to broker process i.
func (tr *threeBrokers) client(tb testing.TB, i int, s *brokertest.Session) *api.Client {
	tb.Helper()
	return procClient(tb, tr.procs[i], s)
}

// procClient is session s talking to broker process p.
func procClient(tb testing.TB, p *brokertest.Process, s *brokertest.Session) *api.Client {
	tb.Helper()
	c, err := api.NewClient(p.URL, api.ClientOptions{Fingerprint: p.Fingerprint, Timeout: 60 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetToken(s.Login.AccessToken)
	return c
}

// grantedNow counts the granted rows in the database.
func (tr *threeBrokers) grantedNow(ctx context.Context) (int, error) {
	var n int
	err := tr.db.QueryRow(ctx, `SELECT count(*) FROM slots WHERE state = 'granted'`).Scan(&n)
	return n, err
}

// maxConcurrent is the most slots that were ever granted at once, from
// the history and the live slots: the cap held if it is not above it.
func (tr *threeBrokers) maxConcurrent(ctx context.Context) (int, error) {
	var n int
	err := tr.db.QueryRow(ctx, `WITH spans AS (
			SELECT granted_at AS s, ended_at AS e FROM slot_history WHERE granted_at > 0
			UNION ALL SELECT granted_at, 9223372036854775807 FROM slots WHERE state = 'granted'),
		marks AS (SELECT s AS at, 1 AS d FROM spans UNION ALL SELECT e, -1 FROM spans)
		SELECT COALESCE(MAX(n), 0) FROM (SELECT SUM(d) OVER (ORDER BY at, d ROWS UNBOUNDED PRECEDING) AS n FROM marks) x`).Scan(&n)
	return n, err
}

// sampleGranted reads the granted count every few milliseconds until
// stop is closed and returns the highest it saw.
func (tr *threeBrokers) sampleGranted(tb testing.TB, stop <-chan struct{}) func() int {
	var highest atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if n, err := tr.grantedNow(context.Background()); err == nil && int64(n) > highest.Load() {
				highest.Store(int64(n))
			}
		}
	}()
	return func() int { <-done; return int(highest.Load()) }
}

// TestE2EThreeBrokersKeepTheCap: three broker processes on one
// PostgreSQL database, 3,000 staff pressing Connect at once, a third on
// each, against a cap of 140: no more than 140 are ever granted (in the
// answers, sampled in the database while it runs, in the history's
// overlaps, in each broker's admin view). Then, with a smaller cap, one
// broker is killed with SIGKILL while it serves granted and queued
// users: its granted slots lapse within a lease and go, in order, to
// its queued users, who asked again through another broker and kept
// their places; the others go on serving, and the chat messages and
// operation-log events acknowledged by the killed broker are all there.
func TestE2EThreeBrokersKeepTheCap(t *testing.T) {
	const clients, capN = 3000, 140
	// A short lease, so that the killed broker's slots come back soon;
	// long enough that the burst's queued requests (which do not beat)
	// outlive the burst on a loaded machine.
	tr := startThreeBrokers(t, clients, lease.String())
	ctx := context.Background()
	admins := [3]*api.Client{}
	{
		seedAdmin := tr.sessions[0] // st0000 is IT too (seedStaff)
		for i := range admins {
			admins[i] = tr.client(t, i, seedAdmin)
		}
	}
	cp := capN
	if _, err := admins[0].SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &cp}); err != nil {
		t.Fatal(err)
	}
	cs := make([]*api.Client, clients)
	var warm sync.WaitGroup
	for i, s := range tr.sessions {
		cs[i] = tr.client(t, i%3, s)
		warm.Add(1)
		go func() { // connections open, as the app keeps them
			defer warm.Done()
			if _, err := cs[i].Status(ctx); err != nil {
				t.Errorf("status of %d: %v", i, err)
			}
		}()
	}
	warm.Wait()
	phase := time.Now()
	step := func(what string) {
		t.Logf("%s: %.1fs", what, time.Since(phase).Seconds())
		phase = time.Now()
	}
	step("3,000 connections opened")
	if t.Failed() {
		t.FailNow()
	}

	stop := make(chan struct{})
	highest := tr.sampleGranted(t, stop)
	got := make([]*api.Slot, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sl, err := cs[i].RequestSlot(ctx, api.SlotRequest{})
			if err != nil {
				t.Errorf("request %d on broker %d: %v", i, i%3, err)
				return
			}
			got[i] = sl
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	granted := 0
	for _, sl := range got {
		if sl.State == api.SlotGranted {
			granted++
		}
	}
	if granted > capN {
		t.Errorf("%d granted in the answers, cap %d", granted, capN)
	}
	// Every broker's view settles on the cap filled, the rest queued.
	for i, a := range admins {
		l := waitList(t, a, func(l *api.SessionList) bool { return l.Used == capN && l.Used+l.Queued == clients })
		if l.Cap != capN {
			t.Errorf("broker %d: cap %d", i, l.Cap)
		}
	}
	if n, err := tr.grantedNow(ctx); err != nil || n != capN {
		t.Errorf("granted in the database: %d %v", n, err)
	}
	step("burst answered, every broker's view settled")
	// Everyone gives the slot back (queued ones are granted meanwhile
	// and then released): the cap holds through the churn too.
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cs[i].ReleaseSlot(ctx, got[i].ID); err != nil && !isCode(err, api.CodeSlotEnded) {
				t.Errorf("release %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if h := highest(); h > capN {
		t.Errorf("sampled %d granted at once, cap %d", h, capN)
	}
	if m, err := tr.maxConcurrent(ctx); err != nil || m > capN {
		t.Errorf("the history overlaps %d granted slots at once (cap %d): %v", m, capN, err)
	} else {
		t.Logf("3,000 requests on 3 brokers: %d granted at most at once (history), cap %d", m, capN)
	}

	step("everyone released")
	tr.killOne(t, admins)
}

// killOne: cap 6; broker 0 serves a0..a2 (granted), broker 2 serves
// c0..c2 (granted) and q0..q3 (queued 1-4), broker 1 serves b0, b1
// (queued 5, 6). Chat and operation-log events go through each. Broker
// 2 is killed; q0..q3 ask again on broker 1.
func (tr *threeBrokers) killOne(t *testing.T, admins [3]*api.Client) {
	ctx := context.Background()
	six := 6
	if _, err := admins[0].SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &six}); err != nil {
		t.Fatal(err)
	}
	type user struct {
		s      *brokertest.Session
		broker int
		c      *api.Client
		slot   *api.Slot
	}
	next := 100
	mk := func(broker, k int) []*user {
		var out []*user
		for range k {
			s := tr.sessions[next]
			next++
			out = append(out, &user{s: s, broker: broker, c: tr.client(t, broker, s)})
		}
		return out
	}
	as, cs, qs, bs := mk(0, 3), mk(2, 3), mk(2, 4), mk(1, 2)
	// One at a time: the order of the requests is the queue's.
	for gi, g := range [][]*user{as, cs, qs, bs} {
		for _, u := range g {
			sl, err := u.c.RequestSlot(ctx, api.SlotRequest{})
			if err != nil {
				t.Fatal(err)
			}
			u.slot = sl
			if want := gi < 2; (sl.State == api.SlotGranted) != want {
				t.Fatalf("%s on broker %d: %s, want granted %v", u.s.User.ID, u.broker, sl.State, want)
			}
		}
	}
	// The apps beat: each through the broker it talks to now.
	var mu sync.Mutex
	beating := append(append(append(append([]*user{}, as...), cs...), qs...), bs...)
	hbStop := make(chan struct{})
	hbDone := make(chan struct{})
	var hbErrs atomic.Int64
	go func() {
		defer close(hbDone)
		for {
			select {
			case <-hbStop:
				return
			case <-time.After(time.Second):
			}
			mu.Lock()
			us := append([]*user{}, beating...)
			mu.Unlock()
			for _, u := range us {
				// The broker and client as one: a user moving to another
				// broker meanwhile beats there next time.
				mu.Lock()
				c, broker, slot := u.c, u.broker, u.slot.ID
				mu.Unlock()
				if _, err := c.Heartbeat(ctx, slot, api.HeartbeatRequest{Active: true}); err != nil && broker != 2 {
					hbErrs.Add(1)
					t.Logf("heartbeat of %s on broker %d: %v", u.s.User.ID, broker, err)
				}
			}
		}
	}()
	defer func() { close(hbStop); <-hbDone }()

	// Chat and the operation log through every broker, the doomed one too.
	g, err := as[0].c.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "障害訓練", Members: []string{cs[0].s.User.ID, bs[0].s.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, u := range []*user{as[0], cs[0], bs[0]} {
		for k := range 5 {
			if _, err := u.c.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: fmt.Sprint(u.s.User.ID, k),
				Text: fmt.Sprintf("broker %d の連絡 %d", u.broker, k)}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	devs := map[string]int{}
	for _, u := range []*user{as[1], cs[1], bs[1]} {
		id := u.s.Login.Device.ID
		var prev [32]byte
		evs := make([]api.OplogEvent, 20)
		for i := range evs {
			evs[i] = api.OplogEvent{Seq: int64(i + 1), At: time.Now().UnixMilli() + int64(i), Type: "login.ok",
				Fields: map[string]string{"i": strconv.Itoa(i)}, Prev: append([]byte{}, prev[:]...)}
			prev = evs[i].Hash()
		}
		ack, err := u.c.UploadOplog(ctx, api.OplogBatch{DeviceID: id, Events: evs, Signature: ed25519.Sign(u.s.Key, api.OplogBatchDigest(id, evs))})
		if err != nil || ack.Acked != 20 {
			t.Fatalf("oplog through broker %d: %+v %v", u.broker, ack, err)
		}
		devs[id] = 20
	}

	// SIGKILL: no shutdown, no last commit.
	killed := time.Now()
	tr.procs[2].Kill()
	mu.Lock()
	beating = append(append([]*user{}, as...), bs...) // c0..c2's apps are gone with it
	mu.Unlock()
	// q0..q3 reconnect to broker 1 and keep their places, in order.
	for k, u := range qs {
		c := tr.client(t, 1, u.s)
		mu.Lock()
		u.broker, u.c = 1, c
		mu.Unlock()
		sl, err := u.c.RequestSlot(ctx, api.SlotRequest{})
		if err != nil || sl.ID != u.slot.ID {
			t.Fatalf("%s again on broker 1: %+v %v (was %s)", u.s.User.ID, sl, err, u.slot.ID)
		}
		if sl.State == api.SlotQueued && sl.Position != k+1 {
			t.Errorf("%s again on broker 1: position %d, want %d", u.s.User.ID, sl.Position, k+1)
		}
		mu.Lock()
		u.slot = sl
		beating = append(beating, u)
		mu.Unlock()
	}
	// c0..c2 lapse; their slots go to q0, q1, q2, in the queue's order.
	l := waitList(t, admins[1], func(l *api.SessionList) bool {
		held := map[string]bool{}
		for _, s := range l.Sessions {
			held[s.UserID] = true
		}
		return l.Used == 6 && held[qs[0].s.User.ID] && held[qs[1].s.User.ID] && held[qs[2].s.User.ID]
	})
	freed := time.Since(killed)
	wantQueue := []string{qs[3].s.User.ID, bs[0].s.User.ID, bs[1].s.User.ID}
	if len(l.Queue) != 3 {
		t.Fatalf("queue after the kill: %+v", l.Queue)
	}
	for k, s := range l.Queue {
		if s.UserID != wantQueue[k] || s.Position != k+1 {
			t.Errorf("queue %d: %s at %d, want %s", k, s.UserID, s.Position, wantQueue[k])
		}
	}
	for _, u := range cs {
		var reason string
		if err := tr.db.QueryRow(ctx, `SELECT reason FROM slot_history WHERE id = $1`, u.slot.ID).Scan(&reason); err != nil || reason != api.EndLease {
			t.Errorf("%s's slot on the killed broker: ended %q %v", u.s.User.ID, reason, err)
		}
	}
	t.Logf("the killed broker's slots went to its queued users %.1fs after the kill (lease %v, swept every %v)", freed.Seconds(), lease, lease/4)
	for _, u := range qs[:3] {
		sl, err := u.c.MySlot(ctx)
		if err != nil || sl.State != api.SlotGranted {
			t.Errorf("%s on broker 1: %+v %v", u.s.User.ID, sl, err)
		}
	}
	// The others went on serving: heartbeats never failed there, a new
	// message goes through, and what the killed broker acknowledged is
	// all there.
	if n := hbErrs.Load(); n != 0 {
		t.Errorf("%d heartbeats failed on the brokers still running", n)
	}
	if _, err := as[0].c.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: "after", Text: "復旧しました"}); err != nil {
		t.Fatal(err)
	}
	h, err := as[0].c.ChatAfter(ctx, g.ID, 0, 100)
	if err != nil || len(h.Messages) != sent+1 {
		t.Errorf("chat after the kill: %d messages, want %d: %v", len(h.Messages), sent+1, err)
	}
	for id, n := range devs {
		p, err := admins[0].SearchOplogs(ctx, api.OplogQuery{Device: id, Limit: 100})
		if err != nil || len(p.Events) != n {
			t.Errorf("oplog of device %s after the kill: %d events, want %d: %v", id, len(p.Events), n, err)
		}
	}
	if m, err := tr.maxConcurrent(ctx); err != nil || m > 140 {
		t.Errorf("history overlaps %d: %v", m, err)
	}
}

// lease is the slot lease of TestE2EThreeBrokersKeepTheCap's brokers.
const lease = 20 * time.Second

// waitList reads IT's session list until ok holds (other brokers'
// commits arrive by notification) or a minute passes.
func waitList(t *testing.T, c *api.Client, ok func(*api.SessionList) bool) *api.SessionList {
	t.Helper()
	var l *api.SessionList
	var err error
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if l, err = c.Sessions(context.Background()); err == nil && ok(l) {
			return l
		}
	}
	if l != nil {
		t.Fatalf("sessions: used %d queued %d cap %d: %v", l.Used, l.Queued, l.Cap, err)
	}
	t.Fatalf("sessions: %v", err)
	return nil
}

func isCode(err error, code api.Code) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == code
}
