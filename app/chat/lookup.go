package chat

import (
	"context"
	"slices"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Hit is one search result, named for the screen.
type Hit struct {
	Message     Message
	ChannelName string
	Spans       []api.ChatSpan // highlighted characters of Message.Text
}

// Search finds messages in the user's channels (the broker searches; its
// results are kept only as long as the screen shows them).
func (c *Client) Search(ctx context.Context, q string) ([]Hit, bool, error) {
	s, err := c.session()
	if err != nil {
		return nil, false, err
	}
	r, err := s.api.ChatSearch(ctx, q, "")
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Hit, 0, len(r.Hits))
	for _, h := range r.Hits {
		ch := c.channels[h.Message.Channel]
		if ch == nil {
			ch = &channel{meta: api.ChatChannel{ID: h.Message.Channel}}
		}
		out = append(out, Hit{Message: c.viewLocked(ch, h.Message, s.me), ChannelName: c.channelNameLocked(ch), Spans: h.Spans})
	}
	return out, r.Partial, nil
}

// People finds colleagues by name, staff ID or department, to start a
// direct message.
func (c *Client) People(ctx context.Context, q string) ([]api.ChatPerson, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	r, err := s.api.ChatPeople(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	for _, p := range r.People {
		c.names[p.ID] = p.Name
	}
	c.mu.Unlock()
	return slices.DeleteFunc(r.People, func(p api.ChatPerson) bool { return p.ID == s.me }), nil
}

// Direct opens the direct channel with a colleague (made on first use)
// and returns its ID.
func (c *Client) Direct(ctx context.Context, user string) (string, error) {
	s, err := c.session()
	if err != nil {
		return "", err
	}
	ch, err := s.api.ChatDirect(ctx, user)
	if err != nil {
		return "", err
	}
	s.joined(ch)
	return ch.ID, nil
}

// Older pages in the messages before the oldest shown.
func (c *Client) Older(ctx context.Context, id string) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	c.mu.Lock()
	ch := c.channels[id]
	var before int64
	if ch != nil && len(ch.msgs) > 0 {
		before = ch.msgs[0].Seq
	}
	c.mu.Unlock()
	if ch == nil || before <= 1 {
		return nil
	}
	h, err := s.api.ChatBefore(ctx, id, before, c.opt.Keep)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ch.firstSeq = h.FirstSeq
	var older []api.ChatMessage
	for _, m := range h.Messages {
		if m.Seq >= before {
			continue
		}
		switch m.Kind {
		case api.ChatKindMessage:
			older = append(older, m)
		case api.ChatKindEdit, api.ChatKindDelete:
			applyChange(older, m)
			applyChange(ch.msgs, m)
		}
	}
	ch.msgs = append(older, ch.msgs...)
	c.mu.Unlock()
	s.push(item{names: true})
	c.changed()
	return nil
}

// applyChange applies an edit or delete to msgs (sorted by seq).
func applyChange(msgs []api.ChatMessage, m api.ChatMessage) {
	i, ok := find(msgs, m.Target)
	if !ok {
		return
	}
	if m.Kind == api.ChatKindEdit {
		msgs[i].Text, msgs[i].EditedAt = m.Text, m.At
	} else {
		msgs[i].Text, msgs[i].Deleted = "", true
	}
}
