package report

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestReplayHandComputed: cap 2, times in minutes from 09:00.
//
//	A at 0 for 60, B at 10 for 30: granted at once (A until 60, B until 40).
//	C at 20 for 30: both slots busy; B frees one at 40 → waits 20, ends 70.
//	D at 25 for 10: behind C; A frees one at 60 → waits 35, ends 70.
//	E at 100 for 10: free → no wait.
//
// Two queued, 55 minutes in all, 35 at most; C and D wait together from
// 25 to 40, so the queue peaks at 2.
func TestReplayHandComputed(t *testing.T) {
	t0 := time.Date(2027, 4, 1, 9, 0, 0, 0, JST)
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	min := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	d := []Demand{{m(0), min(60)}, {m(10), min(30)}, {m(20), min(30)}, {m(25), min(10)}, {m(100), min(10)}}
	r := Replay(d, 2)
	want := []time.Duration{0, 0, min(20), min(35), 0}
	for i := range want {
		if r.Waits[i] != want[i] {
			t.Errorf("wait of request %d = %v, want %v", i, r.Waits[i], want[i])
		}
	}
	if r.PeakQueue != 2 || r.PeakConcurrent != 2 {
		t.Errorf("peak queue %d, concurrent %d; want 2 and 2", r.PeakQueue, r.PeakConcurrent)
	}
	// The same through WhatIf, from sessions as the store records them
	// (recorded under a cap of 5: nobody waited).
	var ss []Session
	for i, dm := range d {
		ss = append(ss, Session{UserID: string(rune('a' + i)), Department: "総務課", Requested: dm.At, Granted: dm.At, Ended: dm.At.Add(dm.Length)})
	}
	ss = append(ss, Session{UserID: "f", Department: "総務課", Requested: m(30), Ended: m(32)}) // gave up
	q := Query{Period: api.PeriodDay, From: dayStart(t0), To: dayStart(t0).AddDate(0, 0, 1)}
	rep := WhatIf(ss, q, 2, m(200))
	if rep.Replayed != 5 || rep.Queued != 2 || rep.WaitTotalSeconds != 55*60 || rep.WaitMaxSeconds != 35*60 ||
		rep.WaitMeanSeconds != 27.5*60 || rep.PeakQueue != 2 || rep.NotReplayed != 1 || rep.Recorded.Queued != 0 {
		t.Errorf("what-if = %+v", rep)
	}
	if len(rep.Days) != 1 || rep.Days[0].Label != "2027-04-01" || rep.Days[0].Queued != 2 {
		t.Errorf("days = %+v", rep.Days)
	}
	// Under a cap of 1 by hand: A 0-60; B waits 50 (60-90); C 90 (waits
	// 70) to 120; D 120 (waits 95) to 130; E at 130 (waits 30).
	r1 := Replay(d, 1)
	for i, w := range []time.Duration{0, min(50), min(70), min(95), min(30)} {
		if r1.Waits[i] != w {
			t.Errorf("cap 1: wait of request %d = %v, want %v", i, r1.Waits[i], w)
		}
	}
}

// month is a month of generated activity: 60 people in three
// departments, sessions at whole minutes (some over midnight), some
// queued, some given up in the queue.
func month(t *testing.T) ([]Session, time.Time, time.Time) {
	from := time.Date(2027, 4, 1, 0, 0, 0, 0, JST)
	to := from.AddDate(0, 1, 0)
	rng := rand.New(rand.NewPCG(16, 2027))
	depts := []string{"総務課", "税務課", "福祉課"}
	var ss []Session
	for day := 0; day < 30; day++ {
		for p := 0; p < 60; p++ {
			for k := rng.IntN(3); k > 0; k-- {
				start := from.AddDate(0, 0, day).Add(time.Duration(7*60+rng.IntN(17*60)) * time.Minute)
				s := Session{UserID: "u" + string(rune('A'+p)), Department: depts[p%3], Requested: start}
				wait := 0
				if rng.IntN(4) == 0 {
					wait = 1 + rng.IntN(40)
				}
				if rng.IntN(10) == 0 {
					s.Ended = start.Add(time.Duration(wait+1) * time.Minute) // gave up
				} else {
					s.Granted = start.Add(time.Duration(wait) * time.Minute)
					s.Ended = s.Granted.Add(time.Duration(5+rng.IntN(400)) * time.Minute)
				}
				if s.Requested.Before(to) {
					ss = append(ss, s)
				}
			}
		}
	}
	// Report order is the store's: by request time.
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].Requested.Before(ss[j-1].Requested); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
	if len(ss) < 1000 {
		t.Fatalf("only %d sessions generated", len(ss))
	}
	return ss, from, to
}

// expected is one row as the test computes it: minute by minute.
type expected struct {
	peak, minutes, requests, sessions, queued, gaveUp int
	wait, waitMax, gaveUpWait                         int64
	people                                            map[string]bool
}

// TestUsageMonth checks the day, week and month reports of a generated
// month against totals counted minute by minute, with no shared code.
func TestUsageMonth(t *testing.T) {
	ss, from, to := month(t)
	days := int(to.Sub(from).Hours() / 24)
	// conc[dept][minute of the month]: sessions connected in that minute.
	conc := map[string][]int{}
	byDay := map[[2]string]*expected{}
	get := func(label, dept string) *expected {
		e := byDay[[2]string{label, dept}]
		if e == nil {
			e = &expected{people: map[string]bool{}}
			byDay[[2]string{label, dept}] = e
		}
		return e
	}
	for _, s := range ss {
		for _, d := range []string{"", s.Department} {
			if conc[d] == nil {
				conc[d] = make([]int, days*1440)
			}
			e := get(s.Requested.In(JST).Format("2006-01-02"), d)
			e.requests++
			if s.Granted.IsZero() {
				e.gaveUp++
				e.gaveUpWait += int64(s.Ended.Sub(s.Requested).Seconds())
				continue
			}
			e.sessions++
			e.people[s.UserID] = true
			if w := int64(s.Granted.Sub(s.Requested).Seconds()); w > 0 {
				e.queued++
				e.wait += w
				e.waitMax = max(e.waitMax, w)
			}
			for m := int(s.Granted.Sub(from).Minutes()); m < int(s.Ended.Sub(from).Minutes()) && m < days*1440; m++ {
				conc[d][m]++
			}
		}
	}
	for key, e := range byDay {
		day, _ := time.ParseInLocation("2006-01-02", key[0], JST)
		base := int(day.Sub(from).Minutes())
		for m := base; m < base+1440; m++ {
			e.peak = max(e.peak, conc[key[1]][m])
			if conc[key[1]][m] > 0 {
				e.minutes += conc[key[1]][m]
			}
		}
	}
	// Days with connections but no request of their own (after midnight).
	for d, c := range conc {
		for day := 0; day < days; day++ {
			label := from.AddDate(0, 0, day).Format("2006-01-02")
			if byDay[[2]string{label, d}] != nil {
				continue
			}
			e := &expected{people: map[string]bool{}}
			for m := day * 1440; m < (day+1)*1440; m++ {
				e.peak = max(e.peak, c[m])
				e.minutes += c[m]
			}
			if e.minutes > 0 {
				byDay[[2]string{label, d}] = e
			}
		}
	}

	check := func(period string, group func(label string) string) {
		t.Helper()
		q := Query{Period: period, From: from, To: to}
		rows := Usage(ss, q, to)
		want := map[[2]string]*expected{}
		for key, e := range byDay {
			day, _ := time.ParseInLocation("2006-01-02", key[0], JST)
			g := [2]string{group(key[0]), key[1]}
			w := want[g]
			if w == nil {
				w = &expected{people: map[string]bool{}}
				want[g] = w
			}
			_ = day
			w.peak = max(w.peak, e.peak) // an instant belongs to one day
			w.minutes += e.minutes
			w.requests += e.requests
			w.sessions += e.sessions
			w.queued += e.queued
			w.gaveUp += e.gaveUp
			w.wait += e.wait
			w.waitMax = max(w.waitMax, e.waitMax)
			w.gaveUpWait += e.gaveUpWait
			for p := range e.people {
				w.people[p] = true
			}
		}
		if len(rows) != len(want) {
			t.Errorf("%s: %d rows, want %d", period, len(rows), len(want))
		}
		var totalSec int64
		for _, r := range rows {
			w := want[[2]string{r.Label, r.Department}]
			if w == nil {
				t.Errorf("%s: unexpected row %s %q", period, r.Label, r.Department)
				continue
			}
			got := []int64{int64(r.PeakConcurrent), r.SecondsConnected, int64(r.Requests), int64(r.Sessions), int64(r.People),
				int64(r.Queued), r.WaitTotalSeconds, r.WaitMaxSeconds, int64(r.GaveUp), r.GaveUpWaitSeconds}
			exp := []int64{int64(w.peak), int64(w.minutes) * 60, int64(w.requests), int64(w.sessions), int64(len(w.people)),
				int64(w.queued), w.wait, w.waitMax, int64(w.gaveUp), w.gaveUpWait}
			for i := range got {
				if got[i] != exp[i] {
					t.Errorf("%s %s %q: field %d = %d, want %d (peak, seconds, requests, sessions, people, queued, wait, max wait, gave up, gave-up wait)",
						period, r.Label, r.Department, i, got[i], exp[i])
				}
			}
			if r.People > 0 && r.SessionsPerPerson != float64(r.Sessions)/float64(r.People) {
				t.Errorf("%s %s: sessions per person %v", period, r.Label, r.SessionsPerPerson)
			}
			if r.Department == "" {
				totalSec += r.SecondsConnected
			}
		}
		t.Logf("%s: %d rows, %.1f hours connected in all", period, len(rows), float64(totalSec)/3600)
	}
	// One department's report is that department's rows of the whole.
	all := Usage(ss, Query{Period: api.PeriodWeek, From: from, To: to}, to)
	one := Usage(ss, Query{Period: api.PeriodWeek, From: from, To: to, Department: "税務課"}, to)
	var want []api.UsageRow
	for _, r := range all {
		if r.Department == "税務課" {
			want = append(want, r)
		}
	}
	if len(one) == 0 || len(one) != len(want) {
		t.Fatalf("税務課 alone: %d rows, want %d", len(one), len(want))
	}
	for i := range want {
		if one[i] != want[i] {
			t.Errorf("税務課 alone, row %d = %+v, want %+v", i, one[i], want[i])
		}
	}
	w1 := WhatIf(ss, Query{From: from, To: to, Department: "税務課"}, 3, to)
	if w1.Replayed == 0 || w1.Replayed >= WhatIf(ss, Query{From: from, To: to}, 3, to).Replayed {
		t.Errorf("what-if of one department replayed %d", w1.Replayed)
	}
	check(api.PeriodDay, func(l string) string { return l })
	check(api.PeriodMonth, func(l string) string { return l[:7] })
	check(api.PeriodWeek, func(l string) string {
		d, _ := time.ParseInLocation("2006-01-02", l, JST)
		y, w := d.ISOWeek()
		return time.Date(y, 1, 1, 0, 0, 0, 0, JST).Format("2006") + "-W" + twoDigits(w)
	})
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

func TestUsageCSV(t *testing.T) {
	ss, from, to := month(t)
	rep := api.UsageReport{Period: api.PeriodMonth, Rows: Usage(ss, Query{Period: api.PeriodMonth, From: from, To: to}, to)}
	rep.Rows = append(rep.Rows, api.UsageRow{Label: "2027-05", Department: "=HYPERLINK(\"x\")", Start: to})
	var b bytes.Buffer
	n, err := WriteUsageCSV(&b, rep)
	if err != nil || n != len(rep.Rows) {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	if !strings.HasPrefix(b.String(), "\ufeff期間,開始日,所属,最大同時接続数") || !strings.Contains(b.String(), "\r\n") {
		t.Fatalf("CSV head: %q", b.String()[:80])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[1][2] != AllDepartments || recs[len(recs)-1][2] != "'=HYPERLINK(\"x\")" {
		t.Errorf("departments: %q, last %q", recs[1][2], recs[len(recs)-1][2])
	}
}

func TestParseQuery(t *testing.T) {
	now := time.Date(2027, 4, 15, 3, 0, 0, 0, time.UTC)
	q, err := ParseQuery("", "", "", "", now)
	if err != nil || q.To != time.Date(2027, 4, 16, 0, 0, 0, 0, JST) || q.From != q.To.AddDate(0, 0, -30) {
		t.Errorf("defaults: %+v %v", q, err)
	}
	for _, bad := range [][3]string{{"year", "", ""}, {"day", "2027-05-01", "2027-04-01"}, {"day", "2026-01-01", "2027-04-01"}, {"day", "April", ""}} {
		if _, err := ParseQuery(bad[0], bad[1], bad[2], "", now); api.AsError(err) == nil || api.AsError(err).Code != api.CodeValidation {
			t.Errorf("ParseQuery%v = %v, want a validation error", bad, err)
		}
	}
}

// TestReplayAgainstNaive: the heap replay agrees with a plain
// simulation (count who is connected at the candidate time, move to the
// next end while the cap is full) on random demand.
func TestReplayAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	t0 := time.Date(2027, 4, 1, 8, 0, 0, 0, JST)
	for round := 0; round < 50; round++ {
		var d []Demand
		at := t0
		for i := 0; i < 200; i++ {
			at = at.Add(time.Duration(rng.IntN(6)) * time.Minute) // often together
			d = append(d, Demand{At: at, Length: time.Duration(1+rng.IntN(120)) * time.Minute})
		}
		capN := 1 + rng.IntN(12)
		got := Replay(d, capN)
		var grants, ends []time.Time
		for i, r := range d {
			g := r.At
			if i > 0 && g.Before(grants[i-1]) {
				g = grants[i-1]
			}
			for {
				busy := 0
				var next time.Time
				for j := range grants {
					if !grants[j].After(g) && ends[j].After(g) {
						busy++
						if next.IsZero() || ends[j].Before(next) {
							next = ends[j]
						}
					}
				}
				if busy < capN {
					break
				}
				g = next
			}
			grants, ends = append(grants, g), append(ends, g.Add(r.Length))
			if w := g.Sub(r.At); got.Waits[i] != w {
				t.Fatalf("round %d (cap %d), request %d: wait %v, the plain simulation %v", round, capN, i, got.Waits[i], w)
			}
		}
	}
}
