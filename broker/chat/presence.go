package chat

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Presence is what the broker knows of someone at this moment: whether
// their app's event socket is open and whether they hold a granted slot
// (connected to their office PC). Nothing of it is stored.
type Presence interface {
	Online(userID string) bool
	Teleworking(userID string) bool
}

// Marks are flags on people that every broker of a database sees alike
// (the event hub, broker/events).
type Marks interface {
	// Hold sets or clears a mark this broker holds for the user, which
	// ends with the broker (a meeting it hosts). It must not block.
	Hold(userID, mark string, on bool)
	// Flag sets or clears the user's flag, wherever set last; once it
	// returns, Marked says so on this broker.
	Flag(ctx context.Context, userID, mark string, on bool)
	Marked(userID, mark string) bool
}

// The marks presence is derived from.
const (
	markMeeting = "meeting" // held by the broker hosting the meeting
	markAway    = "away"    // flagged by the app, through any broker
)

// MaxStatus bounds a status message, in characters.
const MaxStatus = 100

// maxPresence bounds the people one presence request asks about.
const maxPresence = 500

// state derives one user's presence.
func (s *Service) state(userID string) string {
	online := s.presence != nil && s.presence.Online(userID)
	meeting := s.marks != nil && s.marks.Marked(userID, markMeeting)
	away := online && s.marks != nil && s.marks.Marked(userID, markAway)
	switch {
	case meeting:
		// In a meeting whatever the app says: the meeting runs in a
		// browser, so the app may well see no input meanwhile.
		return api.PresenceMeeting
	case online && away:
		return api.PresenceAway
	case s.presence != nil && s.presence.Teleworking(userID):
		return api.PresenceTelework
	case online:
		return api.PresenceOnline
	}
	return api.PresenceOffline
}

// SetStatus sets u's status message or idle flag and tells u's
// department. The idle flag lives in memory (every broker's hub, not the
// database): it means something only while the app that set it is open.
func (s *Service) SetStatus(ctx context.Context, u api.User, req api.ChatStatusRequest) (api.ChatPresence, error) {
	if req.Message != nil {
		msg := strings.TrimSpace(*req.Message)
		if e := api.CheckText("message", msg, MaxStatus); e != nil {
			return api.ChatPresence{}, e
		}
		if err := s.st.SetStatus(ctx, u.ID, msg, s.now()); err != nil {
			return api.ChatPresence{}, err
		}
	}
	if req.Away != nil && s.marks != nil {
		s.marks.Flag(ctx, u.ID, markAway, *req.Away)
	}
	l, err := s.presenceOf(ctx, []api.User{u})
	if err != nil || len(l) == 0 {
		return api.ChatPresence{}, err
	}
	s.tell(ctx, l)
	return l[0], nil
}

// Attending is told by web meetings (broker/meet) when someone enters
// their first meeting (in) or leaves their last: presence says 会議中
// meanwhile, and the department hears of it at once. It does not block
// the meeting: the telling runs on its own. The mark is this broker's,
// which hosts the meeting: it ends with the broker, as the meeting does.
func (s *Service) Attending(userID string, in bool) {
	if s.marks != nil {
		s.marks.Hold(userID, markMeeting, in)
	}
	go func() {
		ctx := context.Background()
		u, err := s.dir.User(ctx, userID)
		if err != nil {
			return // a guest of the meeting, say: not staff
		}
		l, err := s.presenceOf(ctx, []api.User{u})
		if err != nil {
			s.log.Warn("chat: meeting presence", "err", err)
			return
		}
		s.tell(ctx, l)
	}()
}

// tell pushes presences to each one's department and remembers them, so
// that the sweep does not tell them again. Tells are one at a time and
// take each state afresh: a sweep that read a state before a status
// change, and pushed after the change's own tell, would otherwise leave
// colleagues with the older state until the next sweep.
func (s *Service) tell(ctx context.Context, ps []api.ChatPresence) {
	s.tellMu.Lock()
	defer s.tellMu.Unlock()
	byDept := map[string][]api.ChatPresence{}
	s.sweepMu.Lock()
	for i := range ps {
		ps[i].State = s.state(ps[i].User)
	}
	for _, p := range ps {
		s.told[p.User] = p.State
		if p.Department != "" {
			byDept[p.Department] = append(byDept[p.Department], p)
		}
	}
	s.sweepMu.Unlock()
	for dept, ps := range byDept {
		ms, err := s.members(ctx, Channel{Kind: api.ChatDepartment, Department: dept})
		if err != nil {
			s.log.Warn("chat: presence to department", "err", err)
			continue
		}
		for _, p := range ps {
			s.push.PushLive(ms, api.EventChatPresence, p)
		}
	}
}

// SweepPresence finds whose presence changed since the last sweep (an
// app opened or closed, a session began or ended) and tells their
// departments. The first sweep after start only takes note.
func (s *Service) SweepPresence(ctx context.Context) error {
	us, err := s.dir.Everyone(ctx)
	if err != nil {
		return err
	}
	var changed []api.User
	s.sweepMu.Lock()
	first := !s.sweptOnce
	s.sweptOnce = true
	for _, u := range us {
		if u.Disabled {
			continue
		}
		st := s.state(u.ID)
		prev, ok := s.told[u.ID]
		if !ok {
			prev = api.PresenceOffline
		}
		if st != prev {
			if first {
				s.told[u.ID] = st
				continue
			}
			changed = append(changed, u)
		}
	}
	s.sweepMu.Unlock()
	if len(changed) == 0 {
		return nil
	}
	ps, err := s.presenceOf(ctx, changed)
	if err != nil {
		return err
	}
	s.tell(ctx, ps)
	return nil
}

// PresenceList returns the presence of a department's staff (the
// caller's own by default: a supervisor's section at a glance) or of the
// staff IDs given.
func (s *Service) PresenceList(ctx context.Context, u api.User, dept string, users []string) (api.ChatPresenceList, error) {
	if len(users) > maxPresence {
		return api.ChatPresenceList{}, api.Errf(api.CodeValidation, "users: at most %d at once", maxPresence)
	}
	var us []api.User
	if len(users) > 0 {
		for _, id := range users {
			x, err := s.dir.User(ctx, strings.ToLower(strings.TrimSpace(id)))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return api.ChatPresenceList{}, err
			}
			us = append(us, x)
		}
	} else {
		if dept == "" {
			dept = u.Department
		}
		if e := api.CheckText("department", dept, 100); e != nil {
			return api.ChatPresenceList{}, e
		}
		var err error
		if us, err = s.dir.Department(ctx, dept); err != nil {
			return api.ChatPresenceList{}, err
		}
	}
	us = slices.DeleteFunc(us, func(x api.User) bool { return x.Disabled })
	l, err := s.presenceOf(ctx, us)
	return api.ChatPresenceList{People: l}, err
}

func (s *Service) presenceOf(ctx context.Context, us []api.User) ([]api.ChatPresence, error) {
	ids := make([]string, len(us))
	for i, x := range us {
		ids[i] = x.ID
	}
	st, err := s.st.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]api.ChatPresence, 0, len(us))
	for _, x := range us {
		out = append(out, api.ChatPresence{User: x.ID, Name: x.Name, Department: x.Department, State: s.state(x.ID), Status: st[x.ID]})
	}
	return out, nil
}
