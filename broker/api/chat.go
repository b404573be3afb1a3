package api

import "time"

// Chat channel kinds.
const (
	ChatDepartment = "department" // one per department; members are the department's current staff
	ChatGroup      = "group"      // ad hoc, members chosen by its creator and members
	ChatDirect     = "direct"     // two people
)

// Chat entry kinds. Every change to a channel is an entry with the next
// sequence number of that channel, so an app that replays the entries in
// order ends with the channel as the broker has it.
const (
	ChatKindMessage = "message"
	ChatKindEdit    = "edit"   // Target: the seq edited; Text: the new text
	ChatKindDelete  = "delete" // Target: the seq deleted
)

// Chat frames on the event socket. They carry Seq 0: chat is stored once
// per channel, not per user, so these frames are pushed live and never
// replayed by the socket; an app resumes from each channel's own sequence
// (GET /v1/chat/channels, then .../messages?after=).
const (
	EventChatMessage  = "chat.message"  // Data: ChatMessage (any kind)
	EventChatRead     = "chat.read"     // Data: ChatRead (a member's read marker moved)
	EventChatChannel  = "chat.channel"  // Data: ChatChannel (the user joined a channel)
	EventChatPresence = "chat.presence" // Data: ChatPresence (a colleague of the department set a status)
)

// Presence states, derived from what the broker knows, in this order of
// precedence.
const (
	PresenceMeeting  = "meeting"  // 会議中: a participant of a web meeting now
	PresenceAway     = "away"     // 離席中: the app says its user is idle
	PresenceTelework = "telework" // テレワーク中: connected to the office PC (a granted slot)
	PresenceOnline   = "online"   // オンライン: the app (or office page) is open
	PresenceOffline  = "offline"  // オフライン
)

// ChatPresence is one colleague's presence and status message.
type ChatPresence struct {
	User       string `json:"user"`
	Name       string `json:"name"`
	Department string `json:"department"`
	State      string `json:"state"`
	Status     string `json:"status,omitempty"` // their own words, e.g. 午後は窓口
}

// ChatPresenceList is GET /v1/chat/presence.
type ChatPresenceList struct {
	People []ChatPresence `json:"people"`
}

// ChatStatusRequest is PUT /v1/chat/status; nil fields are unchanged.
type ChatStatusRequest struct {
	Message *string `json:"message,omitempty"` // at most 100 characters; "" clears it
	Away    *bool   `json:"away,omitempty"`    // the app's idle detection
}

// ChatChannel is a channel as one member sees it.
type ChatChannel struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Department string    `json:"department,omitempty"`
	Members    []string  `json:"members,omitempty"` // groups and direct messages; a department's are its staff
	LastSeq    int64     `json:"last_seq"`          // the channel's newest entry
	ReadSeq    int64     `json:"read_seq"`          // the caller's read marker
	Unread     int       `json:"unread"`            // messages of others after ReadSeq
	Muted      bool      `json:"muted,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// ChatChannelList is GET /v1/chat/channels.
type ChatChannelList struct {
	Channels []ChatChannel `json:"channels"`
}

// ChatCreateGroup is POST /v1/chat/channels.
type ChatCreateGroup struct {
	Name    string   `json:"name"`
	Members []string `json:"members"` // staff IDs; the caller is added
}

// ChatDirectRequest is POST /v1/chat/direct: the direct channel with a
// colleague, made on first use.
type ChatDirectRequest struct {
	User string `json:"user"`
}

// ChatRenameRequest is PATCH /v1/chat/channels/{id}: a group's new name.
type ChatRenameRequest struct {
	Name string `json:"name"`
}

// ChatMembersRequest is POST /v1/chat/channels/{id}/members.
type ChatMembersRequest struct {
	Members []string `json:"members"`
}

// ChatQuote is what a reply quotes of the message it answers, as it read
// when the reply was sent.
type ChatQuote struct {
	Seq    int64  `json:"seq"`
	Sender string `json:"sender"`
	Text   string `json:"text"`
}

// ChatMessage is one entry of a channel.
type ChatMessage struct {
	Channel  string     `json:"channel"`
	Seq      int64      `json:"seq"`
	Kind     string     `json:"kind"`
	Sender   string     `json:"sender"`
	Key      string     `json:"key,omitempty"` // the sender's idempotency key
	Text     string     `json:"text,omitempty"`
	ReplyTo  int64      `json:"reply_to,omitempty"`
	Quote    *ChatQuote `json:"quote,omitempty"`
	Mentions []string   `json:"mentions,omitempty"`
	Target   int64      `json:"target,omitempty"` // edit, delete: the seq changed
	At       time.Time  `json:"at"`
	EditedAt time.Time  `json:"edited_at,omitzero"`
	Deleted  bool       `json:"deleted,omitempty"`
}

// ChatSendRequest is POST /v1/chat/channels/{id}/messages. Key is chosen
// by the app once per message typed (a UUID, say); sending the same key
// again returns the stored message instead of storing a second one.
type ChatSendRequest struct {
	Key     string `json:"key"`
	Text    string `json:"text"`
	ReplyTo int64  `json:"reply_to,omitempty"`
}

// ChatEditRequest is PATCH /v1/chat/channels/{id}/messages/{seq}.
type ChatEditRequest struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// ChatHistory is a page of entries, oldest first.
type ChatHistory struct {
	Channel  string        `json:"channel"`
	Messages []ChatMessage `json:"messages"`
	LastSeq  int64         `json:"last_seq"`
	// FirstSeq is the oldest entry the channel still holds (0: none):
	// entries before it were purged at the end of their retention.
	FirstSeq int64 `json:"first_seq"`
	// More: with after=, entries follow this page; with before= (or
	// neither), older entries precede it.
	More bool `json:"more"`
}

// ChatReadRequest is POST /v1/chat/channels/{id}/read.
type ChatReadRequest struct {
	Seq int64 `json:"seq"`
}

// ChatMuteRequest is PUT /v1/chat/channels/{id}/mute.
type ChatMuteRequest struct {
	Muted bool `json:"muted"`
}

// ChatRead is one member's read marker (既読).
type ChatRead struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	Seq     int64  `json:"seq"`
}

// ChatReceipts is GET /v1/chat/channels/{id}/receipts: every member's
// read marker. 既読 on a direct message is the other's Seq reaching it;
// 既読 N in a channel counts the members other than the sender whose Seq
// reaches it.
type ChatReceipts struct {
	Channel string     `json:"channel"`
	Reads   []ChatRead `json:"reads"`
}

// ReadBy counts the members other than the sender whose marker reaches
// seq: "既読 N" in a channel; on a direct message, 1 is "既読".
func (r ChatReceipts) ReadBy(seq int64, sender string) int {
	n := 0
	for _, x := range r.Reads {
		if x.User != sender && x.Seq >= seq {
			n++
		}
	}
	return n
}

// ChatSpan is a highlighted part of a text, in characters (runes).
type ChatSpan struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// ChatHit is one search result.
type ChatHit struct {
	Message ChatMessage `json:"message"`
	Spans   []ChatSpan  `json:"spans"`
}

// ChatSearchResult is GET /v1/chat/search.
type ChatSearchResult struct {
	Query string    `json:"query"`
	Hits  []ChatHit `json:"hits"`
	// Partial: a one- or two-character query scans only the newest
	// messages (ChatPolicy.ShortScan); older ones may match too.
	Partial bool `json:"partial,omitempty"`
}

// ChatPerson is a colleague found by name to start a direct message.
type ChatPerson struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Department string `json:"department"`
}

// ChatPeople is GET /v1/chat/people.
type ChatPeople struct {
	People []ChatPerson `json:"people"`
}

// ChatPolicy is what IT sets for chat.
type ChatPolicy struct {
	MaxChars          int  `json:"max_chars"`           // a message's length limit
	EditWindowMinutes int  `json:"edit_window_minutes"` // own messages can be edited or deleted this long
	Receipts          bool `json:"receipts"`            // 既読 shown
	// Attachments are off: text only, so chat puts no office files on
	// the laptop. This version has no way to turn them on.
	Attachments bool `json:"attachments"`
	// RetentionDays is how long entries are kept (separate from the
	// operation log's retention).
	RetentionDays int `json:"retention_days"`
	// Working time, "HH:MM" in JST, Monday to Friday: outside it are the
	// quiet hours, when the app notifies of nothing (see Quiet).
	WorkStart string `json:"work_start"`
	WorkEnd   string `json:"work_end"`
	// IdleMinutes: the app tells that its user is away (離席中) after this
	// long with no input in the app and no traffic on the office PC.
	IdleMinutes int `json:"idle_minutes"`
}

// jst is where every municipality served keeps its hours.
var jst = time.FixedZone("JST", 9*60*60)

// Quiet reports whether t falls in the quiet hours: a weekend, or
// outside WorkStart to WorkEnd (JST). Unparsable hours are never quiet,
// so a bad setting cannot silence anyone.
func (p ChatPolicy) Quiet(t time.Time) bool {
	start, ok1 := clockMinutes(p.WorkStart)
	end, ok2 := clockMinutes(p.WorkEnd)
	if !ok1 || !ok2 || start >= end {
		return false
	}
	t = t.In(jst)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	return m < start || m >= end
}

// ValidClock reports whether s is "HH:MM" of a day.
func ValidClock(s string) bool {
	_, ok := clockMinutes(s)
	return ok
}

func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// ChatExportRequest is POST /admin/v1/chat/channels/{id}/export: a
// channel's whole record as CSV, for an inquiry. The reason is recorded.
type ChatExportRequest struct {
	Reason string `json:"reason"`
}

// ChatPolicyUpdate is PATCH /admin/v1/chat/policy; nil fields are unchanged.
type ChatPolicyUpdate struct {
	MaxChars          *int    `json:"max_chars,omitempty"`
	EditWindowMinutes *int    `json:"edit_window_minutes,omitempty"`
	Receipts          *bool   `json:"receipts,omitempty"`
	RetentionDays     *int    `json:"retention_days,omitempty"`
	WorkStart         *string `json:"work_start,omitempty"`
	WorkEnd           *string `json:"work_end,omitempty"`
	IdleMinutes       *int    `json:"idle_minutes,omitempty"`
	Reason            string  `json:"reason"`
}
