package chat

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Errors of Send and the lookups.
var (
	ErrNoSession = errors.New("chat: not signed in")
	ErrEmpty     = errors.New("chat: empty message")
	ErrTooLong   = errors.New("chat: message longer than the policy allows")
)

// maxQueue bounds the frames waiting for the worker. Past it they are
// dropped for one catch-up: every entry is in the broker's store, so a
// catch-up loses nothing a frame would have brought.
const maxQueue = 10000

// item is one piece of work for the session's worker, in arrival order.
type item struct {
	catchup bool
	ev      api.Event
	view    string // a channel came on screen: mark it read, load receipts
	names   bool   // look up the senders not yet named
}

// session is one sign-in's chat: its worker (the only user of the feed)
// and its outbox sender.
type session struct {
	c      *Client
	api    *api.Client
	me     string
	ctx    context.Context
	cancel context.CancelFunc

	qmu   sync.Mutex // guards queue
	queue []item
	wake  chan struct{} // the worker has work
	kick  chan struct{} // the sender has work
	idle  *idle

	// Owned by the worker goroutine.
	feed   *api.ChatFeed
	primed bool // the first catch-up is done: from here on messages are news
	batch  map[string]Notice
	asked  map[string]bool // staff IDs looked up once already
}

// pushLocked queues work; Client.mu is held by the caller (it orders
// pushes against Start and end).
func (s *session) pushLocked(it item) {
	s.qmu.Lock()
	if len(s.queue) >= maxQueue {
		s.queue = s.queue[:0]
		it = item{catchup: true}
	}
	s.queue = append(s.queue, it)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) push(it item) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.sess == s {
		s.pushLocked(it)
	}
}

func (s *session) kickSender() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// work runs the queue until the session ends.
func (s *session) work() {
	s.feed = api.NewChatFeed(s.api, nil, s.deliver)
	s.asked = map[string]bool{}
	s.loadPolicy()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.qmu.Lock()
			if len(s.queue) == 0 {
				s.qmu.Unlock()
				break
			}
			it := s.queue[0]
			s.queue = s.queue[1:]
			s.qmu.Unlock()
			s.handle(it)
			if s.ctx.Err() != nil {
				return
			}
		}
	}
}

func (s *session) handle(it item) {
	switch {
	case it.catchup:
		if err := s.catchup(); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.c.log.Warn("chat catch-up", "err", err)
			// Retry unless the socket went down meanwhile: its next hello
			// brings a catch-up of its own.
			time.AfterFunc(s.c.opt.RetryMin, func() {
				s.c.mu.Lock()
				up := s.c.subscribed
				s.c.mu.Unlock()
				if up {
					s.push(item{catchup: true})
				}
			})
		}
	case it.view != "":
		s.viewed(it.view, true)
	case it.names:
		s.lookupNames()
		s.c.changed()
	default:
		s.event(it.ev)
	}
}

func (s *session) loadPolicy() {
	var p api.ChatPolicy
	// A typed client method would live in broker/api; Do keeps this
	// package to the route the broker already serves.
	if err := s.api.Do(s.ctx, "GET", "/v1/chat/policy", nil, &p); err != nil {
		s.c.log.Warn("chat policy", "err", err)
		return
	}
	s.c.mu.Lock()
	if s.c.sess == s {
		s.c.policy = p
	}
	s.c.mu.Unlock()
}

// catchup lists the channels, pages in what each holds past what was
// shown (a channel new to this session from its last Keep entries), and
// marks the session online. Run after a hello, it leaves no gap.
func (s *session) catchup() error {
	l, err := s.api.ChatChannels(s.ctx)
	if err != nil {
		return err
	}
	last := s.feed.Last()
	s.c.mu.Lock()
	if s.c.sess != s {
		s.c.mu.Unlock()
		return nil
	}
	listed := map[string]bool{}
	for _, m := range l.Channels {
		listed[m.ID] = true
	}
	for id := range s.c.channels {
		if !listed[id] {
			delete(s.c.channels, id) // left (here or on another device), or taken out
		}
	}
	for _, m := range l.Channels {
		ch := s.c.channels[m.ID]
		if ch == nil {
			ch = &channel{reads: map[string]int64{}}
			s.c.channels[m.ID] = ch
		}
		members := m.Members
		if members == nil {
			members = ch.meta.Members
		}
		ch.meta = m
		ch.meta.Members = members
		ch.baseUnread, ch.baseSeq = m.Unread, m.LastSeq
		if _, ok := last[m.ID]; !ok {
			last[m.ID] = max(0, m.LastSeq-int64(s.c.opt.Keep))
		}
	}
	s.c.mu.Unlock()
	s.feed = api.NewChatFeed(s.api, last, s.deliver)
	s.batch = map[string]Notice{}
	err = s.feed.Catchup(s.ctx)
	batch := s.batch
	s.batch = nil
	if err != nil {
		return err
	}
	s.lookupNames()
	s.refreshPresence()
	s.resendIdle()
	s.c.mu.Lock()
	view := s.c.viewing
	s.c.online = s.c.subscribed
	s.c.mu.Unlock()
	if view != "" {
		s.viewed(view, true) // receipts moved while we were away
	}
	if s.primed {
		for _, n := range batch {
			s.emit(n)
		}
	}
	s.primed = true
	s.kickSender()
	s.c.changed()
	return nil
}

// event applies one frame of the socket.
func (s *session) event(ev api.Event) {
	switch ev.Type {
	case api.EventChatRead:
		var r api.ChatRead
		if json.Unmarshal(ev.Data, &r) != nil {
			return
		}
		s.c.mu.Lock()
		if ch := s.c.channels[r.Channel]; ch != nil {
			if r.Seq > ch.reads[r.User] {
				ch.reads[r.User] = r.Seq
			}
			if r.User == s.me && r.Seq > ch.meta.ReadSeq {
				ch.meta.ReadSeq = r.Seq // read on another device (the office page)
			}
		}
		s.c.mu.Unlock()
		s.c.changed()
		return
	case api.EventChatChannel:
		var m api.ChatChannel
		if json.Unmarshal(ev.Data, &m) == nil {
			s.c.mu.Lock()
			if x := s.c.channels[m.ID]; x == nil {
				s.c.channels[m.ID] = &channel{meta: m, reads: map[string]int64{}}
			} else {
				if m.Members != nil {
					x.meta.Members = m.Members
				}
				if m.Name != "" {
					x.meta.Name = m.Name // a group renamed
				}
			}
			s.c.mu.Unlock()
		}
	case api.EventChatPresence:
		var p api.ChatPresence
		if json.Unmarshal(ev.Data, &p) == nil {
			s.c.setPresence(p)
		}
		return
	}
	if _, err := s.feed.Apply(s.ctx, ev); err != nil {
		if s.ctx.Err() == nil {
			s.c.log.Warn("chat frame", "type", ev.Type, "err", err)
			s.push(item{catchup: true}) // what the frame brought is in the store
		}
		return
	}
	s.lookupNames()
	s.c.mu.Lock()
	view := s.c.viewing
	s.c.mu.Unlock()
	if view != "" {
		s.viewed(view, false)
	}
	s.c.changed()
}

// deliver takes one entry of the feed, exactly once and in order per
// channel.
func (s *session) deliver(m api.ChatMessage) {
	c := s.c
	c.mu.Lock()
	ch := c.channels[m.Channel]
	if ch == nil {
		ch = &channel{meta: api.ChatChannel{ID: m.Channel}, reads: map[string]int64{}}
		c.channels[m.Channel] = ch
	}
	if m.Seq > ch.meta.LastSeq {
		ch.meta.LastSeq = m.Seq
	}
	var notice *Notice
	switch m.Kind {
	case api.ChatKindMessage:
		ch.msgs = append(ch.msgs, m)
		if m.Sender == s.me {
			// Its own message reached the feed: out of the outbox, and
			// read up to it (one's own words are read).
			c.outbox = slices.DeleteFunc(c.outbox, func(o *outItem) bool { return o.key == m.Key && m.Key != "" })
			if m.Seq > ch.meta.ReadSeq {
				ch.meta.ReadSeq = m.Seq
			}
			if m.Seq > ch.reads[s.me] {
				ch.reads[s.me] = m.Seq
			}
		} else if s.primed {
			notice = c.noticeLocked(ch, m, s.me)
		}
	case api.ChatKindEdit, api.ChatKindDelete:
		applyChange(ch.msgs, m)
	}
	c.mu.Unlock()
	if notice == nil {
		return
	}
	if s.batch != nil {
		s.batch[notice.Channel] = *notice // after a gap, the newest per channel
		return
	}
	s.emit(*notice)
}

// noticeLocked decides whether m is worth a notification.
func (c *Client) noticeLocked(ch *channel, m api.ChatMessage, me string) *Notice {
	if ch.meta.Muted || m.Seq <= ch.meta.ReadSeq || c.viewing == ch.meta.ID || c.policy.Quiet(c.opt.Now()) {
		return nil
	}
	direct := ch.meta.Kind == api.ChatDirect
	mention := slices.Contains(m.Mentions, me)
	if !direct && !mention {
		return nil
	}
	return &Notice{Channel: ch.meta.ID, ChannelName: c.channelNameLocked(ch), Direct: direct, Mention: mention,
		SenderName: c.nameLocked(m.Sender), Text: m.Text}
}

func (s *session) emit(n Notice) {
	s.c.mu.Lock()
	fn := s.c.notice
	s.c.mu.Unlock()
	if fn != nil {
		fn(n)
	}
}

// viewed moves the read marker of the channel on screen to its end and,
// when asked, reloads its receipts.
func (s *session) viewed(id string, receipts bool) {
	s.c.mu.Lock()
	ch := s.c.channels[id]
	if ch == nil || s.c.sess != s {
		s.c.mu.Unlock()
		return
	}
	end := ch.meta.LastSeq
	if n := len(ch.msgs); n > 0 {
		end = max(end, ch.msgs[n-1].Seq)
	}
	mark := end > ch.meta.ReadSeq
	if mark {
		ch.meta.ReadSeq = end // shown now; the broker is told below
	}
	want := receipts || !ch.haveReads
	s.c.mu.Unlock()
	if mark {
		if _, err := s.api.ChatMarkRead(s.ctx, id, end); err != nil && s.ctx.Err() == nil {
			s.c.log.Warn("chat read marker", "err", err)
		}
	}
	if want && s.c.Policy().Receipts {
		r, err := s.api.ChatReceipts(s.ctx, id)
		if err == nil {
			s.c.mu.Lock()
			for _, x := range r.Reads {
				if x.Seq > ch.reads[x.User] {
					ch.reads[x.User] = x.Seq
				}
			}
			ch.haveReads = true
			s.c.mu.Unlock()
		}
	}
	s.c.changed()
}

// lookupNames asks the directory for senders and members not yet named.
func (s *session) lookupNames() {
	s.c.mu.Lock()
	var ids []string
	need := func(id string) {
		if id != "" && s.c.names[id] == "" && !s.asked[id] {
			s.asked[id] = true
			ids = append(ids, id)
		}
	}
	need(s.me)
	for _, ch := range s.c.channels {
		for _, m := range ch.meta.Members {
			need(m)
		}
		for _, m := range ch.msgs {
			need(m.Sender)
			if m.Quote != nil {
				need(m.Quote.Sender)
			}
		}
	}
	s.c.mu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), 50)
		l, err := s.api.ChatPresence(s.ctx, "", ids[:n])
		ids = ids[n:]
		if err != nil {
			return
		}
		s.c.setPresence(l.People...)
	}
}

// refreshPresence reads the presence of the user's department (its
// frames keep it current from here) and of the other channels' members
// (no frames for them: read again at each catch-up and when the members
// list opens).
func (s *session) refreshPresence() {
	l, err := s.api.ChatPresence(s.ctx, "", nil)
	if err != nil {
		return
	}
	s.c.setPresence(l.People...)
	have := map[string]bool{}
	for _, p := range l.People {
		have[p.User] = true
	}
	s.c.mu.Lock()
	var ids []string
	for _, ch := range s.c.channels {
		for _, m := range ch.meta.Members {
			if !have[m] {
				have[m] = true
				ids = append(ids, m)
			}
		}
	}
	s.c.mu.Unlock()
	if err := s.c.LookPresence(s.ctx, ids); err != nil && s.ctx.Err() == nil {
		s.c.log.Warn("chat presence", "err", err)
	}
}
