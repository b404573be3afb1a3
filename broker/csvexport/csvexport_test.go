package csvexport

import (
	"bytes"
	"testing"
	"time"
)

func TestExport(t *testing.T) {
	at := time.Date(2026, 4, 1, 0, 30, 0, 0, time.UTC)
	cols := []Column{{JA: "日時", EN: "Time", Time: true}, {JA: "職員番号", EN: "Staff ID"}}
	for _, tc := range []struct {
		name, lang, tz, want string
	}{
		{"default", "", "", "\ufeff日時 (JST),職員番号\r\n2026-04-01 09:30:00.000,'=cmd|' /C calc'!A0\r\n"},
		{"english utc", "en", "UTC", "\ufeffTime (UTC),Staff ID\r\n2026-04-01 00:30:00.000,'=cmd|' /C calc'!A0\r\n"},
		{"english jst", "EN", "Asia/Tokyo", "\ufeffTime (JST),Staff ID\r\n2026-04-01 09:30:00.000,'=cmd|' /C calc'!A0\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.lang, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			w, err := New(&b, o, cols)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write([]string{w.Time(at), "=cmd|' /C calc'!A0"}); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
	for _, bad := range [][2]string{{"fr", ""}, {"", "PST"}} {
		if _, err := Parse(bad[0], bad[1]); err == nil {
			t.Errorf("Parse(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
