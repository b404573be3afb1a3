package oplog

import (
	"errors"
	"strconv"
	"testing"
)

// TestJournalWipeOnlyOnceAcknowledged: a revoked laptop's journal is its
// evidence, so Wipe refuses while an event is unacknowledged; once all
// is acknowledged it leaves an empty journal whose next event starts a
// new chain, also after a reopen.
func TestJournalWipeOnlyOnceAcknowledged(t *testing.T) {
	dir := t.TempDir()
	j := openT(t, dir, Options{SegmentBytes: 2 << 10})
	for i := range 60 {
		if err := j.Record("test.event", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	evs := pendingAll(t, j)
	if err := j.Ack(evs[29].Seq, evs[29].Hash()); err != nil {
		t.Fatal(err)
	}
	if err := j.Wipe(); !errors.Is(err, ErrUnsent) {
		t.Fatalf("wipe with 30 unsent: %v, want ErrUnsent", err)
	}
	if got := len(pendingAll(t, j)); got != 30 {
		t.Fatalf("%d pending after a refused wipe, want 30", got)
	}
	last := evs[len(evs)-1]
	if err := j.Ack(last.Seq, last.Hash()); err != nil {
		t.Fatal(err)
	}
	if err := j.Wipe(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Fatalf("%d segments after the wipe, want the one empty active segment", len(segs))
	}
	if err := j.Record("test.after", nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = openT(t, dir, Options{})
	defer j.Close()
	if p := j.Problems(); len(p) > 0 {
		t.Fatalf("problems after wipe and reopen: %v", p)
	}
	got := pendingAll(t, j)
	if len(got) != 1 || got[0].Seq != 1 || got[0].Type != "test.after" {
		t.Fatalf("after the wipe: %+v, want one event starting a new chain", got)
	}
	verifyChain(t, got, 0, nil)
}
