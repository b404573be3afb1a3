package report

import (
	"container/heap"
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
	ends := &timeHeap{}
	var last time.Time
	var queued, conn []interval
	for i, r := range d {
		g := r.At
		if g.Before(last) {
			g = last // first come, first served
		}
		for ends.Len() > 0 && !(*ends)[0].After(g) {
			heap.Pop(ends)
		}
		if ends.Len() >= capN {
			if e := heap.Pop(ends).(time.Time); e.After(g) {
				g = e
			}
		}
		heap.Push(ends, g.Add(r.Length))
		last = g
		out.Waits[i] = g.Sub(r.At)
		if g.After(r.At) {
			queued = append(queued, interval{r.At, g})
		}
		conn = append(conn, interval{g, g.Add(r.Length)})
	}
	out.PeakQueue, _ = peak(queued)
	out.PeakConcurrent, _ = peak(conn)
	return out
}

type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
	days := map[string]*api.WhatIfDay{}
	var order []string
	for i, dm := range sorted {
		label := dayStart(dm.At).Format(time.DateOnly)
		day := days[label]
		if day == nil {
			day = &api.WhatIfDay{Label: label}
			days[label] = day
			order = append(order, label)
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
	finish(&rep.Recorded)
	for _, l := range order {
		finish(days[l])
		rep.Days = append(rep.Days, *days[l])
	}
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
