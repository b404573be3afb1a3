package chat

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// outItem is one message typed here and not yet seen in the feed. Its key
// is chosen once, when typed, so every retry (a lost answer, a reconnect,
// a broker restart) is stored once. Guarded by Client.mu.
type outItem struct {
	key     string
	channel string
	text    string
	replyTo int64
	quote   *api.ChatQuote
	at      time.Time
	state   SendState
	err     *api.Error
	acked   bool // the broker stored it; the feed shows it from here
}

func (o *outItem) quoteName(c *Client) string {
	if o.quote == nil {
		return ""
	}
	return c.nameLocked(o.quote.Sender)
}

// next returns the oldest pending item, or nil.
func (c *Client) nextPending(s *session) *outItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != s {
		return nil
	}
	for _, o := range c.outbox {
		if o.state == Pending && !o.acked {
			return o
		}
	}
	return nil
}

// sendLoop sends the outbox oldest first, one at a time, so messages
// reach the broker in the order they were typed. A failure of the line
// holds the queue (and retries with backoff, or at the next hello); a
// refusal takes the item out of the line as Failed.
func (s *session) sendLoop() {
	c := s.c
	backoff := c.opt.RetryMin
	for {
		o := c.nextPending(s)
		if o == nil {
			select {
			case <-s.ctx.Done():
				return
			case <-s.kick:
				continue
			}
		}
		c.mu.Lock()
		req := api.ChatSendRequest{Key: o.key, Text: o.text, ReplyTo: o.replyTo}
		ch := o.channel
		c.mu.Unlock()
		m, err := s.api.ChatSend(s.ctx, ch, req)
		if s.ctx.Err() != nil {
			return
		}
		if err != nil {
			if transient(err) {
				wait := backoff/2 + rand.N(backoff/2+1)
				backoff = min(backoff*2, c.opt.RetryMax)
				select {
				case <-s.ctx.Done():
					return
				case <-s.kick: // a hello: the line is back
					backoff = c.opt.RetryMin
				case <-time.After(wait):
				}
				continue
			}
			c.mu.Lock()
			o.state, o.err = Failed, api.AsError(err)
			c.mu.Unlock()
			c.changed()
			continue
		}
		backoff = c.opt.RetryMin
		c.mu.Lock()
		o.acked = true
		c.mu.Unlock()
		// The answer is the stored entry: hand it to the worker as if it
		// came live, so it shows without waiting for the socket (the feed
		// drops it if the frame came first, and fills any gap before it).
		if b, err := json.Marshal(m); err == nil {
			s.push(item{ev: api.Event{Type: api.EventChatMessage, Data: b}})
		}
		c.changed()
	}
}

// transient reports whether a send may succeed if tried again as it is.
func transient(err error) bool {
	e := api.AsError(err)
	if e == nil {
		return !errors.Is(err, errors.ErrUnsupported)
	}
	switch e.Code {
	case api.CodeNetwork, api.CodeUnavailable, api.CodeInternal, api.CodeRateLimited, api.CodeTimeout,
		api.CodeUnauthenticated, api.CodeTokenExpired: // core refreshes the token meanwhile
		return true
	}
	return e.Status >= 500
}
