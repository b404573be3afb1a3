package chat

import (
	"context"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
)

// SystemSender is the sender of the broker's own messages: no member of
// staff has this ID, so nobody can edit or delete them.
const SystemSender = "system"

// systemChannelName is what the app shows for a user's notice channel.
const systemChannelName = "在宅 お知らせ"

// Notify posts a system message to one member of staff, in a direct
// channel of theirs with the system (made on first use), so that other
// domains (telework approvals, start and end of work) reach them in the
// app, as stored as any message and pushed live. key makes a retry post
// nothing twice (per recipient).
func (s *Service) Notify(ctx context.Context, userID, key, text string) error {
	// Keys are unique per sender, and the system sends to everyone: the
	// same notice to two people must be two messages.
	key = userID + ":" + key
	if err := checkKey(key); err != nil {
		return err
	}
	if text == "" || utf8.RuneCountInString(text) > 4000 {
		return api.Err(api.CodeValidation, "text: 1 to 4000 characters")
	}
	// The "~" keeps the key apart from every pair of staff IDs.
	dk := userID + " ~" + SystemSender
	c, err := s.st.DirectChannel(ctx, dk)
	if errors.Is(err, ErrNotFound) {
		c = Channel{ID: newID("c"), Kind: api.ChatDirect, Name: systemChannelName, DirectKey: dk, CreatedBy: SystemSender, CreatedAt: s.now()}
		err = s.st.CreateChannel(ctx, c, []string{userID})
		if errors.Is(err, ErrConflict) {
			c, err = s.st.DirectChannel(ctx, dk)
		} else if err == nil {
			s.push.PushLive([]string{userID}, api.EventChatChannel,
				api.ChatChannel{ID: c.ID, Kind: c.Kind, Name: c.Name, Members: []string{userID}, CreatedAt: c.CreatedAt})
		}
	}
	if err != nil {
		return err
	}
	m := api.ChatMessage{Channel: c.ID, Kind: api.ChatKindMessage, Sender: SystemSender, Key: key, Text: text, At: s.now()}
	stored, existed, err := s.appendAndPush(ctx, c, m, nil)
	if err != nil || existed {
		return err
	}
	// Metadata only, as for every message.
	s.record(ctx, SystemSender, "chat.system_message", c.ID, "seq", strconv.FormatInt(stored.Seq, 10), "to", userID,
		"chars", strconv.Itoa(utf8.RuneCountInString(text)))
	return nil
}
