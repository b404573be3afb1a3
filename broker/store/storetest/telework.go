package storetest

import (
	"errors"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/telework"
)

func twRequest(id, user, dept, from, to string, minute int, dates ...string) api.TeleworkRequest {
	return api.TeleworkRequest{ID: id, UserID: user, Department: dept, Kind: api.TeleworkDates, From: from, To: to, Dates: dates,
		Half: api.HalfMorning, Reason: api.ReasonChildcare, Note: "子の発熱", SameDay: true, State: api.RequestPending,
		CreatedAt: at(minute)}
}

func requestIDs(rs []api.TeleworkRequest) []string {
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

var teleworkBehaviours = []behaviour{
	{"a request comes back as stored, times to the millisecond in UTC; an unknown one is ErrNotFound; a second with its ID is ErrConflict", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		r := twRequest("tw1", "k1", "総務課", "2026-04-01", "2026-04-02", 0, "2026-04-01", "2026-04-02")
		r.CreatedAt = subMS
		must(t, tw.CreateRequest(t.Context(), r))
		got, err := tw.GetRequest(t.Context(), "tw1")
		must(t, err)
		want := r
		want.CreatedAt = trunc(subMS)
		same(t, "request", got, want)
		_, err = tw.GetRequest(t.Context(), "nope")
		wantErr(t, "GetRequest", err, telework.ErrNotFound)
		wantErr(t, "CreateRequest again", tw.CreateRequest(t.Context(), r), telework.ErrConflict)
		p := twRequest("tw2", "k1", "総務課", "2026-04-01", "2027-03-31", 1)
		p.Kind, p.FiscalYear, p.Dates = api.TeleworkPeriod, 2026, nil
		must(t, tw.CreateRequest(t.Context(), p))
		got, err = tw.GetRequest(t.Context(), "tw2")
		must(t, err)
		same(t, "period", got, p)
	}},
	{"an update is read, changed and written in one transaction: of racing decisions exactly one wins", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		must(t, tw.CreateRequest(t.Context(), twRequest("tw1", "k1", "総務課", "2026-04-01", "2026-04-01", 0, "2026-04-01")))
		errTaken := errors.New("decided")
		errs := concurrently(8, func(i int) error {
			_, err := tw.UpdateRequest(t.Context(), "tw1", func(r *api.TeleworkRequest) error {
				if r.State != api.RequestPending {
					return errTaken
				}
				r.State, r.DecidedBy, r.DecidedAt = api.RequestApproved, "s"+string(rune('0'+i)), at(5)
				return nil
			})
			return err
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errTaken):
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("%d decisions won, want 1", won)
		}
		got, err := tw.GetRequest(t.Context(), "tw1")
		must(t, err)
		if got.State != api.RequestApproved || got.DecidedBy == "" || !got.DecidedAt.Equal(at(5)) {
			t.Errorf("after the race: %+v", got)
		}
		_, err = tw.UpdateRequest(t.Context(), "nope", func(*api.TeleworkRequest) error { return nil })
		wantErr(t, "UpdateRequest unknown", err, telework.ErrNotFound)
		// A refused change writes nothing.
		_, err = tw.UpdateRequest(t.Context(), "tw1", func(r *api.TeleworkRequest) error { r.State = "x"; return errTaken })
		wantErr(t, "refused update", err, errTaken)
		got, _ = tw.GetRequest(t.Context(), "tw1")
		if got.State != api.RequestApproved {
			t.Errorf("a refused update was written: %s", got.State)
		}
	}},
	{"requests are listed by user or department and by overlap with dates, oldest first", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		for _, r := range []api.TeleworkRequest{
			twRequest("c", "k1", "総務課", "2026-04-10", "2026-04-12", 3),
			twRequest("a", "k1", "総務課", "2026-04-01", "2026-04-01", 1),
			twRequest("b", "k2", "総務課", "2026-04-05", "2026-04-20", 2),
			twRequest("d", "z1", "税務課", "2026-04-05", "2026-04-05", 0),
		} {
			must(t, tw.CreateRequest(t.Context(), r))
		}
		for _, c := range []struct {
			name, user, dept, from, to string
			want                       []string
		}{
			{"all", "", "", "", "", []string{"d", "a", "b", "c"}},
			{"one user", "k1", "", "", "", []string{"a", "c"}},
			{"one department", "", "総務課", "", "", []string{"a", "b", "c"}},
			{"overlapping a day", "", "", "2026-04-11", "2026-04-11", []string{"b", "c"}},
			{"from a day on", "k1", "", "2026-04-02", "", []string{"c"}},
			{"up to a day", "", "総務課", "", "2026-04-05", []string{"a", "b"}},
			{"ends on the first day asked", "", "", "2026-04-12", "2026-04-30", []string{"b", "c"}},
		} {
			rs, err := tw.Requests(t.Context(), c.user, c.dept, c.from, c.to)
			must(t, err)
			same(t, c.name, requestIDs(rs), c.want)
		}
	}},
	{"a policy: ErrNotFound before IT set one, then the last one set, listed by department", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		_, err := tw.Policy(t.Context(), "総務課")
		wantErr(t, "Policy", err, telework.ErrNotFound)
		p := api.TeleworkPolicy{Department: "総務課", Mode: api.TeleworkApproval, HoursStart: "07:00", HoursEnd: "22:00", WarnMinutes: 10,
			Disconnect: true, WorkStart: "08:30", WorkEnd: "17:15", UpdatedAt: subMS, UpdatedBy: "it"}
		must(t, tw.PutPolicy(t.Context(), p))
		p.Mode, p.Disconnect = api.TeleworkNoticeOnly, false
		must(t, tw.PutPolicy(t.Context(), p))
		must(t, tw.PutPolicy(t.Context(), api.TeleworkPolicy{Department: "会計課", Mode: api.TeleworkFree, UpdatedAt: at(1), UpdatedBy: "it"}))
		got, err := tw.Policy(t.Context(), "総務課")
		must(t, err)
		want := p
		want.UpdatedAt = trunc(subMS)
		same(t, "policy", got, want)
		ps, err := tw.Policies(t.Context())
		must(t, err)
		if len(ps) != 2 || ps[0].Department != "会計課" || ps[1].Department != "総務課" {
			t.Errorf("policies = %+v", ps)
		}
	}},
	{"holidays: set, renamed, listed by date within a range, removed; removing a missing one is ErrNotFound", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		for _, h := range []api.Holiday{{Date: "2026-05-05", Name: "こどもの日", Kind: "national"}, {Date: "2026-04-29", Name: "昭和の日", Kind: "national"},
			{Date: "2026-06-15", Name: "記念日", Kind: "municipal"}, {Date: "2026-06-15", Name: "市制記念日", Kind: "municipal"}} {
			must(t, tw.PutHoliday(t.Context(), h))
		}
		hs, err := tw.Holidays(t.Context(), "2026-04-29", "2026-06-15")
		must(t, err)
		same(t, "holidays", hs, []api.Holiday{{Date: "2026-04-29", Name: "昭和の日", Kind: "national"},
			{Date: "2026-05-05", Name: "こどもの日", Kind: "national"}, {Date: "2026-06-15", Name: "市制記念日", Kind: "municipal"}})
		hs, err = tw.Holidays(t.Context(), "2026-05-01", "2026-05-31")
		must(t, err)
		same(t, "May", len(hs), 1)
		must(t, tw.DeleteHoliday(t.Context(), "2026-05-05"))
		wantErr(t, "DeleteHoliday again", tw.DeleteHoliday(t.Context(), "2026-05-05"), telework.ErrNotFound)
	}},
	{"approvers are replaced as a set and listed sorted; one stand-in per approver", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		must(t, tw.SetApprovers(t.Context(), "総務課", []string{"s2", "s1"}))
		must(t, tw.SetApprovers(t.Context(), "総務課", []string{"s3", "s1"}))
		must(t, tw.SetApprovers(t.Context(), "税務課", []string{"z1"}))
		got, err := tw.Approvers(t.Context(), "総務課")
		must(t, err)
		same(t, "approvers", got, []string{"s1", "s3"})
		must(t, tw.PutStandIn(t.Context(), telework.StandIn{Approver: "s1", StandIn: "k1", From: "2026-04-01", To: "2026-04-03"}))
		must(t, tw.PutStandIn(t.Context(), telework.StandIn{Approver: "s1", StandIn: "k2", From: "2026-04-05", To: "2026-04-06"}))
		must(t, tw.PutStandIn(t.Context(), telework.StandIn{Approver: "z1", StandIn: "z2", From: "2026-04-01", To: "2026-04-01"}))
		sis, err := tw.StandIns(t.Context(), []string{"s1", "s3"})
		must(t, err)
		same(t, "stand-ins", sis, []telework.StandIn{{Approver: "s1", StandIn: "k2", From: "2026-04-05", To: "2026-04-06"}})
		sis, err = tw.StandIns(t.Context(), nil)
		must(t, err)
		same(t, "no approvers", len(sis), 0)
	}},
	{"a day's record is written over; ErrNotFound before; days listed by date then user", func(t *testing.T, st services.Stores) {
		tw := st.Telework()
		_, err := tw.Day(t.Context(), "k1", "2026-04-01")
		wantErr(t, "Day", err, telework.ErrNotFound)
		d := telework.Day{UserID: "k1", Date: "2026-04-01", Place: api.PlaceHome, Start: subMS}
		must(t, tw.PutDay(t.Context(), d))
		d.End = at(480)
		must(t, tw.PutDay(t.Context(), d))
		must(t, tw.PutDay(t.Context(), telework.Day{UserID: "a0", Date: "2026-04-01", Place: api.PlaceOther}))
		must(t, tw.PutDay(t.Context(), telework.Day{UserID: "a0", Date: "2026-04-02"}))
		got, err := tw.Day(t.Context(), "k1", "2026-04-01")
		must(t, err)
		want := d
		want.Start = trunc(subMS)
		same(t, "day", got, want)
		ds, err := tw.Days(t.Context(), "2026-04-01", "2026-04-01")
		must(t, err)
		if len(ds) != 2 || ds[0].UserID != "a0" || ds[1].UserID != "k1" || !ds[1].Start.IsZero() && ds[1].Place != api.PlaceHome {
			t.Errorf("days = %+v", ds)
		}
	}},
	{"sessions are the slots' granted intervals, ended and live, that overlap the range, by start", func(t *testing.T, st services.Stores) {
		early := granted(newSlot("s1", "k1", 1), "pc-1", 10)
		apply(t, st, put(early), endOp(early, 70, api.EndUser))
		left := newSlot("s2", "k2", 2) // left the queue: never connected
		apply(t, st, put(left), endOp(left, 5, api.EndUser))
		live := granted(newSlot("s3", "k2", 3), "pc-2", 60)
		queued := newSlot("s4", "k3", 4)
		apply(t, st, put(live), put(queued))
		late := granted(newSlot("s5", "k1", 5), "pc-1", 200)
		apply(t, st, put(late), endOp(late, 260, api.EndIdle))
		got, err := st.Telework().Sessions(t.Context(), at(30), at(100))
		must(t, err)
		same(t, "sessions", got, []telework.Session{{UserID: "k1", Start: at(10), End: at(70)}, {UserID: "k2", Start: at(60)}})
		got, err = st.Telework().Sessions(t.Context(), at(70), at(300))
		must(t, err)
		same(t, "after the first ended", got, []telework.Session{{UserID: "k2", Start: at(60)}, {UserID: "k1", Start: at(200), End: at(260)}})
	}},
}
