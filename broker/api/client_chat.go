package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

func chatPath(channel string, rest ...string) string {
	p := "/v1/chat/channels/" + url.PathEscape(channel)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// ChatChannels lists the caller's channels with where each one stands.
func (c *Client) ChatChannels(ctx context.Context) (*ChatChannelList, error) {
	var out ChatChannelList
	return &out, c.Do(ctx, "GET", "/v1/chat/channels", nil, &out)
}

// ChatChannel returns one channel with its members.
func (c *Client) ChatChannel(ctx context.Context, id string) (*ChatChannel, error) {
	var out ChatChannel
	return &out, c.Do(ctx, "GET", chatPath(id), nil, &out)
}

// ChatCreateGroup makes a group of the caller and colleagues.
func (c *Client) ChatCreateGroup(ctx context.Context, req ChatCreateGroup) (*ChatChannel, error) {
	var out ChatChannel
	return &out, c.Do(ctx, "POST", "/v1/chat/channels", req, &out)
}

// ChatDirect returns the direct channel with a colleague.
func (c *Client) ChatDirect(ctx context.Context, user string) (*ChatChannel, error) {
	var out ChatChannel
	return &out, c.Do(ctx, "POST", "/v1/chat/direct", ChatDirectRequest{User: user}, &out)
}

// ChatAddMembers adds colleagues to a group.
func (c *Client) ChatAddMembers(ctx context.Context, channel string, members []string) (*ChatChannel, error) {
	var out ChatChannel
	return &out, c.Do(ctx, "POST", chatPath(channel, "members"), ChatMembersRequest{Members: members}, &out)
}

// ChatRename renames a group the caller is in.
func (c *Client) ChatRename(ctx context.Context, channel, name string) (*ChatChannel, error) {
	var out ChatChannel
	return &out, c.Do(ctx, "PATCH", chatPath(channel), ChatRenameRequest{Name: name}, &out)
}

// ChatLeave leaves a group.
func (c *Client) ChatLeave(ctx context.Context, channel string) error {
	return c.Do(ctx, "DELETE", chatPath(channel, "members", "me"), nil, nil)
}

// ChatSend sends a message. Send again with the same Key after any
// failure: the broker stores it once.
func (c *Client) ChatSend(ctx context.Context, channel string, req ChatSendRequest) (*ChatMessage, error) {
	var out ChatMessage
	return &out, c.Do(ctx, "POST", chatPath(channel, "messages"), req, &out)
}

// ChatEdit edits one's own message.
func (c *Client) ChatEdit(ctx context.Context, channel string, seq int64, req ChatEditRequest) (*ChatMessage, error) {
	var out ChatMessage
	return &out, c.Do(ctx, "PATCH", chatPath(channel, "messages", strconv.FormatInt(seq, 10)), req, &out)
}

// ChatDelete deletes one's own message.
func (c *Client) ChatDelete(ctx context.Context, channel string, seq int64) (*ChatMessage, error) {
	var out ChatMessage
	return &out, c.Do(ctx, "DELETE", chatPath(channel, "messages", strconv.FormatInt(seq, 10)), nil, &out)
}

// ChatAfter returns up to limit entries after seq after, oldest first.
func (c *Client) ChatAfter(ctx context.Context, channel string, after int64, limit int) (*ChatHistory, error) {
	var out ChatHistory
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return &out, c.Do(ctx, "GET", chatPath(channel, "messages")+"?"+q.Encode(), nil, &out)
}

// ChatBefore returns the newest limit entries before seq before (0: the
// newest of all), oldest first.
func (c *Client) ChatBefore(ctx context.Context, channel string, before int64, limit int) (*ChatHistory, error) {
	var out ChatHistory
	q := url.Values{}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return &out, c.Do(ctx, "GET", chatPath(channel, "messages")+"?"+q.Encode(), nil, &out)
}

// ChatMarkRead moves the caller's read marker to seq.
func (c *Client) ChatMarkRead(ctx context.Context, channel string, seq int64) (*ChatRead, error) {
	var out ChatRead
	return &out, c.Do(ctx, "POST", chatPath(channel, "read"), ChatReadRequest{Seq: seq}, &out)
}

// ChatMute mutes or unmutes a channel.
func (c *Client) ChatMute(ctx context.Context, channel string, muted bool) error {
	return c.Do(ctx, "PUT", chatPath(channel, "mute"), ChatMuteRequest{Muted: muted}, nil)
}

// ChatReceipts returns the members' read markers.
func (c *Client) ChatReceipts(ctx context.Context, channel string) (*ChatReceipts, error) {
	var out ChatReceipts
	return &out, c.Do(ctx, "GET", chatPath(channel, "receipts"), nil, &out)
}

// ChatSearch searches the caller's channels (channel "" for all).
func (c *Client) ChatSearch(ctx context.Context, q, channel string) (*ChatSearchResult, error) {
	var out ChatSearchResult
	v := url.Values{"q": {q}}
	if channel != "" {
		v.Set("channel", channel)
	}
	return &out, c.Do(ctx, "GET", "/v1/chat/search?"+v.Encode(), nil, &out)
}

// ChatPeople finds colleagues by name, staff ID or department.
func (c *Client) ChatPeople(ctx context.Context, q string) (*ChatPeople, error) {
	var out ChatPeople
	return &out, c.Do(ctx, "GET", "/v1/chat/people?"+url.Values{"q": {q}}.Encode(), nil, &out)
}

// ChatSetStatus sets one's status message or idle flag.
func (c *Client) ChatSetStatus(ctx context.Context, req ChatStatusRequest) (*ChatPresence, error) {
	var out ChatPresence
	return &out, c.Do(ctx, "PUT", "/v1/chat/status", req, &out)
}

// ChatPresence returns the presence of a department ("" for one's own)
// or of the staff IDs given.
func (c *Client) ChatPresence(ctx context.Context, department string, users []string) (*ChatPresenceList, error) {
	var out ChatPresenceList
	q := url.Values{}
	if department != "" {
		q.Set("department", department)
	}
	if len(users) > 0 {
		q.Set("users", strings.Join(users, ","))
	}
	return &out, c.Do(ctx, "GET", "/v1/chat/presence?"+q.Encode(), nil, &out)
}

// ChatFeed turns the chat frames of the event socket and the history
// route into one stream per channel that holds every entry once, in
// sequence order, whatever the gaps: the socket pushes chat live only
// (Seq 0, never replayed), so the feed fills every gap from the store.
//
// Use: after each (re)connect of the event socket, once its hello has
// arrived, call Catchup; then hand every event to Apply. Both run on the
// socket's reader goroutine; a ChatFeed is not safe for concurrent use.
type ChatFeed struct {
	c       *Client
	last    map[string]int64
	deliver func(ChatMessage)
	// Page is the history page size (default 200).
	Page int
}

// NewChatFeed starts a feed from the last sequence seen per channel
// (nil: from the beginning); deliver gets each entry once.
func NewChatFeed(c *Client, last map[string]int64, deliver func(ChatMessage)) *ChatFeed {
	f := &ChatFeed{c: c, last: map[string]int64{}, deliver: deliver, Page: 200}
	for k, v := range last {
		f.last[k] = v
	}
	return f
}

// Last returns the last sequence delivered per channel.
func (f *ChatFeed) Last() map[string]int64 {
	out := make(map[string]int64, len(f.last))
	for k, v := range f.last {
		out[k] = v
	}
	return out
}

// Catchup pages in what every channel holds past its last delivered
// sequence. Called after the socket is subscribed, it leaves no gap
// between the history and the live frames.
func (f *ChatFeed) Catchup(ctx context.Context) error {
	l, err := f.c.ChatChannels(ctx)
	if err != nil {
		return err
	}
	for _, ch := range l.Channels {
		if ch.LastSeq > f.last[ch.ID] {
			if err := f.fill(ctx, ch.ID, ch.LastSeq); err != nil {
				return err
			}
		}
	}
	return nil
}

// Apply takes one event of the socket. Chat messages already delivered
// are dropped; one past a gap first pages in the gap; a channel joined
// pages in what it holds. It reports whether the event was a chat
// message.
func (f *ChatFeed) Apply(ctx context.Context, ev Event) (bool, error) {
	if ev.Type == EventChatChannel {
		// Joined a channel: what it already holds is history to page in.
		var ch ChatChannel
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			return false, fmt.Errorf("chat channel frame: %w", err)
		}
		if ch.LastSeq > f.last[ch.ID] {
			return false, f.fill(ctx, ch.ID, ch.LastSeq)
		}
		return false, nil
	}
	if ev.Type != EventChatMessage {
		return false, nil
	}
	var m ChatMessage
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		return true, fmt.Errorf("chat frame: %w", err)
	}
	last := f.last[m.Channel]
	switch {
	case m.Seq <= last:
		return true, nil
	case m.Seq > last+1:
		if err := f.fill(ctx, m.Channel, m.Seq-1); err != nil {
			return true, err
		}
	}
	if m.Seq == f.last[m.Channel]+1 {
		f.take(m)
	}
	return true, nil
}

func (f *ChatFeed) take(m ChatMessage) {
	f.last[m.Channel] = m.Seq
	f.deliver(m)
}

// fill pages a channel's history until upto is delivered.
func (f *ChatFeed) fill(ctx context.Context, channel string, upto int64) error {
	for f.last[channel] < upto {
		h, err := f.c.ChatAfter(ctx, channel, f.last[channel], f.Page)
		if err != nil {
			return err
		}
		if h.FirstSeq > f.last[channel]+1 {
			// Entries before FirstSeq were purged at the end of their
			// retention: there is nothing to show of them.
			f.last[channel] = h.FirstSeq - 1
		}
		took := false
		for _, m := range h.Messages {
			if m.Seq == f.last[channel]+1 {
				f.take(m)
				took = true
			}
		}
		if len(h.Messages) == 0 {
			return nil // the channel holds less than was announced; nothing to wait for here
		}
		if !took {
			return fmt.Errorf("chat history of %s: no entry %d after %d", channel, f.last[channel]+1, f.last[channel])
		}
	}
	return nil
}
