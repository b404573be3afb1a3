package server

import (
	"net/netip"
	"testing"
	"time"
)

// TestLimiterBounded: the map never holds more than max sources; refilled
// buckets make room, and while none has, new sources share one bucket (a
// flood from many addresses is throttled as one).
func TestLimiterBounded(t *testing.T) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	l := newLimiter(Rate{N: 2, Per: time.Minute}, 3, func() time.Time { return now })
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	for i := 0; i < 3; i++ {
		l.take(addr(i))
	}
	// Full of sources still paying off: new ones share the overflow
	// bucket, two attempts between them.
	if l.take(addr(10)) != 0 || l.take(addr(11)) != 0 || l.take(addr(12)) == 0 {
		t.Fatal("overflow bucket does not limit new sources together")
	}
	if len(l.buckets) != 3 {
		t.Fatalf("%d buckets, want at most 3", len(l.buckets))
	}
	// A minute on, the old buckets have refilled and are dropped.
	now = now.Add(time.Minute)
	if l.take(addr(20)) != 0 {
		t.Fatal("a new source after the refill is refused")
	}
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after eviction, want 1", len(l.buckets))
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
		{"2001:db8:1:2::1", "2001:db8:1:2::"},
	} {
		if got := sourceKey(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("sourceKey(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
