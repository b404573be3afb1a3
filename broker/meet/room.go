package meet

import (
	"sort"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
)

// room is one meeting: who is in it and the tracks they publish.
type room struct {
	svc                *Service
	id, title, host    string
	department         string // the host's: "meet now" rooms are listed to it
	meetingID          string // the scheduled meeting, if any
	created, idleSince time.Time

	mu     sync.Mutex
	peers  map[string]*peer
	tracks map[string]*forward // by publisher ID + "/" + track ID
	// locked lets no one but the host in; removed are the staff IDs the
	// host sent out, who may not come back while the room runs.
	locked  bool
	removed map[string]bool
	spk     speakers // the dominant speaker (forward.go)

	// The lobby (lobby.go): guests waiting for the host, the host's
	// lobby sockets, and the guests the host let in (whom a lock made
	// after their admission does not keep out).
	waiting  map[string]*waiter
	doors    map[*door]bool
	admitted map[string]bool
}

func (r *room) info() api.Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return api.Room{ID: r.id, Title: r.title, CreatedBy: r.host, CreatedAt: r.created, Participants: len(r.peers), Capacity: Capacity, Locked: r.locked,
		Department: r.department, MeetingID: r.meetingID}
}

// admits says whether userID may come in: not removed, and the room not
// locked unless they are its host.
func (r *room) admits(userID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.admitsLocked(userID)
}

func (r *room) admitsLocked(userID string) error {
	switch {
	case r.removed[userID]:
		return ErrRemoved
	case r.locked && userID != r.host && !r.admitted[userID]:
		return ErrLocked
	}
	return nil
}

// peer returns the participant with that ID.
func (r *room) peer(id string) *peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[id]
}

// setLocked locks or unlocks the room.
func (r *room) setLocked(on bool) {
	r.mu.Lock()
	r.locked = on
	r.mu.Unlock()
}

// bar keeps userID out while the room runs.
func (r *room) bar(userID string) {
	r.mu.Lock()
	r.removed[userID] = true
	delete(r.admitted, userID)
	r.mu.Unlock()
}

// everyone is every participant, from included.
func (r *room) everyone() []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*peer, 0, len(r.peers))
	for _, q := range r.peers {
		out = append(out, q)
	}
	return out
}

func (r *room) emptyFor(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.peers) > 0 {
		return 0
	}
	return now.Sub(r.idleSince)
}

// add lets p in, unless the room is full; it returns the others.
func (r *room) add(p *peer) ([]api.MeetParticipant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admitsLocked(p.userID); err != nil {
		// A token issued before the host locked the room or removed them.
		return nil, err
	}
	if len(r.peers) >= Capacity {
		return nil, ErrFull
	}
	others := r.participantsLocked()
	r.peers[p.id] = p
	r.svc.att.change(p.userID, +1)
	return others, nil
}

func (r *room) participantsLocked() []api.MeetParticipant {
	out := make([]api.MeetParticipant, 0, len(r.peers))
	for _, q := range r.peers {
		out = append(out, q.participant())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// remove takes p and its tracks out and returns whether it was in.
func (r *room) remove(p *peer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[p.id] != p {
		return false
	}
	delete(r.peers, p.id)
	r.svc.att.change(p.userID, -1)
	for k, f := range r.tracks {
		if f.owner == p {
			delete(r.tracks, k)
		}
	}
	if len(r.peers) == 0 {
		r.idleSince = r.svc.now()
	}
	return true
}

// publish adds a forwarded track and renegotiates with everyone else.
func (r *room) publish(f *forward) {
	r.mu.Lock()
	if r.peers[f.owner.id] != f.owner {
		r.mu.Unlock()
		return
	}
	r.tracks[f.key] = f
	r.mu.Unlock()
	if f.kind == webrtc.RTPCodecTypeAudio {
		r.watchSpeakers()
	}
	r.renegotiateAll(f.owner)
}

// wanted lists the tracks p should receive: everyone's but its own.
func (r *room) wanted(p *peer) map[string]*forward {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*forward{}
	for k, f := range r.tracks {
		if f.owner != p {
			out[k] = f
		}
	}
	return out
}

func (r *room) others(p *peer) []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*peer, 0, len(r.peers))
	for _, q := range r.peers {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// broadcast sends m to everyone but from.
func (r *room) broadcast(from *peer, m api.MeetSignal) {
	for _, q := range r.others(from) {
		q.post(m)
	}
}

func (r *room) renegotiateAll(except *peer) {
	for _, q := range r.others(except) {
		go q.negotiate()
	}
}

// keyframe asks the publisher of f for a new keyframe, so that a new
// subscriber, or one that lost packets, need not wait for the next one.
func (r *room) keyframe(f *forward) { f.keyframe(-1) }

func (r *room) closeAll() {
	r.mu.Lock()
	ps := make([]*peer, 0, len(r.peers))
	for _, p := range r.peers {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.cancel()
	}
}
