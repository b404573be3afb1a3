// Package chat is the app's chat without a face: it rides the event
// socket core runs (it implements core.EventSink), keeps every channel's
// history in order through api.ChatFeed, counts unread messages, sends
// through an outbox that survives offline time, moves read markers when a
// channel is viewed, and says what is worth a notification.
//
// Nothing of chat touches the laptop's disk (the LGWAN rule: no office
// data on the home device): history, receipts, names and the outbox live
// in memory only, are wiped at sign-out, and come back from the broker.
package chat

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Options tune a Client; the zero value is production.
type Options struct {
	Log *slog.Logger
	Now func() time.Time
	// Keep is how many entries of a channel the first sync pages in
	// (older ones come with Older); default 200.
	Keep int
	// RetryMin and RetryMax bound the outbox's and catch-up's backoff
	// (defaults 1 s and 30 s).
	RetryMin, RetryMax time.Duration
	// IdleCheck is how often idle detection looks at the time since the
	// last input (default 30 s); the idle time itself is IT's policy.
	IdleCheck time.Duration
}

// SendState is where a message typed here stands.
type SendState int

const (
	Sent    SendState = iota // stored by the broker (every message of others too)
	Pending                  // in the outbox: sent once the broker answers
	Failed                   // the broker refused it; Err says why
)

// Channel is one channel as the list shows it.
type Channel struct {
	ID, Kind, Name string
	Department     string
	Members        []string
	Unread         int
	Muted          bool
	LastAt         time.Time // the newest message held; zero when none
	// Peer is the colleague of a direct channel ("" for others): the
	// list shows their presence.
	Peer string
}

// Message is one message as the conversation shows it.
type Message struct {
	Channel    string
	Seq        int64 // 0 while in the outbox
	Key        string
	Sender     string
	SenderName string
	Text       string
	At         time.Time
	Edited     bool
	Deleted    bool
	Quote      *api.ChatQuote
	QuoteName  string // the quoted sender's name
	Mentions   []string
	Mine       bool
	// Editable: one's own message, stored, not deleted, within IT's edit
	// window (ChatPolicy.EditWindowMinutes) now: 編集 and 削除 are offered.
	Editable bool
	State    SendState
	Err      *api.Error // Failed: the broker's reason
	// ReadBy counts the members other than the sender whose read marker
	// reaches this message (既読 N; on a direct message 1 is 既読); -1
	// when receipts are off or not known yet.
	ReadBy int
}

// Notice is a message worth a desktop notification: a direct message or
// a mention of the user, in a channel not muted and not on screen,
// outside the quiet hours. The faces word it.
type Notice struct {
	Channel, ChannelName string
	Direct, Mention      bool
	SenderName           string
	Text                 string
}

// Client is one user's chat. It is safe for concurrent use. Start binds
// it to a signed-in session; until then it is empty.
type Client struct {
	opt Options
	log *slog.Logger

	mu         sync.Mutex // guards every field below
	sess       *session
	subscribed bool // the socket's hello arrived and no Down since
	channels   map[string]*channel
	names      map[string]string           // staff ID → name
	presence   map[string]api.ChatPresence // staff ID → presence and status message, as last told
	outbox     []*outItem
	policy     api.ChatPolicy
	viewing    string // the channel on screen ("" none): its marker follows
	online     bool   // caught up since the last (re)connect
	subs       map[int]func()
	nextSub    int
	notice     func(Notice)
}

// channel is the memory of one channel. Guarded by Client.mu.
type channel struct {
	meta       api.ChatChannel
	msgs       []api.ChatMessage // kind message only, by seq, edits and deletes applied
	baseUnread int               // the broker's count at the last listing
	baseSeq    int64             // LastSeq at that listing
	reads      map[string]int64  // members' markers, for receipts
	haveReads  bool
	firstSeq   int64 // the oldest entry the broker still holds
}

// New returns an empty client.
func New(opt Options) *Client {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Keep <= 0 {
		opt.Keep = 200
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = time.Second
	}
	if opt.RetryMax <= 0 {
		opt.RetryMax = 30 * time.Second
	}
	if opt.IdleCheck <= 0 {
		opt.IdleCheck = 30 * time.Second
	}
	c := &Client{opt: opt, log: opt.Log, subs: map[int]func(){}}
	c.wipe()
	return c
}

// wipe forgets everything of the last session. Caller holds mu (or owns c).
func (c *Client) wipe() {
	c.channels = map[string]*channel{}
	c.names = map[string]string{}
	c.presence = map[string]api.ChatPresence{}
	c.outbox = nil
	c.policy = api.ChatPolicy{MaxChars: 4000, Receipts: true}
	c.viewing = ""
	c.online = false
}

// Start binds the client to a signed-in session of user me on a (core's
// OnSession); done ends it, and everything held is forgotten.
func (c *Client) Start(a *api.Client, me string, done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{c: c, api: a, me: me, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		idle: newIdle(c.opt.Now())}
	c.mu.Lock()
	if old := c.sess; old != nil {
		old.cancel()
	}
	c.wipe()
	c.sess = s
	if c.subscribed {
		// The socket was up before the session's chat was: catch up now.
		s.pushLocked(item{catchup: true})
	}
	c.mu.Unlock()
	go s.work()
	go s.sendLoop()
	go s.idleLoop()
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
		c.end(s)
	}()
	c.changed()
}

// end forgets the session s, if it is still the current one.
func (c *Client) end(s *session) {
	s.cancel()
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
		c.wipe()
	}
	c.mu.Unlock()
	c.changed()
}

// Subscribed implements core.EventSink.
func (c *Client) Subscribed() {
	c.mu.Lock()
	c.subscribed = true
	if s := c.sess; s != nil {
		s.pushLocked(item{catchup: true})
	}
	c.mu.Unlock()
}

// Event implements core.EventSink.
func (c *Client) Event(ev api.Event) {
	c.mu.Lock()
	if s := c.sess; s != nil {
		s.pushLocked(item{ev: ev})
	}
	c.mu.Unlock()
}

// Down implements core.EventSink.
func (c *Client) Down() {
	c.mu.Lock()
	c.subscribed = false
	was := c.online
	c.online = false
	c.mu.Unlock()
	if was {
		c.changed()
	}
}

// Subscribe calls fn (from any goroutine) after every change; the faces
// read the new state with the getters.
func (c *Client) Subscribe(fn func()) (cancel func()) {
	c.mu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

// OnNotice sets who hears of notices (the tray); nil for nobody.
func (c *Client) OnNotice(fn func(Notice)) {
	c.mu.Lock()
	c.notice = fn
	c.mu.Unlock()
}

func (c *Client) changed() {
	c.mu.Lock()
	fns := make([]func(), 0, len(c.subs))
	for _, f := range c.subs {
		fns = append(fns, f)
	}
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Active reports whether a session is bound.
func (c *Client) Active() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

// Online reports whether the socket is up and the history caught up.
func (c *Client) Online() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// Me is the signed-in staff ID ("" without a session).
func (c *Client) Me() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.me
}

// Policy is IT's chat policy as last read.
func (c *Client) Policy() api.ChatPolicy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policy
}

// Unread is the number of unread messages over the channels not muted.
func (c *Client) Unread() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ch := range c.channels {
		if !ch.meta.Muted {
			n += c.unreadLocked(ch)
		}
	}
	return n
}

// PendingCount is the number of messages still in the outbox.
func (c *Client) PendingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, o := range c.outbox {
		if o.state == Pending {
			n++
		}
	}
	return n
}

// Channels lists the channels: department channels first, then by the
// newest message.
func (c *Client) Channels() []Channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Channel, 0, len(c.channels))
	for _, ch := range c.channels {
		v := Channel{ID: ch.meta.ID, Kind: ch.meta.Kind, Name: c.channelNameLocked(ch), Department: ch.meta.Department,
			Members: slices.Clone(ch.meta.Members), Unread: c.unreadLocked(ch), Muted: ch.meta.Muted, Peer: c.peerLocked(ch)}
		if n := len(ch.msgs); n > 0 {
			v.LastAt = ch.msgs[n-1].At
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Channel) int {
		if (a.Kind == api.ChatDepartment) != (b.Kind == api.ChatDepartment) {
			if a.Kind == api.ChatDepartment {
				return -1
			}
			return 1
		}
		if c := b.LastAt.Compare(a.LastAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// peerLocked is the colleague of a direct channel ("" for others).
func (c *Client) peerLocked(ch *channel) string {
	if ch.meta.Kind == api.ChatDirect && c.sess != nil {
		for _, m := range ch.meta.Members {
			if m != c.sess.me {
				return m
			}
		}
	}
	return ""
}

// channelNameLocked names a channel: a direct one after the colleague.
func (c *Client) channelNameLocked(ch *channel) string {
	if p := c.peerLocked(ch); p != "" {
		return c.nameLocked(p)
	}
	if ch.meta.Name != "" {
		return ch.meta.Name
	}
	return ch.meta.ID
}

func (c *Client) nameLocked(id string) string {
	if n := c.names[id]; n != "" {
		return n
	}
	return id
}

// unreadLocked counts others' messages past the read marker: from what is
// held when the marker is within it, else from the broker's count.
func (c *Client) unreadLocked(ch *channel) int {
	me := ""
	if c.sess != nil {
		me = c.sess.me
	}
	read := ch.meta.ReadSeq
	n := 0
	held := int64(0)
	if len(ch.msgs) > 0 {
		held = ch.msgs[0].Seq
	}
	for _, m := range ch.msgs {
		if m.Sender == me || m.Deleted || m.Seq <= read {
			continue
		}
		if read < ch.baseSeq && m.Seq <= ch.baseSeq {
			continue // counted in baseUnread
		}
		n++
	}
	if read < ch.baseSeq && (held == 0 || read < held-1) {
		return n + ch.baseUnread
	}
	if read < ch.baseSeq {
		// The marker is within what is held: count it all from memory.
		for _, m := range ch.msgs {
			if m.Sender != me && !m.Deleted && m.Seq > read && m.Seq <= ch.baseSeq {
				n++
			}
		}
	}
	return n
}

// Messages returns a channel's messages, oldest first, then what the
// outbox holds for it.
func (c *Client) Messages(id string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.channels[id]
	var out []Message
	me := ""
	if c.sess != nil {
		me = c.sess.me
	}
	if ch != nil {
		for _, m := range ch.msgs {
			out = append(out, c.viewLocked(ch, m, me))
		}
	}
	for _, o := range c.outbox {
		if o.channel != id {
			continue
		}
		st := o.state
		if o.acked {
			st = Sent // stored; the feed brings it in its place in a moment
		}
		out = append(out, Message{Channel: id, Key: o.key, Sender: me, SenderName: c.nameLocked(me), Text: o.text,
			At: o.at, Quote: o.quote, QuoteName: o.quoteName(c), Mine: true, State: st, Err: o.err, ReadBy: -1})
	}
	return out
}

func (c *Client) viewLocked(ch *channel, m api.ChatMessage, me string) Message {
	v := Message{Channel: m.Channel, Seq: m.Seq, Key: m.Key, Sender: m.Sender, SenderName: c.nameLocked(m.Sender),
		Text: m.Text, At: m.At, Edited: !m.EditedAt.IsZero(), Deleted: m.Deleted, Quote: m.Quote,
		Mentions: m.Mentions, Mine: m.Sender == me, ReadBy: -1}
	v.Editable = v.Mine && !m.Deleted && m.Seq > 0 && m.Sender != "system" &&
		c.opt.Now().Before(m.At.Add(time.Duration(c.policy.EditWindowMinutes)*time.Minute))
	if m.Quote != nil {
		v.QuoteName = c.nameLocked(m.Quote.Sender)
	}
	if c.policy.Receipts && ch.haveReads {
		v.ReadBy = api.ChatReceipts{Reads: readsOf(ch)}.ReadBy(m.Seq, m.Sender)
	}
	return v
}

func readsOf(ch *channel) []api.ChatRead {
	out := make([]api.ChatRead, 0, len(ch.reads))
	for u, s := range ch.reads {
		out = append(out, api.ChatRead{Channel: ch.meta.ID, User: u, Seq: s})
	}
	return out
}

// Name returns a colleague's name as known (the ID when not).
func (c *Client) Name(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nameLocked(id)
}

// HasOlder reports whether the broker holds older messages than shown.
func (c *Client) HasOlder(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.channels[id]
	if ch == nil || len(ch.msgs) == 0 {
		return false
	}
	return ch.msgs[0].Seq > max(ch.firstSeq, 1)
}

// View says which channel is on screen ("" for none): its read marker
// follows what arrives, and it is not notified of.
func (c *Client) View(id string) {
	c.mu.Lock()
	c.viewing = id
	s := c.sess
	if s != nil && id != "" {
		s.pushLocked(item{view: id})
	}
	c.mu.Unlock()
}

// Viewing is the channel on screen.
func (c *Client) Viewing() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.viewing
}

// Send puts a message in the outbox; it is sent at once when the broker
// can be reached, else on reconnect, once (its key) and in order.
func (c *Client) Send(channelID, text string, replyTo int64) error {
	text = strings.TrimRight(text, " \t\r\n")
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sess
	if s == nil {
		return ErrNoSession
	}
	if max := c.policy.MaxChars; max > 0 && utf8.RuneCountInString(text) > max {
		return ErrTooLong
	}
	o := &outItem{key: newKey(), channel: channelID, text: text, replyTo: replyTo, at: c.opt.Now(), state: Pending}
	if ch := c.channels[channelID]; ch != nil && replyTo > 0 {
		if i, ok := find(ch.msgs, replyTo); ok {
			q := ch.msgs[i]
			o.quote = &api.ChatQuote{Seq: q.Seq, Sender: q.Sender, Text: q.Text}
		}
	}
	c.outbox = append(c.outbox, o)
	s.kickSender()
	go c.changed()
	return nil
}

// Retry puts a refused message back in the outbox.
func (c *Client) Retry(key string) {
	c.mu.Lock()
	for _, o := range c.outbox {
		if o.key == key && o.state == Failed {
			o.state, o.err = Pending, nil
			o.key = newKey() // a refused key stored nothing; a fresh one keeps the outbox's order simple
		}
	}
	if c.sess != nil {
		c.sess.kickSender()
	}
	c.mu.Unlock()
	c.changed()
}

// Discard drops a refused message from the outbox.
func (c *Client) Discard(key string) {
	c.mu.Lock()
	c.outbox = slices.DeleteFunc(c.outbox, func(o *outItem) bool { return o.key == key && o.state == Failed })
	c.mu.Unlock()
	c.changed()
}

// find returns the index of seq in msgs (sorted by seq).
func find(msgs []api.ChatMessage, seq int64) (int, bool) {
	return slices.BinarySearchFunc(msgs, seq, func(m api.ChatMessage, s int64) int { return cmp.Compare(m.Seq, s) })
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// session returns the bound session or ErrNoSession.
func (c *Client) session() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, ErrNoSession
	}
	return c.sess, nil
}
