package postgres_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// bcpFrames reads es until n BCP frames have come and returns them; a
// frame of another type is skipped.
func bcpFrames(ctx context.Context, t *testing.T, es *api.EventStream, n int) []api.BCPNotice {
	t.Helper()
	var out []api.BCPNotice
	for len(out) < n {
		ev := nextOf(ctx, t, es, api.EventBCP)
		var b api.BCPNotice
		if err := json.Unmarshal(ev.Data, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// switchBCP switches BCP mode through c, once that broker has adopted
// the last switch (before that it answers bcp_no_change). The brokers'
// clock moves a second first: a broker adopts a switch later than its
// own, and the tests' clock stands still.
func switchBCP(ctx context.Context, t *testing.T, clock *brokertest.Clock, c *brokertest.Session, on bool, reason string) {
	t.Helper()
	clock.Advance(time.Second)
	for {
		_, err := c.SwitchBCP(ctx, on, reason)
		if err == nil {
			return
		}
		if e := api.AsError(err); e == nil || e.Code != api.CodeBCPNoChange || ctx.Err() != nil {
			t.Fatalf("switch BCP mode %v: %v", on, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EAnnouncementsAcrossBrokers: two brokers on one PostgreSQL, an
// app on each. BCP mode switched on through A, off through B and on
// again through A reaches both apps as exactly those three notices: each
// broker adopts every switch and announces it, and each app hears it
// once. IT ending, through A, the session of a user whose app and slot
// are on B reaches that app with IT's message, once: the end the
// holder's broker learns of is not told again (what B publishes to the
// app after it has dropped the slot, its next grant, comes after no
// second notice).
func TestE2EAnnouncementsAcrossBrokers(t *testing.T) {
	bs := sharedDB(t, 2)
	a, b := bs[0], bs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	itA := a.Signin(t, "it-bcp", api.RoleAdmin)
	itB := &brokertest.Session{Client: b.Client(t), User: itA.User, Key: itA.Key, Login: itA.Login}
	itB.SetToken(itA.Login.AccessToken)
	port := brokertest.OfficePC(t, func(net.Conn) {})
	users := map[string]brokertest.User{}
	for _, u := range []string{"ann-a", "ann-b"} {
		users[u] = a.CreateUser(t, u)
		if _, err := itA.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + u, Name: u, Address: "127.0.0.1",
			RDPPort: port, WakeAddr: "127.0.0.1", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	onA, onB := a.Login(t, users["ann-a"]), b.Login(t, users["ann-b"])
	sockA, err := onA.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sockA.Close()
	nextOf(ctx, t, sockA, api.EventHello)
	sockB, err := onB.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sockB.Close()
	nextOf(ctx, t, sockB, api.EventHello)

	capN := 50
	if _, err := itA.ConfigureBCP(ctx, api.BCPConfigUpdate{Cap: &capN}); err != nil {
		t.Fatal(err)
	}
	switchBCP(ctx, t, a.Clock, itA, true, "震度6弱の地震のため")
	switchBCP(ctx, t, a.Clock, itB, false, "通常体制に戻ります")
	switchBCP(ctx, t, a.Clock, itA, true, "余震のため再開")
	for name, es := range map[string]*api.EventStream{"A": sockA, "B": sockB} {
		got := bcpFrames(ctx, t, es, 3)
		want := []struct {
			on     bool
			reason string
		}{{true, "震度6弱の地震のため"}, {false, "通常体制に戻ります"}, {true, "余震のため再開"}}
		for i, w := range want {
			if got[i].Active != w.on || got[i].Reason != w.reason {
				t.Fatalf("the app on %s heard %+v; want the three switches once each, in order", name, got)
			}
		}
	}
	switchBCP(ctx, t, a.Clock, itB, false, "終了")

	// IT, on A, ends ann-b's session, which B serves.
	sl, err := onB.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || sl.State != api.SlotGranted {
		t.Fatalf("ann-b's slot on B: %+v %v", sl, err)
	}
	// IT's list on A shows it once A has heard of it from the ledger.
	waitSessions(t, itA, func(l *api.SessionList) bool {
		for _, x := range l.Sessions {
			if x.ID == sl.ID {
				return true
			}
		}
		return false
	})
	if err := itA.EndSession(ctx, sl.ID, "情報システム課です。端末の更新のため切断します"); err != nil {
		t.Fatal(err)
	}
	// B drops the slot when it learns of the end...
	for {
		if _, err := onB.MySlot(ctx); err != nil {
			if e := api.AsError(err); e == nil || e.Code != api.CodeSlotNotFound {
				t.Fatal(err)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("B never learnt of the end made on A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ...so whatever B told of it is published before its next grant.
	next, err := onB.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || next.State != api.SlotGranted {
		t.Fatalf("ann-b's next slot: %+v %v", next, err)
	}
	var ended []api.EndedNotice
	for {
		ev, err := sockB.Next(ctx)
		if err != nil {
			t.Fatalf("ann-b's socket on B: %v (ended notices %+v)", err, ended)
		}
		if ev.Type == api.EventEnded {
			var n api.EndedNotice
			if err := json.Unmarshal(ev.Data, &n); err != nil {
				t.Fatal(err)
			}
			ended = append(ended, n)
		}
		if ev.Type == api.EventGranted {
			var g api.Slot
			if err := json.Unmarshal(ev.Data, &g); err != nil {
				t.Fatal(err)
			}
			if g.ID == next.ID {
				break
			}
		}
	}
	if len(ended) != 1 || ended[0].SlotID != sl.ID || ended[0].Reason != api.EndAdmin || ended[0].Message != "情報システム課です。端末の更新のため切断します" {
		t.Fatalf("ann-b's app heard %+v; want IT's end with its message, once", ended)
	}
}
