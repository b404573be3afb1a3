package core

import (
	"context"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestTeleworkApprovalThroughCore: the app's telework view against a
// real broker where the department needs approval: a member of staff
// asks for today through core (marked same-day), the supervisor's
// client sees it pending (a telework.pending event on the socket, then
// the view read again), approves it with a comment, and the requester's
// client gets the decision as a notice with the comment and the request
// approved; the start of work reaches the supervisor's section view and
// notice. Staff cannot decide, and core says so with the broker's code;
// a stand-in the supervisor names gets the approver's view.
func TestTeleworkApprovalThroughCore(t *testing.T) {
	wed := time.Date(2026, 6, 3, 9, 0, 0, 0, time.FixedZone("JST", 9*3600))
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed)))
	ctx := context.Background()
	if _, err := b.Services.Telework.SetPolicy(ctx, "test", api.TeleworkPolicy{Department: "総務課", Mode: api.TeleworkApproval}); err != nil {
		t.Fatal(err)
	}
	signIn := func(id string, roles ...api.Role) *Client {
		t.Helper()
		u := b.CreateUser(t, id, roles...)
		c, err := New(Config{BrokerURL: b.URL, Pins: []string{b.Pin}, DeviceName: "laptop-" + id}, Deps{Now: b.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		fastTiming(c)
		if _, err := c.Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
			t.Fatal(err)
		}
		return c
	}
	staff := signIn("aoki")
	boss := signIn("boss", api.RoleStaff, api.RoleSupervisor)
	waitFor(t, boss, "the supervisor's view", func(s State) bool { return s.Telework != nil && s.Telework.Approver })
	st := waitFor(t, staff, "the staff view", func(s State) bool { return s.Telework != nil && s.Telework.Today != nil })
	if st.Telework.Approver || st.Telework.Today.Policy.Mode != api.TeleworkApproval || st.Telework.Today.Date != "2026-06-03" {
		t.Fatalf("staff view: approver %v, today %+v", st.Telework.Approver, st.Telework.Today)
	}

	r, err := staff.RequestTelework(ctx, api.TeleworkRequestCreate{Dates: []string{"2026-06-03"}, Reason: api.ReasonChildcare, Note: "子の発熱"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.SameDay || r.State != api.RequestPending {
		t.Fatalf("request %+v", r)
	}
	if mine := staff.State().Telework.Mine; len(mine) != 1 || mine[0].ID != r.ID {
		t.Fatalf("my requests after asking: %+v", mine)
	}
	st = waitFor(t, boss, "the pending request", func(s State) bool {
		return s.Telework != nil && len(s.Telework.Approvals) == 1 && s.Telework.Notice.Kind == "pending"
	})
	if a := st.Telework.Approvals[0]; a.ID != r.ID || a.UserName == "" || st.Telework.NoticeSeq < 1 {
		t.Fatalf("approval %+v, notice %d", a, st.Telework.NoticeSeq)
	}
	if err := staff.DecideTelework(ctx, r.ID, true, ""); api.AsError(err) == nil {
		t.Fatalf("staff decided a request: %v", err)
	}

	if err := boss.DecideTelework(ctx, r.ID, true, "お大事に"); err != nil {
		t.Fatal(err)
	}
	if n := len(boss.State().Telework.Approvals); n != 0 {
		t.Fatalf("%d approvals left after deciding", n)
	}
	st = waitFor(t, staff, "the decision", func(s State) bool {
		return s.Telework != nil && s.Telework.Notice.Kind == "approved" && len(s.Telework.Mine) == 1 &&
			s.Telework.Mine[0].State == api.RequestApproved
	})
	if st.Telework.Notice.Comment != "お大事に" || st.Telework.Notice.RequestID != r.ID {
		t.Fatalf("notice %+v", st.Telework.Notice)
	}

	if err := staff.StartWork(ctx, api.PlaceHome); err != nil {
		t.Fatal(err)
	}
	if !staff.State().Telework.Started() {
		t.Fatalf("not started: %+v", staff.State().Telework.Today.Day)
	}
	st = waitFor(t, boss, "the start of work", func(s State) bool {
		if s.Telework == nil || s.Telework.Notice.Kind != "work_start" || s.Telework.Section == nil {
			return false
		}
		for _, d := range s.Telework.Section.Staff {
			if d.UserID == "aoki" && !d.Start.IsZero() && d.Place == api.PlaceHome && d.Planned {
				return true
			}
		}
		return false
	})
	if st.Telework.Notice.Place != api.PlaceHome {
		t.Fatalf("notice %+v", st.Telework.Notice)
	}
	if err := staff.EndWork(ctx); err != nil {
		t.Fatal(err)
	}
	if d := staff.State().Telework.Today.Day; d.End.IsZero() || d.End.Before(d.Start) {
		t.Fatalf("after the end: %+v", d)
	}

	// The supervisor names aoki to stand in today: aoki's view becomes an
	// approver's (代理承認).
	if err := staff.SetStandIn(ctx, "boss", "2026-06-03", "2026-06-03"); api.AsError(err) == nil {
		t.Fatalf("staff named a stand-in: %v", err)
	}
	if err := boss.SetStandIn(ctx, "aoki", "2026-06-03", "2026-06-04"); err != nil {
		t.Fatal(err)
	}
	staff.RefreshTelework(ctx)
	if tw := staff.State().Telework; !tw.Approver || tw.Section == nil {
		t.Fatalf("the stand-in's view: approver %v", tw.Approver)
	}
}
