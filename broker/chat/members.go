package chat

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Signals carries word between the brokers of one database that member
// lists changed (the event hub's Signal): each broker keeps the lists in
// memory. Signal runs this broker's handlers before it returns.
type Signals interface {
	Signal(topic, key string)
	OnSignal(topic string, fn func(key string))
}

// SignalTopic is chat's topic among the hub's signals: its keys name the
// member lists to drop (memberKey), "" all of them.
const SignalTopic = "chat.members"

// memberMaxAge bounds how long a list is used without a signal: a
// one-shot command (broker admin ... on the database) writes accounts
// and rosters with no hub to signal the running brokers, which then see
// the change within this age.
const memberMaxAge = time.Second

// memberLimit bounds the lists kept (a department's, a group's each);
// past it the oldest half is dropped.
const memberLimit = 4096

// Keys of the member lists, as signalled.
const (
	keyDepartments = "d"  // every department's list
	keyDepartment  = "d/" // then the department
	keyChannel     = "c/" // then the group or direct channel's ID
)

// memberKey is the list a channel's frames go to.
func memberKey(c Channel) string {
	if c.Kind == api.ChatDepartment {
		return keyDepartment + c.Department
	}
	return keyChannel + c.ID
}

// memberCache keeps who is in each channel. Reading the department's
// staff (or a group's members) at every send was half the send's CPU;
// membership changes a few times a day.
type memberCache struct {
	mu    sync.Mutex
	gen   uint64 // raised by every drop: a list read before one is not kept
	lists map[string]memberList
}

type memberList struct {
	ids []string // sorted
	at  time.Time
}

func newMemberCache() *memberCache { return &memberCache{lists: map[string]memberList{}} }

// get returns the kept list of key, if young enough, and the generation
// a list read now must be put with.
func (m *memberCache) get(key string) ([]string, uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.lists[key]
	if ok && time.Since(l.at) < memberMaxAge {
		return l.ids, m.gen, true
	}
	return nil, m.gen, false
}

// put keeps ids (sorted, never changed after) unless a drop came since
// gen: the list may have been read before the change it signalled.
func (m *memberCache) put(key string, ids []string, gen uint64, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		return
	}
	if len(m.lists) >= memberLimit {
		m.halveLocked()
	}
	m.lists[key] = memberList{ids: ids, at: at}
}

func (m *memberCache) halveLocked() {
	type aged struct {
		key string
		at  time.Time
	}
	all := make([]aged, 0, len(m.lists))
	for k, l := range m.lists {
		all = append(all, aged{k, l.at})
	}
	slices.SortFunc(all, func(a, b aged) int { return a.at.Compare(b.at) })
	for _, a := range all[:len(all)/2] {
		delete(m.lists, a.key)
	}
}

// drop forgets the lists key names ("" all, keyDepartments every
// department's).
func (m *memberCache) drop(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	switch key {
	case "":
		clear(m.lists)
	case keyDepartments:
		for k := range m.lists {
			if strings.HasPrefix(k, keyDepartment) {
				delete(m.lists, k)
			}
		}
	default:
		delete(m.lists, key)
	}
}

// members are who receive a channel's frames now (sorted; shared, not
// to be changed).
func (s *Service) members(ctx context.Context, c Channel) ([]string, error) {
	key := memberKey(c)
	ids, gen, ok := s.mc.get(key)
	if ok {
		return ids, nil
	}
	at := time.Now()
	if c.Kind != api.ChatDepartment {
		ms, err := s.st.Members(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		ids = slices.Clone(ms)
	} else {
		us, err := s.dir.Department(ctx, c.Department)
		if err != nil {
			return nil, err
		}
		ids = make([]string, 0, len(us))
		for _, u := range us {
			if !u.Disabled && u.Department == c.Department {
				ids = append(ids, u.ID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s.mc.put(key, ids, gen, at)
	return ids, nil
}

// isMember reports whether the user is in a group or direct channel, as
// its kept list says.
func (s *Service) isMember(ctx context.Context, c Channel, userID string) (bool, error) {
	ms, err := s.members(ctx, c)
	if err != nil {
		return false, err
	}
	_, ok := slices.BinarySearch(ms, userID)
	return ok, nil
}

// membersChanged drops the lists of key on every broker (through the
// hub's signals), or on this one when there is no hub (a one-shot
// command: the brokers see it within memberMaxAge).
func (s *Service) membersChanged(key string) {
	if s.signals != nil {
		s.signals.Signal(SignalTopic, key)
		return
	}
	s.mc.drop(key)
}

// DepartmentsChanged is told that who works in the departments may have
// changed (an account created, moved or disabled; nil: any department,
// as after a roster import): their channels' member lists are read again
// at the next message, on every broker.
func (s *Service) DepartmentsChanged(depts []string) {
	if depts == nil {
		s.membersChanged(keyDepartments)
		return
	}
	for _, d := range slices.Compact(slices.Sorted(slices.Values(depts))) {
		if d != "" {
			s.membersChanged(keyDepartment + d)
		}
	}
}
