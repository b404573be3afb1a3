package i18n

import (
	"fmt"
	"time"
)

// Clock formats an elapsed time as a ticking clock: "4:05" under an hour,
// "1:02:03" after. Digits read the same in both languages.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// TimeOfDay is a wall-clock time on the laptop, "15:04" in both languages.
func TimeOfDay(t time.Time) string { return t.Local().Format("15:04") }

// Minutes rounds an estimate up to whole minutes, at least 1, so "about 0
// minutes" never shows.
func Minutes(d time.Duration) int {
	m := int((d + time.Minute - 1) / time.Minute)
	if m < 1 {
		return 1
	}
	return m
}
