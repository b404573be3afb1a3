package telework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

var places = []string{api.PlaceHome, api.PlaceSatellite, api.PlaceOther}

// StartWork records the start of u's work today and where, and tells the
// section's approvers (the phone call it replaces). A second start keeps
// the first time and takes the new place.
func (s *Service) StartWork(ctx context.Context, u api.User, in api.TeleworkWorkStart) (api.WorkDay, error) {
	if !slices.Contains(places, in.Place) {
		return api.WorkDay{}, api.Err(api.CodeValidation, "place: home, satellite or other")
	}
	now := s.now()
	date := now.In(JST).Format(dateLayout)
	d, err := s.st.Day(ctx, u.ID, date)
	if errors.Is(err, ErrNotFound) {
		d, err = Day{UserID: u.ID, Date: date}, nil
	}
	if err != nil {
		return api.WorkDay{}, err
	}
	first := d.Start.IsZero()
	d.Place = in.Place
	if first {
		d.Start = now
	}
	if err := s.st.PutDay(ctx, d); err != nil {
		return api.WorkDay{}, err
	}
	s.record(ctx, u.ID, "telework.work_started", date, "place", in.Place)
	if first {
		s.tellApprovers(ctx, u, date+"-start", fmt.Sprintf("%s（%s）さんが業務を開始しました（%s、%s）",
			u.Name, u.ID, now.In(JST).Format("15:04"), placeLabel(in.Place)),
			api.TeleworkNotice{Kind: "work_start", UserID: u.ID, Place: in.Place, At: now})
	}
	return s.dayOf(ctx, u, date)
}

// EndWork records the end of u's work today and tells the approvers,
// with a flag when it is past the planned end.
func (s *Service) EndWork(ctx context.Context, u api.User) (api.WorkDay, error) {
	now := s.now()
	date := now.In(JST).Format(dateLayout)
	d, err := s.st.Day(ctx, u.ID, date)
	if errors.Is(err, ErrNotFound) {
		d, err = Day{UserID: u.ID, Date: date}, nil
	}
	if err != nil {
		return api.WorkDay{}, err
	}
	d.End = now
	if err := s.st.PutDay(ctx, d); err != nil {
		return api.WorkDay{}, err
	}
	s.record(ctx, u.ID, "telework.work_ended", date)
	wd, err := s.dayOf(ctx, u, date)
	if err != nil {
		return wd, err
	}
	text := fmt.Sprintf("%s（%s）さんが業務を終了しました（%s）", u.Name, u.ID, now.In(JST).Format("15:04"))
	kind := "work_end"
	if slices.Contains(wd.Flags, api.WorkFlagOvertime) {
		text += "【予定時間超過】"
		kind = "overtime"
	}
	s.tellApprovers(ctx, u, date+"-end-"+now.In(JST).Format("1504"), text, api.TeleworkNotice{Kind: kind, UserID: u.ID, At: now})
	return wd, nil
}

func (s *Service) tellApprovers(ctx context.Context, u api.User, key, text string, n api.TeleworkNotice) {
	ids, _, err := s.approvers(ctx, u.Department, s.today())
	if err != nil {
		s.log.Warn("telework: approvers", "department", u.Department, "err", err)
		return
	}
	for _, id := range ids {
		if id != u.ID {
			s.tell(ctx, id, u.ID+"-"+key, text, api.EventTeleworkWork, n)
		}
	}
}

func placeLabel(p string) string {
	return map[string]string{api.PlaceHome: "在宅", api.PlaceSatellite: "サテライトオフィス", api.PlaceOther: "その他"}[p]
}

// ---- computing days ----

// book is what a range of days is computed from, read once.
type book struct {
	cal      calendar
	policies map[string]api.TeleworkPolicy
	requests map[string][]api.TeleworkRequest // by user
	days     map[string]Day                   // by user + " " + date
	sessions map[string][]Session             // by user, by start
	now      time.Time
}

func (s *Service) readBook(ctx context.Context, from, to time.Time) (*book, error) {
	fd, td := from.Format(dateLayout), to.Format(dateLayout)
	b := &book{policies: map[string]api.TeleworkPolicy{}, requests: map[string][]api.TeleworkRequest{},
		days: map[string]Day{}, sessions: map[string][]Session{}, now: s.now()}
	var err error
	if b.cal, err = s.calendar(ctx, fd, td); err != nil {
		return nil, err
	}
	ps, err := s.st.Policies(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		b.policies[p.Department] = withDefaults(p)
	}
	rs, err := s.st.Requests(ctx, "", "", fd, td)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if inForce(r) {
			b.requests[r.UserID] = append(b.requests[r.UserID], r)
		}
	}
	ds, err := s.st.Days(ctx, fd, td)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		b.days[d.UserID+" "+d.Date] = d
	}
	ss, err := s.st.Sessions(ctx, from, to.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	for _, x := range ss {
		b.sessions[x.UserID] = append(b.sessions[x.UserID], x)
	}
	return b, nil
}

func (b *book) policy(dept string) api.TeleworkPolicy {
	if p, ok := b.policies[dept]; ok {
		return p
	}
	return withDefaults(api.TeleworkPolicy{Department: dept, Mode: api.TeleworkFree})
}

// day computes one person's record of one day (midnight JST).
func (b *book) day(u api.User, day time.Time) api.WorkDay {
	date := day.Format(dateLayout)
	pol := b.policy(u.Department)
	wd := api.WorkDay{Date: date, UserID: u.ID, UserName: u.Name, Department: u.Department}
	if !b.cal.dayOff(day) {
		for _, r := range b.requests[u.ID] {
			if covers(r, date) {
				wd.Planned, wd.Half = true, r.Half
				break
			}
		}
	}
	ps, pe := at(day, pol.WorkStart), at(day, pol.WorkEnd)
	switch wd.Half {
	case api.HalfMorning:
		pe = at(day, "12:00")
	case api.HalfAfternoon:
		ps = at(day, "13:00")
	}
	if wd.Planned {
		wd.PlannedStart, wd.PlannedEnd = ps.UTC(), pe.UTC()
	}
	// The day's connected intervals, clipped to the day and merged.
	next := day.AddDate(0, 0, 1)
	var iv [][2]time.Time
	open := false
	for _, x := range b.sessions[u.ID] {
		st, en := x.Start, x.End
		running := en.IsZero()
		if running {
			en = b.now
			// Still connected today (a session running past midnight
			// ended yesterday's record at midnight).
			open = open || (st.Before(next) && !b.now.Before(day) && b.now.Before(next))
		}
		st, en = later(st, day), earlier(en, next)
		// A session that has just begun counts: it is the day's start.
		if en.Before(st) || (en.Equal(st) && !running) {
			continue
		}
		if n := len(iv); n > 0 && !st.After(iv[n-1][1]) {
			iv[n-1][1] = later(iv[n-1][1], en)
			continue
		}
		iv = append(iv, [2]time.Time{st, en})
	}
	d, explicit := b.days[u.ID+" "+date]
	wd.Place = d.Place
	var start, end time.Time
	if len(iv) > 0 {
		start, end = iv[0][0], iv[len(iv)-1][1]
		for i := 1; i < len(iv); i++ {
			wd.BreakMinutes += int(iv[i][0].Sub(iv[i-1][1]) / time.Minute)
		}
	}
	if explicit && !d.Start.IsZero() && (start.IsZero() || d.Start.Before(start)) {
		start = d.Start
	}
	if explicit && !d.End.IsZero() && d.End.After(end) {
		end = d.End
	}
	wd.Connected = open
	if start.IsZero() {
		return wd
	}
	wd.Start = start.UTC()
	until := end
	switch {
	case open:
		wd.End = time.Time{}
		until = b.now
		wd.Flags = append(wd.Flags, api.WorkFlagNoEnd)
	case end.IsZero():
		wd.Flags = append(wd.Flags, api.WorkFlagNoEnd)
		until = start
	default:
		wd.End = end.UTC()
	}
	wd.WorkMinutes = max(int(until.Sub(start)/time.Minute)-wd.BreakMinutes, 0)
	if until.After(pe) {
		wd.Flags = append(wd.Flags, api.WorkFlagOvertime)
	}
	if pol.Mode != api.TeleworkFree && !wd.Planned {
		wd.Flags = append(wd.Flags, api.WorkFlagUnplanned)
	}
	return wd
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *Service) dayOf(ctx context.Context, u api.User, date string) (api.WorkDay, error) {
	day, err := ParseDate("date", date)
	if err != nil {
		return api.WorkDay{}, err
	}
	b, err := s.readBook(ctx, day, day)
	if err != nil {
		return api.WorkDay{}, err
	}
	return b.day(u, day), nil
}

// Today is the caller's day: policy, whether it is a day off, the record
// so far and their active requests.
func (s *Service) Today(ctx context.Context, u api.User) (api.TeleworkToday, error) {
	date := s.today()
	day, _ := ParseDate("date", date)
	pol, err := s.Policy(ctx, u.Department)
	if err != nil {
		return api.TeleworkToday{}, err
	}
	b, err := s.readBook(ctx, day, day)
	if err != nil {
		return api.TeleworkToday{}, err
	}
	out := api.TeleworkToday{Date: date, Policy: pol, DayOff: b.cal.dayOff(day), Day: b.day(u, day), Open: []api.TeleworkRequest{}}
	rs, err := s.st.Requests(ctx, u.ID, "", date, "")
	if err != nil {
		return out, err
	}
	for _, r := range rs {
		if active(r) {
			out.Open = append(out.Open, r)
		}
	}
	return out, nil
}

// Section is the supervisor's view of a section today: each member's
// plan and record, who is connected, and the requests waiting. Only an
// approver of the section sees it.
func (s *Service) Section(ctx context.Context, u api.User, dept string) (api.TeleworkSection, error) {
	if dept == "" {
		dept = u.Department
	}
	if _, err := s.mayDecide(ctx, u, dept); err != nil {
		return api.TeleworkSection{}, err
	}
	date := s.today()
	day, _ := ParseDate("date", date)
	b, err := s.readBook(ctx, day, day)
	if err != nil {
		return api.TeleworkSection{}, err
	}
	staff, err := s.dir.Department(ctx, dept)
	if err != nil {
		return api.TeleworkSection{}, err
	}
	out := api.TeleworkSection{Date: date, Department: dept, Staff: []api.WorkDay{}, Pending: []api.TeleworkRequest{}}
	for _, m := range staff {
		if m.Disabled || m.Department != dept {
			continue
		}
		wd := b.day(m, day)
		if s.live != nil {
			wd.Connected = s.live.Connected(m.ID)
		}
		out.Staff = append(out.Staff, wd)
	}
	p, err := s.Pending(ctx, u, dept)
	if err != nil {
		return out, err
	}
	out.Pending = p.Requests
	return out, nil
}

// Records computes every person's days in [from, to] (dates) that had
// telework planned or any work recorded, by date then staff ID.
func (s *Service) Records(ctx context.Context, q api.TeleworkExportQuery) ([]api.WorkDay, error) {
	from, err := ParseDate("from", q.From)
	if err != nil {
		return nil, err
	}
	to, err := ParseDate("to", q.To)
	if err != nil {
		return nil, err
	}
	if to.Before(from) || to.Sub(from) > 400*24*time.Hour {
		return nil, api.Err(api.CodeValidation, "to: on or after from, within 400 days")
	}
	var staff []api.User
	if q.Department != "" {
		staff, err = s.dir.Department(ctx, q.Department)
	} else {
		staff, err = s.dir.Everyone(ctx)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(staff, func(a, b api.User) int { return strings.Compare(a.ID, b.ID) })
	b, err := s.readBook(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var out []api.WorkDay
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		for _, u := range staff {
			if q.Department != "" && u.Department != q.Department {
				continue
			}
			if wd := b.day(u, day); wd.Planned || !wd.Start.IsZero() {
				out = append(out, wd)
			}
		}
	}
	return out, nil
}

// ExportColumns are the HR export's columns. The date is the working day
// in Japan whatever the zone of the times; start and end times are
// hours and minutes in the export's zone (JST unless UTC is asked for).
var ExportColumns = []csvexport.Column{
	{JA: "日付", EN: "Date"}, {JA: "職員番号", EN: "Staff ID"}, {JA: "氏名", EN: "Name"}, {JA: "所属", EN: "Department"},
	{JA: "区分", EN: "Plan"}, {JA: "予定開始", EN: "Planned start"}, {JA: "予定終了", EN: "Planned end"},
	{JA: "実績開始", EN: "Start"}, {JA: "実績終了", EN: "End"}, {JA: "休憩（分）", EN: "Break (min)"},
	{JA: "勤務時間（分）", EN: "Worked (min)"}, {JA: "勤務時間", EN: "Worked"}, {JA: "勤務場所", EN: "Place"}, {JA: "フラグ", EN: "Flags"},
}

// ExportHeader is the HR export's header row in Japanese (the default).
var ExportHeader = func() []string {
	h := make([]string, len(ExportColumns))
	for i, c := range ExportColumns {
		h[i] = c.JA
	}
	return h
}()

// Export writes HR's CSV (csvexport: UTF-8 with a BOM, for Excel;
// Japanese headers and words and JST times unless o asks for English or
// UTC; cells that could start a formula prefixed with '), per person per
// day, and records who exported what.
func (s *Service) Export(ctx context.Context, actor string, q api.TeleworkExportQuery, o csvexport.Options, w io.Writer) (int, error) {
	rows, err := s.Records(ctx, q)
	if err != nil {
		return 0, err
	}
	cw, err := csvexport.New(w, o, ExportColumns)
	if err != nil {
		return 0, err
	}
	o = cw.Options()
	hm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(o.Zone).Format("15:04")
	}
	for _, d := range rows {
		kind := "—"
		if d.Planned {
			kind = map[string]string{"": o.Label("終日", "full day"), api.HalfMorning: o.Label("午前", "morning"),
				api.HalfAfternoon: o.Label("午後", "afternoon")}[d.Half]
		}
		place := placeLabel(d.Place)
		if o.English {
			place = d.Place
		}
		if place == "" && !d.Start.IsZero() {
			place = o.Label("未選択", "not chosen")
		}
		var flags []string
		for _, f := range d.Flags {
			if o.English {
				flags = append(flags, f)
				continue
			}
			flags = append(flags, map[string]string{api.WorkFlagOvertime: "予定超過", api.WorkFlagUnplanned: "承認なし",
				api.WorkFlagNoEnd: "終了未記録"}[f])
		}
		sep := "・"
		if o.English {
			sep = ", "
		}
		if err := cw.Write([]string{d.Date, d.UserID, d.UserName, d.Department, kind, hm(d.PlannedStart), hm(d.PlannedEnd),
			hm(d.Start), hm(d.End), strconv.Itoa(d.BreakMinutes), strconv.Itoa(d.WorkMinutes),
			fmt.Sprintf("%d:%02d", d.WorkMinutes/60, d.WorkMinutes%60), place, strings.Join(flags, sep)}); err != nil {
			return 0, err
		}
	}
	if err := cw.Flush(); err != nil {
		return 0, err
	}
	s.record(ctx, actor, "admin.telework_exported", q.Department, "from", q.From, "to", q.To, "rows", strconv.Itoa(len(rows)), "csv", o.String())
	return len(rows), nil
}
