package api

import (
	"testing"
	"time"
)

func TestChatPolicyQuiet(t *testing.T) {
	p := ChatPolicy{WorkStart: "08:30", WorkEnd: "17:15"}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		p     ChatPolicy
		t     time.Time
		quiet bool
	}{
		{"weekday morning before work (JST)", p, at("2026-04-01T08:29:00+09:00"), true},
		{"start of work", p, at("2026-04-01T08:30:00+09:00"), false},
		{"noon, given in UTC", p, at("2026-04-01T03:00:00Z"), false},
		{"last minute of work", p, at("2026-04-01T17:14:59+09:00"), false},
		{"end of work", p, at("2026-04-01T17:15:00+09:00"), true},
		{"Saturday noon", p, at("2026-04-04T12:00:00+09:00"), true},
		{"Sunday noon", p, at("2026-04-05T12:00:00+09:00"), true},
		{"late Friday UTC is Saturday in Japan", p, at("2026-04-03T16:00:00Z"), true},
		{"bad hours are never quiet", ChatPolicy{WorkStart: "8:30", WorkEnd: "17:15"}, at("2026-04-04T12:00:00+09:00"), false},
		{"start after end is never quiet", ChatPolicy{WorkStart: "18:00", WorkEnd: "09:00"}, at("2026-04-01T20:00:00+09:00"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Quiet(tc.t); got != tc.quiet {
				t.Errorf("Quiet(%v) = %v, want %v", tc.t, got, tc.quiet)
			}
		})
	}
}

func TestChatReceiptsReadBy(t *testing.T) {
	r := ChatReceipts{Reads: []ChatRead{{User: "a", Seq: 5}, {User: "b", Seq: 3}, {User: "c", Seq: 9}}}
	for seq, want := range map[int64]int{1: 2, 3: 2, 4: 1, 9: 1, 10: 0} {
		if got := r.ReadBy(seq, "a"); got != want {
			t.Errorf("ReadBy(%d, sender a) = %d, want %d", seq, got, want)
		}
	}
}
