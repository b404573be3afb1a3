package telework_test

import (
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestWorkingTimeHoursWindow: a department's allowed hours warn before
// their end and, with disconnect, end the session there, through the
// slots' own warning and end; outside the hours a slot is refused. With
// notice only, the warning comes and the session goes on. The clock is
// moved a minute at a time, each minute a heartbeat and a sweep, as the
// app and the broker would.
func TestWorkingTimeHoursWindow(t *testing.T) {
	e := start(t, time.Date(2026, 6, 3, 20, 55, 0, 0, jst))
	e.policy(t, api.TeleworkPolicy{Department: soumu, HoursStart: "07:00", HoursEnd: "22:00", WarnMinutes: 10, Disconnect: true})
	e.policy(t, api.TeleworkPolicy{Department: zeimu, HoursStart: "07:00", HoursEnd: "22:00", WarnMinutes: 10})
	k1 := e.login(t, "k1001", soumu)
	z1 := e.login(t, "z1001", zeimu)
	e.b.Clock.Set(time.Date(2026, 6, 3, 21, 0, 0, 0, jst))
	ks, err := k1.RequestSlot(e.ctx, api.SlotRequest{})
	if err != nil || ks.State != api.SlotGranted {
		t.Fatalf("k1001: %+v, %v", ks, err)
	}
	zs, err := z1.RequestSlot(e.ctx, api.SlotRequest{})
	if err != nil || zs.State != api.SlotGranted {
		t.Fatalf("z1001: %+v, %v", zs, err)
	}
	kh, zh := e.holder(t, ks.ID), e.holder(t, zs.ID)
	end := time.Date(2026, 6, 3, 22, 0, 0, 0, jst)
	warnAt := end.Add(-10 * time.Minute)
	live := func(id string) bool {
		for _, s := range e.b.Services.Slots.List().Sessions {
			if s.ID == id {
				return true
			}
		}
		return false
	}
	for now := e.b.Now(); now.Before(end.Add(5 * time.Minute)); now = e.b.Now() {
		e.b.Clock.Advance(time.Minute)
		now = e.b.Now()
		if live(ks.ID) {
			if _, err := e.b.Services.Slots.Heartbeat(e.ctx, kh, ks.ID, api.HeartbeatRequest{Active: true}); err != nil {
				t.Fatalf("%s heartbeat: %v", now.In(jst).Format("15:04"), err)
			}
		}
		if _, err := e.b.Services.Slots.Heartbeat(e.ctx, zh, zs.ID, api.HeartbeatRequest{Active: true}); err != nil {
			t.Fatalf("%s notice-only heartbeat: %v", now.In(jst).Format("15:04"), err)
		}
		if err := e.b.Services.Slots.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		warned := len(e.events(t, "k1001", api.EventWarning)) > 0
		switch {
		case now.Before(warnAt) && warned:
			t.Fatalf("warned at %s, before %s", now.In(jst).Format("15:04"), warnAt.In(jst).Format("15:04"))
		case !now.Before(warnAt) && !warned:
			t.Fatalf("no warning at %s", now.In(jst).Format("15:04"))
		case now.Before(end) && !live(ks.ID):
			t.Fatalf("ended at %s, before 22:00", now.In(jst).Format("15:04"))
		case !now.Before(end) && live(ks.ID):
			t.Fatalf("still live at %s", now.In(jst).Format("15:04"))
		}
	}
	ws := e.events(t, "k1001", api.EventWarning)
	if w := decode[api.SlotWarning](t, ws[0]); len(ws) != 1 || w.Reason != api.EndHours || !w.EndsAt.Equal(end) || w.SlotID != ks.ID {
		t.Errorf("warnings = %d, first %+v", len(ws), w)
	}
	ends := e.events(t, "k1001", api.EventEnded)
	if len(ends) != 1 || decode[api.EndedNotice](t, ends[0]).Reason != api.EndHours {
		t.Errorf("ends = %+v", ends)
	}
	// Notice only: told once, still connected past the end.
	zw := e.events(t, "z1001", api.EventWarning)
	if len(zw) != 1 || decode[api.SlotWarning](t, zw[0]).Reason != api.EndHours || !live(zs.ID) {
		t.Errorf("notice-only: warnings %d, live %v", len(zw), live(zs.ID))
	}
	// After the hours a new slot is refused, saying when they are.
	k1 = e.b.Login(t, k1.User)
	_, err = k1.RequestSlot(e.ctx, api.SlotRequest{})
	ae := wantCode(t, "after hours", err, api.CodeTeleworkOutsideHours)
	if ae.Detail != "07:00–22:00" {
		t.Errorf("detail = %q", ae.Detail)
	}
	// The record: connected 21:00 to 22:00, past the planned end (17:15).
	day, err := k1.TeleworkToday(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := day.Day
	if !d.Start.Equal(time.Date(2026, 6, 3, 21, 0, 0, 0, jst)) || !d.End.Equal(end) || d.WorkMinutes != 60 || d.Connected {
		t.Errorf("day = %+v", d)
	}
	if len(d.Flags) != 1 || d.Flags[0] != api.WorkFlagOvertime {
		t.Errorf("flags = %v", d.Flags)
	}
}
