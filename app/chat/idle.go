package chat

import (
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// defaultIdle is the idle time before 離席中 when the broker's policy
// does not say (an older broker).
const defaultIdle = 10 * time.Minute

// idle is one session's idle detection: the time of the last input (in
// the app, or on the office PC as the heartbeat saw it) and what the
// broker was last told.
type idle struct {
	mu    sync.Mutex // guards the fields below
	last  time.Time  // the last input
	away  bool       // what the broker should hold: the user is idle
	told  bool       // the broker holds away as it is (false: tell it)
	wake  chan struct{}
	check chan struct{} // tests: look now (Client.CheckIdle)
}

func newIdle(now time.Time) *idle {
	return &idle{last: now, told: true, wake: make(chan struct{}, 1), check: make(chan struct{}, 1)}
}

// Activity notes input: a key or a click in the app's windows, or work
// on the office PC (core's heartbeat, Deps.Activity). A user shown
// 離席中 is back at once. Quick; any goroutine.
func (c *Client) Activity() {
	c.mu.Lock()
	s := c.sess
	now := c.opt.Now()
	c.mu.Unlock()
	if s == nil {
		return
	}
	s.idle.mu.Lock()
	s.idle.last = now
	back := s.idle.away
	if back {
		s.idle.away, s.idle.told = false, false
	}
	s.idle.mu.Unlock()
	if back {
		s.idle.poke()
	}
}

// Away reports whether the app holds its user idle (離席中).
func (c *Client) Away() bool {
	s, err := c.session()
	if err != nil {
		return false
	}
	s.idle.mu.Lock()
	defer s.idle.mu.Unlock()
	return s.idle.away
}

// CheckIdle makes idle detection look at the clock now rather than at
// its next tick (tests on a moved clock; a face after the laptop woke).
func (c *Client) CheckIdle() {
	if s, err := c.session(); err == nil {
		select {
		case s.idle.check <- struct{}{}:
		default:
		}
	}
}

func (d *idle) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// idleLoop tells the broker 離席中 once the policy's idle time has passed
// with no input, and back as soon as input comes; after a reconnect (a
// restarted broker forgot) it tells again.
func (s *session) idleLoop() {
	t := time.NewTicker(s.c.opt.IdleCheck)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.idle.check:
		case <-s.idle.wake:
		}
		limit := time.Duration(s.c.Policy().IdleMinutes) * time.Minute
		if limit <= 0 {
			limit = defaultIdle
		}
		now := s.c.opt.Now()
		s.idle.mu.Lock()
		if !s.idle.away && now.Sub(s.idle.last) >= limit {
			s.idle.away, s.idle.told = true, false
		}
		away, told := s.idle.away, s.idle.told
		s.idle.mu.Unlock()
		if told {
			continue
		}
		p, err := s.api.ChatSetStatus(s.ctx, api.ChatStatusRequest{Away: &away})
		if err != nil {
			if s.ctx.Err() == nil {
				s.c.log.Warn("chat idle", "err", err)
			}
			continue // told stays false: the next tick or hello tries again
		}
		s.idle.mu.Lock()
		if s.idle.away == away {
			s.idle.told = true
		} else {
			s.idle.poke() // input came meanwhile
		}
		s.idle.mu.Unlock()
		s.c.setPresence(*p)
	}
}

// resendIdle is run after each catch-up: a broker that restarted, or
// a socket that closed, forgot that the user is idle.
func (s *session) resendIdle() {
	s.idle.mu.Lock()
	if s.idle.away {
		s.idle.told = false
	}
	away := s.idle.away
	s.idle.mu.Unlock()
	if away {
		s.idle.poke()
	}
}
