package report

import (
	"sort"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Demand is one granted request as recorded: when it was asked for and
// how long its session lasted once granted.
type Demand struct {
	At     time.Time
	Length time.Duration
}

// Replayed is what a cap would have made of the demand.
type Replayed struct {
	Waits          []time.Duration // per request, in the demand's order
	PeakQueue      int
	PeakConcurrent int
}

// Replay plays the demand (in request order) against capN as the broker
// queues: first come, first served, a request granted as soon as a slot
// is free and everyone before it was granted; a slot freed at t serves a
// request at t. Each session keeps its recorded length: people do not
// work longer because they waited (the replay's one assumption).
func Replay(d []Demand, capN int) Replayed {
	out := Replayed{Waits: make([]time.Duration, len(d))}
	if capN < 1 {
		capN = 1
	}
	var ends endHeap // when each busy slot frees, Unix nanoseconds
	var last int64
	queued, conn := make([]interval, 0, len(d)/4), make([]interval, 0, len(d))
	for i, r := range d {
		at := r.At.UnixNano()
		g := max(at, last) // first come, first served
		for len(ends) > 0 && ends[0] <= g {
			ends.pop()
		}
		if len(ends) >= capN {
			g = max(g, ends.pop())
		}
		end := g + int64(r.Length)
		ends.push(end)
		last = g
		out.Waits[i] = time.Duration(g - at)
		if g > at {
			queued = append(queued, interval{at, g})
		}
		conn = append(conn, interval{g, end})
	}
	out.PeakQueue, _ = peak(queued)
	out.PeakConcurrent, _ = peak(conn)
	return out
}

// endHeap is a min-heap of slot end times (no interface boxing: a
// year's replay pushes half a million).
type endHeap []int64

func (h *endHeap) push(v int64) {
	*h = append(*h, v)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p] <= a[i] {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *endHeap) pop() int64 {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && a[l] < a[m] {
			m = l
		}
		if l+1 < n && a[l+1] < a[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// WhatIf replays the granted requests asked for in [q.From, q.To) against
// capN and sums the outcome per day (JST) of the request. A session still
// live counts with its length so far.
func WhatIf(ss []Session, q Query, capN int, now time.Time) api.WhatIfReport {
	rep := api.WhatIfReport{Cap: capN, From: q.From, To: q.To, Days: []api.WhatIfDay{}}
	var d []Demand
	var kept []Session
	for _, s := range ss {
		if s.Requested.Before(q.From) || !s.Requested.Before(q.To) || (q.Department != "" && s.Department != q.Department) {
			continue
		}
		if s.Granted.IsZero() {
			if !s.Ended.IsZero() {
				rep.NotReplayed++
			}
			continue
		}
		end := s.Ended
		if end.IsZero() {
			end = now
		}
		d = append(d, Demand{At: s.Requested, Length: end.Sub(s.Granted)})
		kept = append(kept, s)
	}
	// Stable: requests asked for at the same instant keep the store's order.
	idx := make([]int, len(d))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return d[idx[a]].At.Before(d[idx[b]].At) })
	sorted := make([]Demand, len(d))
	for i, j := range idx {
		sorted[i] = d[j]
	}
	r := Replay(sorted, capN)
	rep.Replayed, rep.PeakQueue, rep.PeakConcurrent = len(sorted), r.PeakQueue, r.PeakConcurrent
	// sorted is in request order, so each day's requests are together.
	var day *api.WhatIfDay
	var dayEnd time.Time
	for i, dm := range sorted {
		if day == nil || !dm.At.Before(dayEnd) {
			if day != nil {
				finish(day)
				rep.Days = append(rep.Days, *day)
			}
			start := dayStart(dm.At)
			day, dayEnd = &api.WhatIfDay{Label: start.Format(time.DateOnly)}, start.AddDate(0, 0, 1)
		}
		day.Requests++
		rec := kept[idx[i]].Granted.Sub(kept[idx[i]].Requested)
		addWait(&rep.Recorded, rec)
		if w := r.Waits[i]; w > 0 {
			addWait(day, w)
			rep.Queued++
			ws := int64(w / time.Second)
			rep.WaitTotalSeconds += ws
			rep.WaitMaxSeconds = max(rep.WaitMaxSeconds, ws)
		}
	}
	rep.Recorded.Label, rep.Recorded.Requests = "recorded", len(sorted)
	if rep.Queued > 0 {
		rep.WaitMeanSeconds = float64(rep.WaitTotalSeconds) / float64(rep.Queued)
	}
	if day != nil {
		finish(day)
		rep.Days = append(rep.Days, *day)
	}
	finish(&rep.Recorded)
	return rep
}

func addWait(d *api.WhatIfDay, w time.Duration) {
	if w <= 0 {
		return
	}
	ws := int64(w / time.Second)
	d.Queued++
	d.WaitTotalSeconds += ws
	d.WaitMaxSeconds = max(d.WaitMaxSeconds, ws)
}

func finish(d *api.WhatIfDay) {
	if d.Queued > 0 {
		d.WaitMeanSeconds = float64(d.WaitTotalSeconds) / float64(d.Queued)
	}
}
