package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Pusher sends unstored frames to users' open event sockets (the event
// hub). A user without an open socket gets nothing: they resume from the
// store when they connect.
type Pusher interface {
	PushLive(userIDs []string, typ string, data any)
}

// SeqPusher is a Pusher that keeps a stream's frames in sequence across
// brokers (the event hub): a channel's messages are pushed with it, as
// entry seq of stream StreamOf(channel).
type SeqPusher interface {
	PushSeq(userIDs []string, typ, stream string, seq int64, data any)
}

// streamPrefix names a channel's stream of messages on the event hub.
const streamPrefix = "chat/"

// StreamOf is the ordered stream of a channel's messages.
func StreamOf(channelID string) string { return streamPrefix + channelID }

// Directory is who works where (broker/auth): department channels follow it.
type Directory interface {
	User(ctx context.Context, id string) (api.User, error) // ErrNotFound when none
	// Department lists the department's staff.
	Department(ctx context.Context, dept string) ([]api.User, error)
	// Everyone lists all staff (colleague lookup, the presence sweep).
	Everyone(ctx context.Context) ([]api.User, error)
}

// Config is what a Service is built from.
type Config struct {
	Store     Store
	Directory Directory
	Push      Pusher
	Audit     audit.Recorder
	// Presence is optional (a one-shot command has none): without it
	// everyone reads as offline.
	Presence Presence
	// Marks keeps who is in a meeting and whose app is idle (the event
	// hub, so that every broker of a database sees the same); without
	// it (a one-shot command, which runs no meeting and serves no app)
	// nobody is.
	Marks Marks
	// Signals tells the other brokers of the database when member
	// lists change, and this one when they do (the event hub); without
	// it (a one-shot command) only this service's own lists are dropped
	// and the brokers see changes within memberMaxAge.
	Signals Signals
	Log     *slog.Logger
	Now     func() time.Time
}

// Limits of what a client may send.
const (
	MaxKey       = 64  // idempotency key, bytes
	MaxName      = 100 // group name, characters
	MaxMembers   = 500 // a group's members at once
	MaxPage      = 500 // history entries per page
	DefaultPage  = 100
	MaxQuery     = 100 // search text, characters
	MaxHits      = 100
	quoteChars   = 100
	shortScan    = 200_000
	defaultHits  = 50
	maxMentions  = 50
	maxPeople    = 50
	minEditLimit = 0
	maxEditLimit = 7 * 24 * 60
)

// DefaultPolicy is the policy before IT sets one.
var DefaultPolicy = api.ChatPolicy{MaxChars: 4000, EditWindowMinutes: 60, Receipts: true, RetentionDays: 5 * 365,
	WorkStart: "08:30", WorkEnd: "17:15", IdleMinutes: 10}

// Bounds of the idle time before the app says 離席中, in minutes.
const (
	minIdle = 1
	maxIdle = 240
)

// Retention bounds, in days, as for the operation log.
const (
	minRetention = 30
	maxRetention = 30 * 365
)

// lockShards bounds the per-channel locks: enough that unrelated
// channels rarely share one.
const lockShards = 64

// Service is the chat domain.
type Service struct {
	st    Store
	dir   Directory
	push  Pusher
	audit audit.Recorder
	log   *slog.Logger
	now   func() time.Time

	// locks serialize appends to a channel with their pushes, so live
	// frames leave in sequence order.
	locks [lockShards]sync.Mutex

	deptMu   sync.Mutex        // guards deptChan
	deptChan map[string]string // department → channel ID

	// The policy is read on every send: kept in memory, written through.
	polMu sync.Mutex // guards pol
	pol   *api.ChatPolicy

	presence Presence
	marks    Marks

	mc      *memberCache // who is in each channel (members.go)
	signals Signals

	tellMu    sync.Mutex        // one tell at a time, each pushing states read under it
	sweepMu   sync.Mutex        // guards told; one sweep at a time
	told      map[string]string // presence state last told, by user
	sweptOnce bool
}

// New builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Directory == nil || cfg.Push == nil || cfg.Audit == nil {
		return nil, errors.New("chat: store, directory, pusher and audit are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: cfg.Store, dir: cfg.Directory, push: cfg.Push, audit: cfg.Audit, log: cfg.Log, now: cfg.Now,
		deptChan: map[string]string{}, presence: cfg.Presence, marks: cfg.Marks,
		told: map[string]string{}, mc: newMemberCache(), signals: cfg.Signals}
	if cfg.Signals != nil {
		cfg.Signals.OnSignal(SignalTopic, s.mc.drop)
	}
	return s, nil
}

func (s *Service) lock(channelID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(channelID))
	return &s.locks[h.Sum32()%lockShards]
}

func (s *Service) record(ctx context.Context, actor, action, target string, kv ...string) {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: action, Target: target, Fields: f}); err != nil {
		s.log.Error("chat: audit record failed", "action", action, "err", err)
	}
}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Policy returns the policy in force.
func (s *Service) Policy(ctx context.Context) api.ChatPolicy {
	s.polMu.Lock()
	defer s.polMu.Unlock()
	if s.pol != nil {
		return *s.pol
	}
	p, ok, err := s.st.ChatPolicy(ctx)
	if err != nil {
		return DefaultPolicy // not kept: read again next time
	}
	if !ok {
		p = DefaultPolicy
	}
	if p.RetentionDays == 0 {
		p.RetentionDays = DefaultPolicy.RetentionDays
	}
	if p.WorkStart == "" || p.WorkEnd == "" {
		p.WorkStart, p.WorkEnd = DefaultPolicy.WorkStart, DefaultPolicy.WorkEnd
	}
	if p.IdleMinutes == 0 { // a policy stored before the setting existed
		p.IdleMinutes = DefaultPolicy.IdleMinutes
	}
	s.pol = &p
	return p
}

// SetPolicy changes the policy; the reason is recorded.
func (s *Service) SetPolicy(ctx context.Context, actor string, up api.ChatPolicyUpdate) (api.ChatPolicy, error) {
	if e := api.CheckText("reason", up.Reason, 500); e != nil {
		return api.ChatPolicy{}, e
	}
	if strings.TrimSpace(up.Reason) == "" {
		return api.ChatPolicy{}, api.Err(api.CodeValidation, "reason: say why the chat policy changes")
	}
	p := s.Policy(ctx)
	var changes []string
	if up.MaxChars != nil {
		if *up.MaxChars < 1 || *up.MaxChars > 20000 {
			return p, api.Err(api.CodeValidation, "max_chars: 1 to 20000")
		}
		p.MaxChars = *up.MaxChars
		changes = append(changes, "max_chars", strconv.Itoa(p.MaxChars))
	}
	if up.EditWindowMinutes != nil {
		if *up.EditWindowMinutes < minEditLimit || *up.EditWindowMinutes > maxEditLimit {
			return p, api.Errf(api.CodeValidation, "edit_window_minutes: %d to %d", minEditLimit, maxEditLimit)
		}
		p.EditWindowMinutes = *up.EditWindowMinutes
		changes = append(changes, "edit_window_minutes", strconv.Itoa(p.EditWindowMinutes))
	}
	if up.RetentionDays != nil {
		if *up.RetentionDays < minRetention || *up.RetentionDays > maxRetention {
			return p, api.Errf(api.CodeValidation, "retention_days: %d to %d", minRetention, maxRetention)
		}
		p.RetentionDays = *up.RetentionDays
		changes = append(changes, "retention_days", strconv.Itoa(p.RetentionDays))
	}
	if up.WorkStart != nil || up.WorkEnd != nil {
		start, end := p.WorkStart, p.WorkEnd
		if up.WorkStart != nil {
			start = *up.WorkStart
		}
		if up.WorkEnd != nil {
			end = *up.WorkEnd
		}
		if !api.ValidClock(start) || !api.ValidClock(end) || start >= end {
			return p, api.Err(api.CodeValidation, "work_start, work_end: HH:MM (JST), the start before the end")
		}
		p.WorkStart, p.WorkEnd = start, end
		changes = append(changes, "work_start", start, "work_end", end)
	}
	if up.IdleMinutes != nil {
		if *up.IdleMinutes < minIdle || *up.IdleMinutes > maxIdle {
			return p, api.Errf(api.CodeValidation, "idle_minutes: %d to %d", minIdle, maxIdle)
		}
		p.IdleMinutes = *up.IdleMinutes
		changes = append(changes, "idle_minutes", strconv.Itoa(p.IdleMinutes))
	}
	if up.Receipts != nil {
		p.Receipts = *up.Receipts
		changes = append(changes, "receipts", strconv.FormatBool(p.Receipts))
	}
	if err := s.st.PutChatPolicy(ctx, p); err != nil {
		return p, err
	}
	s.polMu.Lock()
	s.pol = &p
	s.polMu.Unlock()
	s.record(ctx, actor, "admin.chat_policy_changed", "", append(changes, "reason", up.Reason)...)
	return p, nil
}

// access returns the channel if u is in it. Anything else, including a
// channel that does not exist, is CodeChatNoChannel.
func (s *Service) access(ctx context.Context, u api.User, id string) (Channel, error) {
	noChannel := api.Err(api.CodeChatNoChannel)
	if id == "" || len(id) > 64 {
		return Channel{}, noChannel
	}
	c, err := s.st.GetChannel(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Channel{}, noChannel
	}
	if err != nil {
		return Channel{}, err
	}
	if c.Kind == api.ChatDepartment {
		// The roster decides, as the caller's record reads now.
		if u.Department == "" || u.Department != c.Department {
			return Channel{}, noChannel
		}
		return c, nil
	}
	ok, err := s.isMember(ctx, c, u.ID)
	if err != nil {
		return Channel{}, err
	}
	if !ok {
		return Channel{}, noChannel
	}
	return c, nil
}

// departmentChannel returns the department's channel, made on first use.
func (s *Service) departmentChannel(ctx context.Context, dept string) (string, error) {
	s.deptMu.Lock()
	id, ok := s.deptChan[dept]
	s.deptMu.Unlock()
	if ok {
		return id, nil
	}
	c, err := s.st.DepartmentChannel(ctx, dept)
	if errors.Is(err, ErrNotFound) {
		c = Channel{ID: newID("c"), Kind: api.ChatDepartment, Name: dept, Department: dept, CreatedBy: "system", CreatedAt: s.now()}
		err = s.st.CreateChannel(ctx, c, nil)
		if errors.Is(err, ErrConflict) {
			c, err = s.st.DepartmentChannel(ctx, dept)
		}
	}
	if err != nil {
		return "", err
	}
	s.deptMu.Lock()
	s.deptChan[dept] = c.ID
	s.deptMu.Unlock()
	return c.ID, nil
}

func (s *Service) view(ctx context.Context, cs ChannelState, withMembers bool) (api.ChatChannel, error) {
	out := api.ChatChannel{ID: cs.ID, Kind: cs.Kind, Name: cs.Name, Department: cs.Department, LastSeq: cs.LastSeq,
		ReadSeq: cs.ReadSeq, Unread: cs.Unread, Muted: cs.Muted, CreatedAt: cs.CreatedAt}
	if withMembers || cs.Kind == api.ChatDirect {
		ms, err := s.members(ctx, cs.Channel)
		if err != nil {
			return out, err
		}
		out.Members = ms
	}
	return out, nil
}

// Channels lists the channels u is in, with last sequence and unread count.
func (s *Service) Channels(ctx context.Context, u api.User) (api.ChatChannelList, error) {
	if u.Department != "" {
		if _, err := s.departmentChannel(ctx, u.Department); err != nil {
			return api.ChatChannelList{}, err
		}
	}
	cs, err := s.st.ChannelsOf(ctx, u.ID, u.Department)
	if err != nil {
		return api.ChatChannelList{}, err
	}
	out := api.ChatChannelList{Channels: make([]api.ChatChannel, 0, len(cs))}
	for _, c := range cs {
		v, err := s.view(ctx, c, false)
		if err != nil {
			return out, err
		}
		out.Channels = append(out.Channels, v)
	}
	return out, nil
}

// Channel returns one channel u is in, with its members.
func (s *Service) Channel(ctx context.Context, u api.User, id string) (api.ChatChannel, error) {
	if _, err := s.access(ctx, u, id); err != nil {
		return api.ChatChannel{}, err
	}
	cs, err := s.st.ChannelsOf(ctx, u.ID, u.Department)
	if err != nil {
		return api.ChatChannel{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return s.view(ctx, c, true)
		}
	}
	return api.ChatChannel{}, api.Err(api.CodeChatNoChannel)
}

// colleagues checks staff IDs and returns them normalized and unique.
func (s *Service) colleagues(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) > MaxMembers {
		return nil, api.Errf(api.CodeValidation, "members: at most %d at once", MaxMembers)
	}
	var out []string
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" || len(id) > 64 {
			return nil, api.Err(api.CodeValidation, "members: staff IDs of 1 to 64 characters")
		}
		u, err := s.dir.User(ctx, id)
		if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
			return nil, api.Errf(api.CodeChatNoColleague, "%q", api.Printable(id))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u.ID)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CreateGroup makes an ad hoc group of u and the members.
func (s *Service) CreateGroup(ctx context.Context, u api.User, req api.ChatCreateGroup) (api.ChatChannel, error) {
	name := strings.TrimSpace(req.Name)
	if e := api.CheckText("name", name, MaxName); e != nil {
		return api.ChatChannel{}, e
	}
	if name == "" {
		return api.ChatChannel{}, api.Err(api.CodeValidation, "name: give the group a name")
	}
	ms, err := s.colleagues(ctx, append(slices.Clone(req.Members), u.ID))
	if err != nil {
		return api.ChatChannel{}, err
	}
	c := Channel{ID: newID("c"), Kind: api.ChatGroup, Name: name, CreatedBy: u.ID, CreatedAt: s.now()}
	if err := s.st.CreateChannel(ctx, c, ms); err != nil {
		return api.ChatChannel{}, err
	}
	s.membersChanged(keyChannel + c.ID)
	s.record(ctx, u.ID, "chat.group_created", c.ID, "members", strconv.Itoa(len(ms)))
	v := api.ChatChannel{ID: c.ID, Kind: c.Kind, Name: c.Name, Members: ms, CreatedAt: c.CreatedAt}
	s.push.PushLive(ms, api.EventChatChannel, v)
	return v, nil
}

// Direct returns the direct channel of u and another, made on first use.
func (s *Service) Direct(ctx context.Context, u api.User, req api.ChatDirectRequest) (api.ChatChannel, error) {
	ms, err := s.colleagues(ctx, []string{req.User, u.ID})
	if err != nil {
		return api.ChatChannel{}, err
	}
	if len(ms) != 2 {
		return api.ChatChannel{}, api.Err(api.CodeValidation, "user: a colleague other than yourself")
	}
	key := ms[0] + " " + ms[1]
	c, err := s.st.DirectChannel(ctx, key)
	if errors.Is(err, ErrNotFound) {
		c = Channel{ID: newID("c"), Kind: api.ChatDirect, DirectKey: key, CreatedBy: u.ID, CreatedAt: s.now()}
		err = s.st.CreateChannel(ctx, c, ms)
		if errors.Is(err, ErrConflict) {
			c, err = s.st.DirectChannel(ctx, key)
		} else if err == nil {
			s.membersChanged(keyChannel + c.ID)
			s.push.PushLive(ms, api.EventChatChannel, api.ChatChannel{ID: c.ID, Kind: c.Kind, Members: ms, CreatedAt: c.CreatedAt})
		}
	}
	if err != nil {
		return api.ChatChannel{}, err
	}
	return s.Channel(ctx, u, c.ID)
}

// AddMembers adds colleagues to a group u is in. Only a member may add
// (access answers a non-member as if the group did not exist); a
// department's members are its staff in the roster and a direct channel
// is two people, so neither takes members by hand.
func (s *Service) AddMembers(ctx context.Context, u api.User, id string, req api.ChatMembersRequest) (api.ChatChannel, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatChannel{}, err
	}
	if c.Kind != api.ChatGroup {
		return api.ChatChannel{}, api.Err(api.CodeChatNotGroup)
	}
	if len(req.Members) == 0 {
		return api.ChatChannel{}, api.Err(api.CodeValidation, "members: pick at least one colleague to add")
	}
	ms, err := s.colleagues(ctx, req.Members)
	if err != nil {
		return api.ChatChannel{}, err
	}
	if err := s.st.AddMembers(ctx, id, ms, s.now()); err != nil {
		return api.ChatChannel{}, err
	}
	s.membersChanged(keyChannel + id)
	s.record(ctx, u.ID, "chat.members_added", id, "members", strings.Join(ms, ","))
	v, err := s.Channel(ctx, u, id)
	if err == nil {
		// Everyone in it: the new members learn of the group, the others
		// of its new member list.
		s.push.PushLive(v.Members, api.EventChatChannel, shared(v))
	}
	return v, err
}

// Rename renames a group u is in; its members are told (chat.channel).
func (s *Service) Rename(ctx context.Context, u api.User, id string, req api.ChatRenameRequest) (api.ChatChannel, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatChannel{}, err
	}
	if c.Kind != api.ChatGroup {
		return api.ChatChannel{}, api.Err(api.CodeChatNotGroup, "only a group can be renamed")
	}
	name := strings.TrimSpace(req.Name)
	if e := api.CheckText("name", name, MaxName); e != nil {
		return api.ChatChannel{}, e
	}
	if name == "" {
		return api.ChatChannel{}, api.Err(api.CodeValidation, "name: give the group a name")
	}
	if err := s.st.RenameChannel(ctx, id, name); errors.Is(err, ErrNotFound) {
		return api.ChatChannel{}, api.Err(api.CodeChatNoChannel)
	} else if err != nil {
		return api.ChatChannel{}, err
	}
	s.record(ctx, u.ID, "chat.group_renamed", id, "chars", strconv.Itoa(utf8.RuneCountInString(name)))
	v, err := s.Channel(ctx, u, id)
	if err == nil {
		s.push.PushLive(v.Members, api.EventChatChannel, shared(v))
	}
	return v, err
}

// shared is a channel as told to all its members: without the caller's
// own read marker, unread count and mute, which are nobody else's.
func shared(v api.ChatChannel) api.ChatChannel {
	v.ReadSeq, v.Unread, v.Muted = 0, 0, false
	return v
}

// Leave takes u out of a group.
func (s *Service) Leave(ctx context.Context, u api.User, id string) error {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return err
	}
	if c.Kind != api.ChatGroup {
		return api.Err(api.CodeChatNotGroup, "only a group can be left")
	}
	if err := s.st.RemoveMember(ctx, id, u.ID); err != nil {
		return err
	}
	s.membersChanged(keyChannel + id)
	s.record(ctx, u.ID, "chat.group_left", id)
	return nil
}

// checkKey validates an idempotency key.
func checkKey(k string) error {
	if k == "" || len(k) > MaxKey {
		return api.Errf(api.CodeValidation, "key: 1 to %d characters, chosen once per message (a UUID)", MaxKey)
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return api.Err(api.CodeValidation, "key: letters, digits and - _ . : only")
		}
	}
	return nil
}

// checkBody validates a message text: lines and tabs are allowed, other
// control and invisible direction characters are not.
func checkBody(text string, maxChars int) (string, error) {
	if !utf8.ValidString(text) {
		return "", api.Err(api.CodeValidation, "text: not valid UTF-8 text")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return "", api.Err(api.CodeChatEmpty)
	}
	if n := utf8.RuneCountInString(text); n > maxChars {
		return "", api.Errf(api.CodeChatTooLong, "at most %d characters (this has %d)", maxChars, n)
	}
	plain := strings.NewReplacer("\n", " ", "\t", " ").Replace(text)
	if r, bad := api.Unsafe(plain); bad {
		return "", api.Errf(api.CodeValidation, "text: contains an invisible or control character (%U); use plain text", r)
	}
	return text, nil
}

// mentions finds @staff-id of the channel's members in text.
func mentions(text string, members []string) []string {
	var out []string
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		j := i + 1
		for j < len(text) && isIDByte(text[j]) {
			j++
		}
		id := strings.ToLower(text[i+1 : j])
		if id != "" && slices.Contains(members, id) && !slices.Contains(out, id) && len(out) < maxMentions {
			out = append(out, id)
		}
		i = j - 1
	}
	return out
}

func isIDByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.'
}

// Send stores a message and pushes it to the members. A retry with the
// same key returns the stored message and stores nothing.
func (s *Service) Send(ctx context.Context, u api.User, id string, req api.ChatSendRequest) (api.ChatMessage, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatMessage{}, err
	}
	if err := checkKey(req.Key); err != nil {
		return api.ChatMessage{}, err
	}
	text, err := checkBody(req.Text, s.Policy(ctx).MaxChars)
	if err != nil {
		return api.ChatMessage{}, err
	}
	if req.ReplyTo < 0 {
		return api.ChatMessage{}, api.Err(api.CodeValidation, "reply_to: a message's seq")
	}
	m := api.ChatMessage{Channel: id, Kind: api.ChatKindMessage, Sender: u.ID, Key: req.Key, Text: text,
		ReplyTo: req.ReplyTo, At: s.now()}
	if req.ReplyTo > 0 {
		q, err := s.st.Message(ctx, id, req.ReplyTo)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && q.Kind != api.ChatKindMessage):
			return api.ChatMessage{}, api.Errf(api.CodeChatNoMessage, "reply_to %d", req.ReplyTo)
		case err != nil:
			return api.ChatMessage{}, err
		}
		qt := q.Text
		if r := []rune(qt); len(r) > quoteChars {
			qt = string(r[:quoteChars]) + "…"
		}
		m.Quote = &api.ChatQuote{Seq: q.Seq, Sender: q.Sender, Text: qt}
	}
	stored, existed, err := s.appendAndPush(ctx, c, m, func(members []string, m *api.ChatMessage) { m.Mentions = mentions(text, members) })
	if err != nil {
		return api.ChatMessage{}, err
	}
	if existed {
		if stored.Channel != id || stored.Kind != api.ChatKindMessage || stored.Text != text || stored.ReplyTo != req.ReplyTo {
			return api.ChatMessage{}, api.Err(api.CodeChatKeyReused)
		}
		return stored, nil
	}
	// Metadata only: the operation log never holds what staff wrote.
	s.record(ctx, u.ID, "chat.message_sent", id, "seq", strconv.FormatInt(stored.Seq, 10), "kind", c.Kind,
		"chars", strconv.Itoa(utf8.RuneCountInString(text)), "mentions", strconv.Itoa(len(stored.Mentions)),
		"reply", strconv.FormatBool(stored.ReplyTo > 0))
	return stored, nil
}

// appendAndPush stores m (prepare may fill it from the members) and
// pushes it, under the channel's lock so that frames leave in sequence
// order. A stored entry that came back (a retry) is not pushed again:
// whoever missed it then finds it by sequence when they resume.
func (s *Service) appendAndPush(ctx context.Context, c Channel, m api.ChatMessage, prepare func(members []string, m *api.ChatMessage)) (api.ChatMessage, bool, error) {
	members, err := s.members(ctx, c)
	if err != nil {
		return m, false, err
	}
	if prepare != nil {
		prepare(members, &m)
	}
	l := s.lock(c.ID)
	l.Lock()
	defer l.Unlock()
	stored, existed, err := s.st.Append(ctx, m)
	switch {
	case errors.Is(err, ErrNotFound):
		return m, false, api.Errf(api.CodeChatNoMessage, "seq %d", m.Target)
	case errors.Is(err, ErrGone):
		return m, false, api.Err(api.CodeChatDeleted)
	case err != nil:
		return m, false, err
	}
	if !existed {
		if sp, ok := s.push.(SeqPusher); ok {
			sp.PushSeq(members, api.EventChatMessage, StreamOf(c.ID), stored.Seq, stored)
		} else {
			s.push.PushLive(members, api.EventChatMessage, stored)
		}
	}
	return stored, existed, nil
}

// maxFill bounds the entries Fill reads for one gap: past it the app
// pages in the rest of the gap itself, as after any gap it sees.
const maxFill = MaxPage

// Fill reads a channel's entries after after and before before, for the
// event hub to send ahead of a frame that arrived past a gap (two
// brokers' messages to one channel crossed on the way). Members of the
// channel get them, as they got the frame: no authorization is asked
// here.
func (s *Service) Fill(ctx context.Context, stream string, after, before int64) ([]any, error) {
	id, ok := strings.CutPrefix(stream, streamPrefix)
	if !ok || before <= after+1 {
		return nil, nil
	}
	ms, err := s.st.After(ctx, id, after, int(min(before-after-1, maxFill)))
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		if m.Seq < before {
			out = append(out, m)
		}
	}
	return out, nil
}

// Edit changes the text of u's own message within the edit window.
func (s *Service) Edit(ctx context.Context, u api.User, id string, seq int64, req api.ChatEditRequest) (api.ChatMessage, error) {
	c, target, err := s.own(ctx, u, id, seq)
	if err != nil {
		return api.ChatMessage{}, err
	}
	if err := checkKey(req.Key); err != nil {
		return api.ChatMessage{}, err
	}
	text, err := checkBody(req.Text, s.Policy(ctx).MaxChars)
	if err != nil {
		return api.ChatMessage{}, err
	}
	m := api.ChatMessage{Channel: id, Kind: api.ChatKindEdit, Sender: u.ID, Key: req.Key, Text: text, Target: target.Seq, At: s.now()}
	stored, existed, err := s.appendAndPush(ctx, c, m, nil)
	if err != nil {
		return api.ChatMessage{}, err
	}
	if existed {
		if stored.Channel != id || stored.Kind != api.ChatKindEdit || stored.Target != seq || stored.Text != text {
			return api.ChatMessage{}, api.Err(api.CodeChatKeyReused)
		}
		return stored, nil
	}
	s.record(ctx, u.ID, "chat.message_edited", id, "seq", strconv.FormatInt(stored.Seq, 10),
		"target", strconv.FormatInt(seq, 10), "chars", strconv.Itoa(utf8.RuneCountInString(text)))
	return stored, nil
}

// Delete marks u's own message deleted within the edit window; its text
// is kept for the record. Deleting it again returns the same entry.
func (s *Service) Delete(ctx context.Context, u api.User, id string, seq int64) (api.ChatMessage, error) {
	c, target, err := s.own(ctx, u, id, seq)
	if errors.Is(err, api.Err(api.CodeChatDeleted)) {
		err = nil // deleting again is the same delete
	}
	if err != nil {
		return api.ChatMessage{}, err
	}
	m := api.ChatMessage{Channel: id, Kind: api.ChatKindDelete, Sender: u.ID, Key: deleteKey(id, target.Seq),
		Target: target.Seq, At: s.now()}
	stored, existed, err := s.appendAndPush(ctx, c, m, nil)
	if err != nil {
		return api.ChatMessage{}, err
	}
	if !existed {
		s.record(ctx, u.ID, "chat.message_deleted", id, "seq", strconv.FormatInt(stored.Seq, 10), "target", strconv.FormatInt(seq, 10))
	}
	return stored, nil
}

// deleteKey is the idempotency key of a delete: one per message, in a
// form checkKey refuses, so no client key can take it.
func deleteKey(channel string, seq int64) string {
	return "~delete/" + channel + "/" + strconv.FormatInt(seq, 10)
}

// own returns u's message seq of channel id, if u may still change it.
func (s *Service) own(ctx context.Context, u api.User, id string, seq int64) (Channel, api.ChatMessage, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return c, api.ChatMessage{}, err
	}
	if seq <= 0 {
		return c, api.ChatMessage{}, api.Err(api.CodeValidation, "seq: a message's sequence number")
	}
	m, err := s.st.Message(ctx, id, seq)
	if errors.Is(err, ErrNotFound) || (err == nil && m.Kind != api.ChatKindMessage) {
		return c, m, api.Errf(api.CodeChatNoMessage, "seq %d", seq)
	}
	if err != nil {
		return c, m, err
	}
	if m.Sender != u.ID {
		return c, m, api.Err(api.CodeChatNotYours)
	}
	if m.Deleted {
		return c, m, api.Err(api.CodeChatDeleted)
	}
	window := time.Duration(s.Policy(ctx).EditWindowMinutes) * time.Minute
	if s.now().Sub(m.At) > window {
		return c, m, api.Errf(api.CodeChatEditClosed, "%d minutes", s.Policy(ctx).EditWindowMinutes)
	}
	return c, m, nil
}

// History returns a page of a channel's entries: after a sequence (to
// resume; after < 0 means not asked), before one (to scroll back), or
// the newest.
func (s *Service) History(ctx context.Context, u api.User, id string, after, before int64, limit int) (api.ChatHistory, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatHistory{}, err
	}
	if limit <= 0 {
		limit = DefaultPage
	}
	limit = min(limit, MaxPage)
	h := api.ChatHistory{Channel: id}
	var ms []api.ChatMessage
	switch {
	case after >= 0:
		ms, err = s.st.After(ctx, id, after, limit+1)
		if len(ms) > limit {
			ms, h.More = ms[:limit], true
		}
	default:
		if before <= 0 {
			before = c.LastSeq + 1
		}
		ms, err = s.st.Before(ctx, id, before, limit+1)
		if len(ms) > limit {
			ms, h.More = ms[1:], true
		}
	}
	if err != nil {
		return h, err
	}
	if ms == nil {
		ms = []api.ChatMessage{}
	}
	h.Messages = ms
	if h.FirstSeq, err = s.st.FirstSeq(ctx, id); err != nil {
		return h, err
	}
	// Read after the page, so LastSeq is never behind what the page holds.
	if c2, err := s.st.GetChannel(ctx, id); err == nil {
		h.LastSeq = c2.LastSeq
	}
	return h, nil
}

// MarkRead moves u's read marker forward and tells the members (既読).
func (s *Service) MarkRead(ctx context.Context, u api.User, id string, seq int64) (api.ChatRead, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatRead{}, err
	}
	if seq < 0 {
		return api.ChatRead{}, api.Err(api.CodeValidation, "seq: 0 or more")
	}
	c2, err := s.st.GetChannel(ctx, id)
	if err != nil {
		return api.ChatRead{}, err
	}
	seq = min(seq, c2.LastSeq) // a marker past the end would hide messages still to come
	got, err := s.st.MarkRead(ctx, id, u.ID, seq)
	if err != nil {
		return api.ChatRead{}, err
	}
	r := api.ChatRead{Channel: id, User: u.ID, Seq: got}
	if s.Policy(ctx).Receipts {
		if ms, err := s.members(ctx, c); err == nil {
			s.push.PushLive(ms, api.EventChatRead, r)
		}
	} else {
		s.push.PushLive([]string{u.ID}, api.EventChatRead, r)
	}
	return r, nil
}

// SetMuted mutes or unmutes a channel for u.
func (s *Service) SetMuted(ctx context.Context, u api.User, id string, muted bool) error {
	if _, err := s.access(ctx, u, id); err != nil {
		return err
	}
	return s.st.SetMuted(ctx, id, u.ID, muted)
}

// Receipts returns the members' read markers, when IT allows receipts;
// otherwise only the caller's own.
func (s *Service) Receipts(ctx context.Context, u api.User, id string) (api.ChatReceipts, error) {
	c, err := s.access(ctx, u, id)
	if err != nil {
		return api.ChatReceipts{}, err
	}
	marks, err := s.st.Marks(ctx, id)
	if err != nil {
		return api.ChatReceipts{}, err
	}
	members, err := s.members(ctx, c)
	if err != nil {
		return api.ChatReceipts{}, err
	}
	receipts := s.Policy(ctx).Receipts
	out := api.ChatReceipts{Channel: id, Reads: []api.ChatRead{}}
	for _, m := range marks {
		// Only current members count: someone who left the department
		// no longer reads along.
		if !slices.Contains(members, m.User) || (!receipts && m.User != u.ID) {
			continue
		}
		out.Reads = append(out.Reads, m)
	}
	return out, nil
}

// People finds colleagues by ID, name or department.
func (s *Service) People(ctx context.Context, u api.User, q string) (api.ChatPeople, error) {
	q = strings.TrimSpace(q)
	if e := api.CheckText("q", q, MaxQuery); e != nil {
		return api.ChatPeople{}, e
	}
	if q == "" {
		return api.ChatPeople{}, api.Err(api.CodeValidation, "q: a name, part of one, or a staff ID")
	}
	us, err := s.dir.Everyone(ctx)
	if err != nil {
		return api.ChatPeople{}, err
	}
	fq := foldName(q)
	out := api.ChatPeople{People: []api.ChatPerson{}}
	for _, x := range us {
		if x.Disabled || !(strings.Contains(x.ID, fq) || strings.Contains(foldName(x.Name), fq) || strings.Contains(foldName(x.Kana), fq) ||
			strings.Contains(foldName(x.Department), fq)) {
			continue
		}
		out.People = append(out.People, api.ChatPerson{ID: x.ID, Name: x.Name, Department: x.Department})
		if len(out.People) == maxPeople {
			break
		}
	}
	return out, nil
}

// foldName makes the ways a name is typed compare alike: katakana as
// hiragana (ヤマダ finds やまだ), full-width letters and digits as ASCII,
// ASCII in lower case, the ideographic space as a space.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x30A1 && r <= 0x30F6: // katakana ァ..ヶ
			return r - 0x60
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000:
			return ' '
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}, s)
}

// Search finds messages containing q in the channels u is in (or in one).
func (s *Service) Search(ctx context.Context, u api.User, q, channel string, limit int) (api.ChatSearchResult, error) {
	if e := api.CheckText("q", q, MaxQuery); e != nil {
		return api.ChatSearchResult{}, e
	}
	if strings.TrimSpace(q) == "" {
		return api.ChatSearchResult{}, api.Err(api.CodeValidation, "q: the text to find")
	}
	if limit <= 0 {
		limit = defaultHits
	}
	limit = min(limit, MaxHits)
	var ids []string
	if channel != "" {
		if _, err := s.access(ctx, u, channel); err != nil {
			return api.ChatSearchResult{}, err
		}
		ids = []string{channel}
	} else {
		// The IDs only: counting each channel's unread (ChannelsOf) was
		// most of a search's time over a large history.
		if u.Department != "" {
			if _, err := s.departmentChannel(ctx, u.Department); err != nil {
				return api.ChatSearchResult{}, err
			}
		}
		var err error
		if ids, err = s.st.ChannelIDsOf(ctx, u.ID, u.Department); err != nil {
			return api.ChatSearchResult{}, err
		}
	}
	out := api.ChatSearchResult{Query: q, Hits: []api.ChatHit{}}
	if len(ids) == 0 {
		return out, nil
	}
	hits, partial, err := s.st.Search(ctx, SearchQuery{Channels: ids, Text: q, Limit: limit, ScanLimit: shortScan})
	if err != nil {
		return out, err
	}
	out.Partial = partial
	for _, m := range hits {
		out.Hits = append(out.Hits, api.ChatHit{Message: m, Spans: Spans(m.Text, q)})
	}
	return out, nil
}

// Spans finds every occurrence of q in text, in characters, ignoring
// the case of ASCII letters as the index does.
func Spans(text, q string) []api.ChatSpan {
	t, p := []rune(foldASCII(text)), []rune(foldASCII(q))
	var out []api.ChatSpan
	if len(p) == 0 {
		return out
	}
	for i := 0; i+len(p) <= len(t); i++ {
		if slices.Equal(t[i:i+len(p)], p) {
			out = append(out, api.ChatSpan{Start: i, End: i + len(p)})
			i += len(p) - 1
		}
	}
	return out
}

func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// ParseSeq reads a sequence number from a path or query.
func ParseSeq(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, api.Errf(api.CodeValidation, "%s: a sequence number (0 or more)", name)
	}
	return n, nil
}
