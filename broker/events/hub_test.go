package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/store/sqlite"
)

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, nil, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestHubResumesAcrossRestartAndPurge(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "z.db")
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	st := openStore(t, path)
	h, err := events.New(ctx, st.Events(), nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.Publish("yamada", "test", map[string]int{"i": i})
	}
	h.Publish("sato", "test", nil)
	h.Close() // a clean stop stores what is pending
	st.Close()

	// After a restart, numbering goes on and the backlog is there.
	st = openStore(t, path)
	defer st.Close()
	now = now.Add(25 * time.Hour)
	h, err = events.New(ctx, st.Events(), nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := h.LastSeq("yamada"); got != 3 {
		t.Fatalf("last seq after restart: %d, want 3", got)
	}
	h.Publish("yamada", "test", nil)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		after int64
		want  string
	}{
		{"all", 0, "[1 2 3 4]"},
		{"resume", 2, "[3 4]"},
		{"up to date", 4, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := h.Backlog(ctx, "yamada", tc.after, 100)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, e := range evs {
				seqs = append(seqs, e.Seq)
			}
			if got := fmt.Sprint(seqs); got != tc.want && !(tc.want == "[]" && len(seqs) == 0) {
				t.Errorf("seqs %s, want %s", got, tc.want)
			}
		})
	}
	// Purging old events never resets the counter.
	n, err := h.Purge(ctx)
	if err != nil || n != 4 {
		t.Fatalf("purged %d (%v), want the 4 events older than a day", n, err)
	}
	h.Publish("yamada", "test", nil)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := h.Backlog(ctx, "yamada", 0, 100)
	if len(evs) != 2 || evs[0].Seq != 4 || evs[1].Seq != 5 {
		t.Errorf("after purge: %+v", evs)
	}
}

func TestSlowSubscriberIsCutNotBlocking(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "z.db"))
	defer st.Close()
	h, err := events.New(ctx, st.Events(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	sub := h.Subscribe("yamada")
	defer h.Unsubscribe(sub)
	for range 2000 { // nobody reads sub.C
		h.Publish("yamada", "test", nil)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Lost():
	default:
		t.Fatal("a subscriber 2000 events behind was not cut")
	}
	// Everything is stored for its reconnect.
	evs, err := h.Backlog(ctx, "yamada", 0, 5000)
	if err != nil || len(evs) != 2000 {
		t.Errorf("backlog %d, %v", len(evs), err)
	}
}

func TestCloseUserCutsOnlyTheirSockets(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "z.db"))
	defer st.Close()
	h, err := events.New(ctx, st.Events(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a1, a2, b := h.Subscribe("yamada"), h.Subscribe("yamada"), h.Subscribe("sato")
	defer h.Unsubscribe(b)
	h.CloseUser("yamada")
	for _, tc := range []struct {
		name string
		sub  *events.Sub
		cut  bool
	}{{"yamada 1", a1, true}, {"yamada 2", a2, true}, {"sato", b, false}} {
		select {
		case <-tc.sub.Lost():
			if !tc.cut {
				t.Errorf("%s cut", tc.name)
			}
		default:
			if tc.cut {
				t.Errorf("%s not cut", tc.name)
			}
		}
	}
	h.Publish("sato", "test", nil)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := <-b.C; ev.Seq != 1 {
		t.Errorf("sato's event: %+v", ev)
	}
}

// TestSignalOneBroker: without a bus a signal runs its topic's handlers,
// every one, before Signal returns.
func TestSignalOneBroker(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "z.db"))
	defer st.Close()
	h, err := events.New(context.Background(), st.Events(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var got []string
	h.OnSignal("chat.members", func(key string) { got = append(got, "1:"+key) })
	h.OnSignal("chat.members", func(key string) { got = append(got, "2:"+key) })
	h.OnSignal("other", func(key string) { got = append(got, "other:"+key) })
	h.Signal("chat.members", "d/総務課")
	if !slices.Equal(got, []string{"1:d/総務課", "2:d/総務課"}) {
		t.Fatalf("handlers ran %q", got)
	}
}
