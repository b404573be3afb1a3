package meet

import "sync"

// Attendance hears when a member of staff enters their first meeting and
// leaves their last one (chat's presence shows 会議中 meanwhile). It is
// called in order for each user, so it must be quick and must not call
// back into meet.
type Attendance interface {
	Attending(userID string, in bool)
}

// attendance counts each user's participants over all rooms (two tabs,
// two rooms), so that Attendance hears of the first in and the last out
// only.
type attendance struct {
	mu   sync.Mutex // leaf lock: taken under room locks, takes none
	hook Attendance
	n    map[string]int
}

func (a *attendance) change(userID string, delta int) {
	if a == nil || a.hook == nil || userID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	before := a.n[userID]
	after := max(before+delta, 0)
	if after == 0 {
		delete(a.n, userID)
	} else {
		a.n[userID] = after
	}
	if (before == 0) != (after == 0) {
		a.hook.Attending(userID, after > 0)
	}
}
