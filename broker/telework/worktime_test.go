package telework_test

import (
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestWorkingTimeStartEnd: "start work" with the place and "end work"
// tell the supervisor (the phone call they replace); the day runs from
// the earlier of start and first connect to the later of end and last
// disconnect, breaks are the gaps between sessions, and an end past the
// planned one is flagged, in the notice and in the supervisor's view.
func TestWorkingTimeStartEnd(t *testing.T) {
	e := start(t, time.Date(2026, 6, 3, 8, 0, 0, 0, jst))
	e.staff(t, "s1001", soumu, api.RoleStaff, api.RoleSupervisor)
	e.staff(t, "k1001", soumu)
	k1 := e.user(t, "k1001")
	boss := e.user(t, "s1001")
	tw := e.b.Services.Telework
	at := func(hh, mm int) time.Time { return time.Date(2026, 6, 3, hh, mm, 0, 0, jst) }
	connect := func(from, to time.Time) {
		t.Helper()
		e.b.Clock.Set(from)
		h := e.holder(t, e.acquire(t, "k1001"))
		e.b.Clock.Set(to)
		// The broker's own sweep may have ended it at this very time
		// (the lease lapsed as the clock jumped): the same end.
		if err := e.b.Services.Slots.Release(e.ctx, h, e.slotOf(t, "k1001")); err != nil && code(err) != api.CodeSlotEnded &&
			code(err) != api.CodeSlotNotFound {
			t.Fatal(err)
		}
	}
	e.b.Clock.Set(at(8, 50))
	if _, err := tw.StartWork(e.ctx, k1, api.TeleworkWorkStart{Place: api.PlaceSatellite}); err != nil {
		t.Fatal(err)
	}
	if !anyContains(e.notices(t, "s1001"), "k1001", "業務を開始しました", "08:50", "サテライトオフィス") {
		t.Errorf("start notice: %q", e.notices(t, "s1001"))
	}
	connect(at(9, 0), at(12, 0))
	connect(at(13, 0), at(17, 40))
	e.b.Clock.Set(at(17, 45))
	d, err := tw.EndWork(e.ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	want := api.WorkDay{Date: "2026-06-03", UserID: "k1001", Place: api.PlaceSatellite, Start: at(8, 50).UTC(), End: at(17, 45).UTC(),
		BreakMinutes: 60, WorkMinutes: 8*60 + 55 - 60, Flags: []string{api.WorkFlagOvertime}}
	if d.Start != want.Start || d.End != want.End || d.BreakMinutes != want.BreakMinutes || d.WorkMinutes != want.WorkMinutes ||
		d.Place != want.Place || !slices.Equal(d.Flags, want.Flags) || d.Connected {
		t.Errorf("day =\n %+v, want\n %+v", d, want)
	}
	if !anyContains(e.notices(t, "s1001"), "業務を終了しました", "17:45", "予定時間超過") {
		t.Errorf("end notice: %q", e.notices(t, "s1001"))
	}
	evs := e.events(t, "s1001", api.EventTeleworkWork)
	if len(evs) != 2 || decode[api.TeleworkNotice](t, evs[0]).Kind != "work_start" || decode[api.TeleworkNotice](t, evs[1]).Kind != "overtime" {
		t.Errorf("work events = %d", len(evs))
	}
	sec, err := tw.Section(e.ctx, boss, "")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sec.Staff, func(w api.WorkDay) bool { return w.UserID == "k1001" })
	if i < 0 || sec.Staff[i].WorkMinutes != want.WorkMinutes || sec.Staff[i].End != want.End {
		t.Errorf("section: %+v", sec.Staff)
	}
	// Nobody is told of their own start: the supervisor's own day is quiet.
	e.b.Clock.Set(at(18, 0))
	if _, err := tw.StartWork(e.ctx, boss, api.TeleworkWorkStart{Place: api.PlaceHome}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.events(t, "s1001", api.EventTeleworkWork)); n != 2 {
		t.Errorf("the supervisor was told of their own start (%d events)", n)
	}
	if _, err := tw.StartWork(e.ctx, k1, api.TeleworkWorkStart{Place: "cafe"}); code(err) != api.CodeValidation {
		t.Errorf("unknown place: %v", err)
	}
}
