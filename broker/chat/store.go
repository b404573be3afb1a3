// Package chat is staff chat: one channel per department (its members are
// the department's current staff), ad hoc groups and direct messages.
//
// Every change to a channel (a message, an edit, a delete) is an entry
// with the channel's next sequence number, stored once per channel before
// it is acknowledged, then pushed live to the members' open event sockets
// (unstored frames, Seq 0). An app resumes each channel from the last
// sequence it saw through the history route, so a reconnect after any gap
// loses and repeats nothing (docs/ARCHITECTURE.md, "Chat").
package chat

import (
	"context"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sentinel errors of the store.
var (
	ErrNotFound = errors.New("chat: not found")
	ErrConflict = errors.New("chat: already exists")
	// ErrGone is returned when an edit or delete targets a deleted message.
	ErrGone = errors.New("chat: message deleted")
)

// Channel is a channel as stored.
type Channel struct {
	ID         string
	Kind       string // api.ChatDepartment, api.ChatGroup, api.ChatDirect
	Name       string
	Department string // department channels
	// DirectKey is the sorted pair of a direct channel ("a b"), unique,
	// so that two people have one direct channel however it was opened.
	DirectKey string
	CreatedBy string
	CreatedAt time.Time
	LastSeq   int64
}

// ChannelState is a channel with one user's marker.
type ChannelState struct {
	Channel
	ReadSeq int64
	Muted   bool
	Unread  int // messages of others, not deleted, after ReadSeq
}

// Revision is an earlier text of a message, kept for the record when it
// was edited or deleted.
type Revision struct {
	Seq      int64
	Text     string
	Replaced time.Time // when the edit or delete replaced it
}

// SearchQuery is a search over some channels.
type SearchQuery struct {
	Channels []string // only these; never empty
	Text     string   // 1 or more characters
	Limit    int
	// ScanLimit bounds the exact scan that one- and two-character queries
	// use (the trigram index needs three): only the newest ScanLimit
	// messages of the channels are looked at.
	ScanLimit int
}

// Store is what chat needs from the database.
type Store interface {
	// CreateChannel stores a channel and its members (groups, direct).
	// ErrConflict when a direct channel of the pair or the department's
	// channel exists.
	CreateChannel(ctx context.Context, c Channel, members []string) error
	GetChannel(ctx context.Context, id string) (Channel, error)           // ErrNotFound
	DepartmentChannel(ctx context.Context, dept string) (Channel, error)  // ErrNotFound
	DirectChannel(ctx context.Context, directKey string) (Channel, error) // ErrNotFound
	// ListChannels lists every channel, by ID (for IT).
	ListChannels(ctx context.Context) ([]Channel, error)
	// ChannelsOf lists the groups and direct channels the user is a
	// member of, and the department's channel if it exists, by ID, each
	// with the user's marker.
	ChannelsOf(ctx context.Context, userID, department string) ([]ChannelState, error)
	// ChannelIDsOf is ChannelsOf without the markers and unread counts,
	// by ID: what search needs, without counting every channel's unread.
	ChannelIDsOf(ctx context.Context, userID, department string) ([]string, error)
	// Members lists a group's or direct channel's members, sorted.
	Members(ctx context.Context, channelID string) ([]string, error)
	IsMember(ctx context.Context, channelID, userID string) (bool, error)
	AddMembers(ctx context.Context, channelID string, users []string, at time.Time) error
	RemoveMember(ctx context.Context, channelID, userID string) error
	// RenameChannel renames a group. ErrNotFound when no group has the ID.
	RenameChannel(ctx context.Context, channelID, name string) error

	// Append stores an entry with the channel's next sequence number and
	// returns it. An entry whose (Sender, Key) is stored already is not
	// stored again: the stored one comes back with existed true.
	//   - message: stored as given.
	//   - edit: Target's text becomes Text, its old text is kept as a
	//     Revision; ErrNotFound, ErrGone.
	//   - delete: Target is marked deleted and its text kept as a
	//     Revision; deleting a deleted message returns the first delete
	//     with existed true.
	Append(ctx context.Context, m api.ChatMessage) (stored api.ChatMessage, existed bool, err error)
	// Message returns one entry with its current text. ErrNotFound.
	Message(ctx context.Context, channelID string, seq int64) (api.ChatMessage, error)
	// After returns up to limit entries with Seq > after, in order.
	After(ctx context.Context, channelID string, after int64, limit int) ([]api.ChatMessage, error)
	// Before returns the newest limit entries with Seq < before, in order.
	Before(ctx context.Context, channelID string, before int64, limit int) ([]api.ChatMessage, error)
	// FirstSeq returns the oldest sequence the channel holds (0: none).
	FirstSeq(ctx context.Context, channelID string) (int64, error)
	// PurgeChat deletes entries stored before the time, with the earlier
	// texts of messages it deletes; channels keep their last sequence.
	PurgeChat(ctx context.Context, before time.Time) (int64, error)
	// Revisions returns a message's earlier texts, oldest first.
	Revisions(ctx context.Context, channelID string, seq int64) ([]Revision, error)

	// MarkRead raises the user's read marker to seq (never lowers it)
	// and returns the marker after.
	MarkRead(ctx context.Context, channelID, userID string, seq int64) (int64, error)
	SetMuted(ctx context.Context, channelID, userID string, muted bool) error
	// Marks returns every user's read marker of the channel, by user.
	Marks(ctx context.Context, channelID string) ([]api.ChatRead, error)

	// Search returns messages (not deleted) of the channels that contain
	// the text, newest first; scanned reports that the exact scan of a
	// short query hit its ScanLimit.
	Search(ctx context.Context, q SearchQuery) (hits []api.ChatMessage, partial bool, err error)

	// SetStatus stores a user's status message ("" clears it).
	SetStatus(ctx context.Context, userID, message string, at time.Time) error
	// Statuses returns the status messages of the users that have one.
	Statuses(ctx context.Context, userIDs []string) (map[string]string, error)

	// ChatPolicy returns the stored policy; ok false when none is.
	ChatPolicy(ctx context.Context) (p api.ChatPolicy, ok bool, err error)
	PutChatPolicy(ctx context.Context, p api.ChatPolicy) error
}
