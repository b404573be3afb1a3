package chat

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
)

// ErrOffline is an edit, delete, mute or group change tried while the
// broker cannot be reached: unlike a message typed, they wait in no
// outbox, so the face says to try again once online.
var ErrOffline = errors.New("chat: the broker cannot be reached")

// ErrNoMembers is an add of nobody: the face asks to pick someone.
var ErrNoMembers = errors.New("chat: no colleague chosen")

// Member is one member of a channel as the members list shows them.
type Member struct {
	ID, Name string
	Presence api.ChatPresence // State "" when not known yet
}

// Presence returns a colleague's presence as last told (ok false when
// not known yet).
func (c *Client) Presence(id string) (api.ChatPresence, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.presence[id]
	return p, ok
}

func (c *Client) setPresence(ps ...api.ChatPresence) {
	c.mu.Lock()
	for _, p := range ps {
		if p.User == "" {
			continue
		}
		c.presence[p.User] = p
		if p.Name != "" {
			c.names[p.User] = p.Name
		}
	}
	c.mu.Unlock()
	c.changed()
}

// Members lists a channel's members with their presence: a group's or
// direct channel's from the broker's list, a department's as its staff's
// presence came (the department's own frames keep it current).
func (c *Client) Members(id string) []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.channels[id]
	if ch == nil {
		return nil
	}
	var ids []string
	if ch.meta.Kind == api.ChatDepartment {
		for u, p := range c.presence {
			if p.Department == ch.meta.Department {
				ids = append(ids, u)
			}
		}
	} else {
		ids = slices.Clone(ch.meta.Members)
	}
	out := make([]Member, 0, len(ids))
	for _, u := range ids {
		out = append(out, Member{ID: u, Name: c.nameLocked(u), Presence: c.presence[u]})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return out
}

// LookPresence asks the broker for these colleagues' presence now (the
// members list, the supervisor's section view); the answers come
// through Presence and a change notification.
func (c *Client) LookPresence(ctx context.Context, ids []string) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	for len(ids) > 0 {
		n := min(len(ids), 50)
		l, err := s.api.ChatPresence(ctx, "", ids[:n])
		if err != nil {
			return err
		}
		ids = ids[n:]
		c.setPresence(l.People...)
	}
	return nil
}

// SetStatusMessage sets the user's own status message ("" clears it);
// the department is told by the broker.
func (c *Client) SetStatusMessage(ctx context.Context, msg string) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	msg = strings.TrimSpace(msg)
	p, err := s.api.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &msg})
	if err != nil {
		return offline(err)
	}
	c.setPresence(*p)
	return nil
}

// offline turns a failure of the line into ErrOffline; the broker's
// refusals stay as they are (their catalogue says what to do).
func offline(err error) error {
	if transient(err) {
		return errors.Join(ErrOffline, err)
	}
	return err
}

// Edit replaces the text of one's own message, within IT's edit window
// (the broker keeps the earlier text for the record). The change shows
// once the broker stored it: its answer goes through the feed, as the
// live frame would.
func (c *Client) Edit(ctx context.Context, channelID string, seq int64, text string) error {
	text = strings.TrimRight(text, " \t\r\n")
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	s, err := c.session()
	if err != nil {
		return err
	}
	if max := c.Policy().MaxChars; max > 0 && utf8.RuneCountInString(text) > max {
		return ErrTooLong
	}
	// One key per edit typed: a retry of this call is stored once.
	m, err := s.api.ChatEdit(ctx, channelID, seq, api.ChatEditRequest{Key: newKey(), Text: text})
	if err != nil {
		return offline(err)
	}
	s.fed(m)
	return nil
}

// Delete deletes one's own message, within IT's edit window; it shows as
// 削除されました.
func (c *Client) Delete(ctx context.Context, channelID string, seq int64) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	m, err := s.api.ChatDelete(ctx, channelID, seq)
	if err != nil {
		return offline(err)
	}
	s.fed(m)
	return nil
}

// fed hands an entry the broker answered with to the worker, as if it
// came live (the feed drops it if the frame came first).
func (s *session) fed(m *api.ChatMessage) {
	if b, err := json.Marshal(m); err == nil {
		s.push(item{ev: api.Event{Type: api.EventChatMessage, Data: b}})
	}
}

// SetMuted mutes or unmutes a channel: a muted channel notifies of
// nothing and its unread messages do not count in the total (the tray,
// the home button).
func (c *Client) SetMuted(ctx context.Context, id string, muted bool) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	if err := s.api.ChatMute(ctx, id, muted); err != nil {
		return offline(err)
	}
	c.mu.Lock()
	if ch := c.channels[id]; ch != nil && c.sess == s {
		ch.meta.Muted = muted
	}
	c.mu.Unlock()
	c.changed()
	return nil
}

// CreateGroup makes a group of the user and the colleagues chosen (staff
// IDs) and returns its ID.
func (c *Client) CreateGroup(ctx context.Context, name string, members []string) (string, error) {
	s, err := c.session()
	if err != nil {
		return "", err
	}
	ch, err := s.api.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: strings.TrimSpace(name), Members: members})
	if err != nil {
		return "", offline(err)
	}
	s.joined(ch)
	return ch.ID, nil
}

// joined holds a channel the user just made or opened, before its frame.
func (s *session) joined(ch *api.ChatChannel) {
	c := s.c
	c.mu.Lock()
	if c.sess == s && c.channels[ch.ID] == nil {
		c.channels[ch.ID] = &channel{meta: *ch, reads: map[string]int64{}, baseSeq: ch.LastSeq, baseUnread: ch.Unread}
	}
	c.mu.Unlock()
	// What it already holds comes through the feed, like any channel joined.
	if b, err := json.Marshal(ch); err == nil {
		s.push(item{ev: api.Event{Type: api.EventChatChannel, Data: b}})
	}
	c.changed()
}

// AddMembers adds colleagues (staff IDs) to a group the user is in. The
// broker refuses a department's channel (its members are the roster's)
// and a direct one; every member's app hears the new list.
func (c *Client) AddMembers(ctx context.Context, id string, members []string) error {
	if len(members) == 0 {
		return ErrNoMembers
	}
	s, err := c.session()
	if err != nil {
		return err
	}
	ch, err := s.api.ChatAddMembers(ctx, id, members)
	if err != nil {
		return offline(err)
	}
	c.mu.Lock()
	if x := c.channels[id]; x != nil && c.sess == s {
		x.meta.Members = ch.Members
	}
	c.mu.Unlock()
	c.changed()
	return nil
}

// Rename renames a group the user is in; its members are told.
func (c *Client) Rename(ctx context.Context, id, name string) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	ch, err := s.api.ChatRename(ctx, id, strings.TrimSpace(name))
	if err != nil {
		return offline(err)
	}
	c.mu.Lock()
	if x := c.channels[id]; x != nil && c.sess == s {
		x.meta.Name = ch.Name
	}
	c.mu.Unlock()
	c.changed()
	return nil
}

// Leave takes the user out of a group: it goes from the list, with what
// was held of it.
func (c *Client) Leave(ctx context.Context, id string) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	if err := s.api.ChatLeave(ctx, id); err != nil {
		return offline(err)
	}
	c.mu.Lock()
	if c.sess == s {
		delete(c.channels, id)
		c.outbox = slices.DeleteFunc(c.outbox, func(o *outItem) bool { return o.channel == id })
		if c.viewing == id {
			c.viewing = ""
		}
	}
	c.mu.Unlock()
	c.changed()
	return nil
}
