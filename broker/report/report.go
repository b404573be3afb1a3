// Package report turns the recorded slot requests (slot_history and the
// live slots) into the usage reports IT brings to the budget meeting: per
// day, week or month and per department, the peak concurrency, hours
// connected, requests that queued and how long they waited, sessions per
// person; and "what if the cap were N", a replay of the recorded demand
// against another cap. It reads, never writes, and holds nothing.
package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Session is one recorded slot request.
type Session struct {
	UserID     string
	Department string    // the user's department now (the roster's)
	Requested  time.Time // when the app asked for a slot
	Granted    time.Time // zero: never granted (left the queue, or still waiting)
	Ended      time.Time // zero: still live (connected or waiting)
}

// Store is what reports need from the database.
type Store interface {
	// Sessions returns the slot requests, ended or live, that were asked
	// for before to and had not ended before from, ordered by request
	// time (ties in an order that does not change between calls).
	Sessions(ctx context.Context, from, to time.Time) ([]Session, error)
}

// JST is the zone days, weeks and months are counted in.
var JST = time.FixedZone("JST", 9*3600)

// MaxDays bounds a report's range: a fiscal year and a little more.
const MaxDays = 400

// Query is what a report covers.
type Query struct {
	Period     string // api.PeriodDay, PeriodWeek, PeriodMonth
	From, To   time.Time
	Department string // "" for every department
}

// ParseQuery reads a report's parameters as the API and the CLI take
// them: from and to as 2027-04-01 (JST) or RFC 3339, to exclusive. Empty
// to is the start of tomorrow (JST); empty from is 30 days before to for
// days, 12 weeks for weeks, 12 months for months.
func ParseQuery(period, from, to, department string, now time.Time) (Query, error) {
	q := Query{Period: period, Department: strings.TrimSpace(department)}
	if q.Period == "" {
		q.Period = api.PeriodDay
	}
	switch q.Period {
	case api.PeriodDay, api.PeriodWeek, api.PeriodMonth:
	default:
		return q, api.Errf(api.CodeValidation, "period: day, week or month, not %q", period)
	}
	if e := api.CheckText("department", q.Department, 100); e != nil {
		return q, e
	}
	var err error
	if q.To, err = parseTime("to", to); err != nil {
		return q, err
	}
	if q.To.IsZero() {
		q.To = dayStart(now).AddDate(0, 0, 1)
	}
	if q.From, err = parseTime("from", from); err != nil {
		return q, err
	}
	if q.From.IsZero() {
		switch q.Period {
		case api.PeriodDay:
			q.From = q.To.AddDate(0, 0, -30)
		case api.PeriodWeek:
			q.From = periodStart(api.PeriodWeek, q.To.AddDate(0, 0, -7*12))
		default:
			q.From = periodStart(api.PeriodMonth, q.To.AddDate(0, -12, 0))
		}
	}
	if !q.From.Before(q.To) {
		return q, api.Errf(api.CodeValidation, "from must be before to (to is exclusive: from=2027-04-01&to=2027-05-01 is April)")
	}
	if q.To.Sub(q.From) > MaxDays*24*time.Hour {
		return q, api.Errf(api.CodeValidation, "at most %d days at once: ask for a shorter range", MaxDays)
	}
	return q, nil
}

func parseTime(name, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, JST); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, api.Errf(api.CodeValidation, "%s: use 2027-04-01 (JST) or 2027-04-01T09:00:00+09:00", name)
}

func dayStart(t time.Time) time.Time {
	t = t.In(JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, JST)
}

// periodStart is the first instant (JST) of the period holding t; weeks
// start on Monday, as ISO weeks do.
func periodStart(period string, t time.Time) time.Time {
	d := dayStart(t)
	switch period {
	case api.PeriodWeek:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		return d.AddDate(0, 0, -back)
	case api.PeriodMonth:
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, JST)
	}
	return d
}

func periodNext(period string, start time.Time) time.Time {
	switch period {
	case api.PeriodWeek:
		return start.AddDate(0, 0, 7)
	case api.PeriodMonth:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

func periodLabel(period string, start time.Time) string {
	switch period {
	case api.PeriodWeek:
		y, w := start.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case api.PeriodMonth:
		return start.Format("2006-01")
	}
	return start.Format(time.DateOnly)
}

// Service answers report queries from the store.
type Service struct {
	st  Store
	cap func() int
	now func() time.Time
}

// New builds the service; capNow reports the cap in force (for the
// report's header and the what-if default).
func New(st Store, capNow func() int, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, cap: capNow, now: now}
}

// Usage is the usage report for q.
func (s *Service) Usage(ctx context.Context, q Query) (api.UsageReport, error) {
	ss, err := s.st.Sessions(ctx, q.From, q.To)
	if err != nil {
		return api.UsageReport{}, fmt.Errorf("report: read sessions: %w", err)
	}
	return api.UsageReport{Period: q.Period, From: q.From, To: q.To, Department: q.Department, Cap: s.cap(),
		Rows: Usage(ss, q, s.now())}, nil
}

// WhatIf replays the demand of [q.From, q.To) (one department's, with
// q.Department) against capN.
func (s *Service) WhatIf(ctx context.Context, q Query, capN int) (api.WhatIfReport, error) {
	if capN < 1 || capN > 100000 {
		return api.WhatIfReport{}, api.Errf(api.CodeValidation, "cap: a number of sessions from 1 to 100000")
	}
	ss, err := s.st.Sessions(ctx, q.From, q.To)
	if err != nil {
		return api.WhatIfReport{}, fmt.Errorf("report: read sessions: %w", err)
	}
	return WhatIf(ss, q, capN, s.now()), nil
}

// interval is connected time [from, to), in Unix nanoseconds: a third
// of time.Time's size, and compared by one instruction.
type interval struct{ from, to int64 }

func span(from, to time.Time) interval { return interval{from.UnixNano(), to.UnixNano()} }

// acc gathers one period of one department.
type acc struct {
	row    api.UsageRow
	conn   []interval
	people map[string]bool
}

// Usage computes the report's rows from the sessions. A live session
// counts up to now; one still waiting counts as a request only.
func Usage(ss []Session, q Query, now time.Time) []api.UsageRow {
	var starts []time.Time
	for b := periodStart(q.Period, q.From); b.Before(q.To); b = periodNext(q.Period, b) {
		starts = append(starts, b)
	}
	find := func(t time.Time) int {
		if t.Before(q.From) || !t.Before(q.To) {
			return -1
		}
		return sort.Search(len(starts), func(i int) bool { return starts[i].After(t) }) - 1
	}
	type key struct {
		bucket int
		dept   string
	}
	accs := map[key]*acc{}
	get := func(b int, dept string) *acc {
		k := key{b, dept}
		a := accs[k]
		if a == nil {
			a = &acc{row: api.UsageRow{Start: starts[b], Label: periodLabel(q.Period, starts[b]), Department: dept},
				people: map[string]bool{}}
			accs[k] = a
		}
		return a
	}
	both := make([]string, 2)
	for _, s := range ss {
		both[1] = s.Department
		depts := both
		if q.Department != "" {
			if s.Department != q.Department {
				continue
			}
			depts = both[1:]
		}
		if b := find(s.Requested); b >= 0 {
			for _, d := range depts {
				a := get(b, d)
				a.row.Requests++
				switch {
				case !s.Granted.IsZero():
					a.row.Sessions++
					a.people[s.UserID] = true
					if w := s.Granted.Sub(s.Requested); w > 0 {
						a.row.Queued++
						ws := int64(w / time.Second)
						a.row.WaitTotalSeconds += ws
						a.row.WaitMaxSeconds = max(a.row.WaitMaxSeconds, ws)
					}
				case !s.Ended.IsZero():
					a.row.GaveUp++
					a.row.GaveUpWaitSeconds += int64(s.Ended.Sub(s.Requested) / time.Second)
				}
			}
		}
		if s.Granted.IsZero() {
			continue
		}
		end := s.Ended
		if end.IsZero() {
			end = now
		}
		from, to := maxTime(s.Granted, q.From), minTime(end, q.To)
		if !from.Before(to) {
			continue
		}
		for b := find(from); b >= 0 && b < len(starts) && starts[b].Before(to); b++ {
			bEnd := minTime(periodNext(q.Period, starts[b]), q.To)
			iv := span(maxTime(from, starts[b]), minTime(to, bEnd))
			if iv.from >= iv.to {
				continue
			}
			for _, d := range depts {
				a := get(b, d)
				a.conn = append(a.conn, iv)
			}
		}
	}
	out := make([]api.UsageRow, 0, len(accs))
	for _, a := range accs {
		r := a.row
		for _, iv := range a.conn {
			r.SecondsConnected += (iv.to - iv.from) / int64(time.Second)
		}
		r.HoursConnected = float64(r.SecondsConnected) / 3600
		r.PeakConcurrent, r.PeakAt = peak(a.conn)
		r.People = len(a.people)
		if r.People > 0 {
			r.SessionsPerPerson = float64(r.Sessions) / float64(r.People)
		}
		if r.Queued > 0 {
			r.WaitMeanSeconds = float64(r.WaitTotalSeconds) / float64(r.Queued)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Department < out[j].Department
	})
	return out
}

// peak is the most intervals open at once and the first instant it was
// reached; an interval ending at t is over before one starting at t.
func peak(ivs []interval) (int, time.Time) {
	type edge struct {
		at int64
		d  int
	}
	es := make([]edge, 0, 2*len(ivs))
	for _, iv := range ivs {
		es = append(es, edge{iv.from, 1}, edge{iv.to, -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d)
	})
	n, best := 0, 0
	var at int64
	for _, e := range es {
		n += e.d
		if n > best {
			best, at = n, e.at
		}
	}
	if best == 0 {
		return 0, time.Time{}
	}
	return best, time.Unix(0, at).UTC()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
