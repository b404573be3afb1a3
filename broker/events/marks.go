package events

import (
	"context"
	"sync"
	"time"
)

// Marks are flags on users that every broker of a database sees alike
// (chat's 会議中 and 離席中). Two kinds, because they end differently:
//
//   - A held mark (Hold) is this broker's: a meeting it hosts. It is
//     true while any broker holds it, told with the broker's snapshots,
//     and it ends with the broker (a goodbye, or peerTTL unheard) as the
//     meeting does.
//   - A flag (Flag) is the user's, whichever broker set it: the app's
//     idle state, told through whichever broker its request reached. The
//     last change wins everywhere, and it outlives the broker that set
//     it (the app is still idle).
//
// Nothing of them is stored: both mean something only while a meeting or
// an app is running.
type marks struct {
	mu    sync.Mutex
	held  map[string]map[string]bool // mark → users this broker holds it for
	flags map[string]map[string]bool // mark → users flagged (heard on the bus, or set here alone)
	// heard is the flags changed on the bus since this hub listens: for
	// those the hub's own record is the truth; for the rest it takes the
	// other brokers' snapshots (a broker that starts, or lost its
	// listener, heard nothing of what was flagged before).
	heard map[flagKey]bool
	waits map[string]chan struct{} // flag changes sent, until heard back
}

type flagKey struct{ user, mark string }

// flagWait bounds how long Flag waits for its change to come back from
// the bus before going on (the change still applies when it arrives).
const flagWait = 5 * time.Second

func newMarks() *marks {
	return &marks{held: map[string]map[string]bool{}, flags: map[string]map[string]bool{},
		heard: map[flagKey]bool{}, waits: map[string]chan struct{}{}}
}

func setIn(m map[string]map[string]bool, mark, user string, on bool) {
	if on {
		if m[mark] == nil {
			m[mark] = map[string]bool{}
		}
		m[mark][user] = true
		return
	}
	delete(m[mark], user)
	if len(m[mark]) == 0 {
		delete(m, mark)
	}
}

func listOf(m map[string]map[string]bool) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for mark, us := range m {
		for u := range us {
			out[mark] = append(out[mark], u)
		}
	}
	return out
}

func setOf(l map[string][]string) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(l))
	for mark, us := range l {
		for _, u := range us {
			setIn(out, mark, u, true)
		}
	}
	return out
}

// Hold sets or clears a mark this broker holds for the user (a meeting
// it hosts). It does not block: the other brokers hear it over the bus.
func (h *Hub) Hold(userID, mark string, on bool) {
	h.marks.mu.Lock()
	setIn(h.marks.held, mark, userID, on)
	if h.x != nil {
		// Queued under the lock, so the order the bus carries is the
		// order of the changes.
		h.x.send(wire{K: kindHold, Users: []string{userID}, Mark: mark, On: on})
	}
	h.marks.mu.Unlock()
}

// Flag sets or clears the user's flag. Across brokers it is applied when
// it comes back from the bus, as every broker applies it, so that all of
// them apply every change in one order and agree on the last; Flag waits
// for that (at most flagWait, or ctx), so that a presence read after it
// sees the change.
func (h *Hub) Flag(ctx context.Context, userID, mark string, on bool) {
	if h.x == nil {
		h.marks.mu.Lock()
		setIn(h.marks.flags, mark, userID, on)
		h.marks.mu.Unlock()
		return
	}
	token := newBrokerID()
	done := make(chan struct{})
	h.marks.mu.Lock()
	h.marks.waits[token] = done
	h.marks.mu.Unlock()
	h.x.send(wire{K: kindFlag, Users: []string{userID}, Mark: mark, On: on, Token: token})
	t := time.NewTimer(flagWait)
	defer t.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-t.C:
	}
	h.marks.mu.Lock()
	delete(h.marks.waits, token)
	h.marks.mu.Unlock()
}

// Marked reports whether the user has the mark: held by this broker or
// another, or flagged.
func (h *Hub) Marked(userID, mark string) bool {
	h.marks.mu.Lock()
	if h.marks.held[mark][userID] {
		h.marks.mu.Unlock()
		return true
	}
	heard, flagged := h.marks.heard[flagKey{userID, mark}], h.marks.flags[mark][userID]
	h.marks.mu.Unlock()
	if flagged || h.x == nil {
		return flagged
	}
	return h.x.markedElsewhere(userID, mark, !heard)
}

// applyFlag applies a flag change heard on the bus (the listener's
// goroutine).
func (h *Hub) applyFlag(w wire, self bool) {
	h.marks.mu.Lock()
	defer h.marks.mu.Unlock()
	for _, u := range w.Users {
		setIn(h.marks.flags, w.Mark, u, w.On)
		h.marks.heard[flagKey{u, w.Mark}] = true
	}
	if self {
		if done := h.marks.waits[w.Token]; done != nil {
			close(done)
			delete(h.marks.waits, w.Token)
		}
	}
}

// forgetFlags follows a reconnect of the listener, which may have missed
// changes: the other brokers' snapshots are the truth again until a
// change is heard (and every socket is cut, so each app tells its idle
// state again after it resumes).
func (h *Hub) forgetFlags() {
	h.marks.mu.Lock()
	defer h.marks.mu.Unlock()
	clear(h.marks.flags)
	clear(h.marks.heard)
}

// snapMarks is what this broker's snapshot tells of marks: its own held
// marks and every flag it knows of.
func (h *Hub) snapMarks() (held, flags map[string][]string) {
	h.marks.mu.Lock()
	defer h.marks.mu.Unlock()
	return listOf(h.marks.held), listOf(h.marks.flags)
}

// markedElsewhere reports whether another live broker holds the mark for
// the user or, when snapshots count (the flag was not heard here),
// flags it in its last snapshot.
func (x *across) markedElsewhere(userID, mark string, snapshots bool) bool {
	return x.anyLivePeer(func(p *peer) bool {
		return p.held[mark][userID] || (snapshots && p.flags[mark][userID])
	})
}
