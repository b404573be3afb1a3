package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/services"
)

func ev(user string, seq int64, minute int) events.Stored {
	return events.Stored{UserID: user, Event: api.Event{Seq: seq, Type: api.EventGranted, At: at(minute),
		Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq))}}
}

func eventsAfter(t *testing.T, st services.Stores, user string, after int64, limit int) []api.Event {
	t.Helper()
	evs, err := st.Events().EventsAfter(t.Context(), user, after, limit)
	must(t, err)
	return evs
}

func seqs(evs []api.Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func wantSeqs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: seqs %v, want %v", what, got, want)
	}
}

func wantEventSeqs(t *testing.T, st services.Stores, want map[string]int64) {
	t.Helper()
	got, err := st.Events().EventSeqs(t.Context())
	must(t, err)
	if got == nil {
		t.Fatal("EventSeqs returned a nil map: the hub counts in it")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("EventSeqs = %v, want %v", got, want)
	}
}

var eventBehaviours = []behaviour{
	{"events after a sequence come in order, up to limit, of that user only", func(t *testing.T, st services.Stores) {
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{
			ev("k1", 1, 0), ev("k2", 1, 0), ev("k1", 2, 1), ev("k1", 3, 1), ev("k2", 2, 2), ev("k1", 4, 2),
		}))
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 5, 3)}))
		wantSeqs(t, "k1 from the start", seqs(eventsAfter(t, st, "k1", 0, 100)), []int64{1, 2, 3, 4, 5})
		wantSeqs(t, "k1 after 2, limit 2", seqs(eventsAfter(t, st, "k1", 2, 2)), []int64{3, 4})
		wantSeqs(t, "k1 after the last", seqs(eventsAfter(t, st, "k1", 5, 100)), nil)
		wantSeqs(t, "k2", seqs(eventsAfter(t, st, "k2", 0, 100)), []int64{1, 2})
		wantSeqs(t, "nobody", seqs(eventsAfter(t, st, "k3", 0, 100)), nil)
		var paged []int64
		for after := int64(0); ; {
			page := eventsAfter(t, st, "k1", after, 2)
			paged = append(paged, seqs(page)...)
			if len(page) < 2 || len(paged) > 10 {
				break
			}
			after = page[len(page)-1].Seq
		}
		wantSeqs(t, "k1 paged by 2", paged, []int64{1, 2, 3, 4, 5})
	}},
	{"event seqs start empty and hold each user's last sequence", func(t *testing.T, st services.Stores) {
		wantEventSeqs(t, st, map[string]int64{})
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 1, 0), ev("k1", 2, 0), ev("k2", 1, 0), ev("k1", 3, 0)}))
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 4, 1)}))
		wantEventSeqs(t, st, map[string]int64{"k1": 4, "k2": 1})
	}},
	{"purge deletes events before the cutoff and keeps the counters", func(t *testing.T, st services.Stores) {
		// Sequence numbers must never go back, even with nothing left to resume.
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 1, 0), ev("k1", 2, 1), ev("k1", 3, 2), ev("k2", 1, 0)}))
		n, err := st.Events().PurgeEvents(t.Context(), at(1))
		must(t, err)
		if n != 2 {
			t.Errorf("purged %d, want 2", n)
		}
		wantSeqs(t, "k1", seqs(eventsAfter(t, st, "k1", 0, 100)), []int64{2, 3})
		wantSeqs(t, "k2", seqs(eventsAfter(t, st, "k2", 0, 100)), nil)
		wantEventSeqs(t, st, map[string]int64{"k1": 3, "k2": 1})
	}},
	{"a batch is numbered after each user's counter, in order, and the numbers are written back", func(t *testing.T, st services.Stores) {
		// Several brokers publish to one user: the counter is the
		// database's, whatever numbers a hub guessed.
		must(t, st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 1, 0)}))
		in := []events.Stored{ev("k2", 7, 1), ev("k1", 1, 1), ev("k1", 1, 2)}
		must(t, st.Events().AppendEvents(t.Context(), in))
		wantSeqs(t, "written back", []int64{in[0].Seq, in[1].Seq, in[2].Seq}, []int64{1, 2, 3})
		got := eventsAfter(t, st, "k1", 0, 100)
		wantSeqs(t, "k1", seqs(got), []int64{1, 2, 3})
		if len(got) == 3 && (string(got[1].Data) != `{"n":1}` || !got[2].At.Equal(at(2))) {
			t.Errorf("k1's events out of order: %+v", got)
		}
		wantSeqs(t, "k2", seqs(eventsAfter(t, st, "k2", 0, 100)), []int64{1})
		wantEventSeqs(t, st, map[string]int64{"k1": 3, "k2": 1})
	}},
	{"concurrent batches for one user never share a number", func(t *testing.T, st services.Stores) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for range 10 {
					if err := st.Events().AppendEvents(t.Context(), []events.Stored{ev("k1", 1, 0), ev("k2", 1, 0), ev("k1", 2, 0)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		want := make([]int64, 160)
		for i := range want {
			want[i] = int64(i + 1)
		}
		wantSeqs(t, "k1", seqs(eventsAfter(t, st, "k1", 0, 1000)), want)
		wantEventSeqs(t, st, map[string]int64{"k1": 160, "k2": 80})
	}},
	{"event type, data and time round-trip; empty data stays empty", func(t *testing.T, st services.Stores) {
		in := []events.Stored{
			{UserID: "k1", Event: api.Event{Seq: 1, Type: api.EventWake, At: subMS, Data: json.RawMessage(`{"stage":"waking","課":"税務課"}`)}},
			{UserID: "k1", Event: api.Event{Seq: 2, Type: "notice", At: at(1)}},
		}
		must(t, st.Events().AppendEvents(t.Context(), in))
		got := eventsAfter(t, st, "k1", 0, 100)
		want := []api.Event{in[0].Event, in[1].Event}
		want[0].At = trunc(subMS)
		same(t, "events", got, want)
	}},
}
