package core

import (
	"context"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// byteCounter is what the heartbeat reads traffic from (the tunnel).
type byteCounter interface{ Bytes() (up, down int64) }

// heartbeat renews the slot's lease until ctx ends. Traffic from the user
// since the last beat counts as activity for the idle timeout. It returns
// the broker's error when the slot is gone (ended, not found); network
// failures are retried, since the lease outlives a few missed beats.
func (c *Client) heartbeat(ctx context.Context, slotID string, every time.Duration, counter func() byteCounter) error {
	if c.heartbeatEvery > 0 {
		every = c.heartbeatEvery
	}
	if every <= 0 {
		every = 30 * time.Second
	}
	var sentUp, sentDown int64
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Not nil: the flow reads nil as the broker having dropped
			// the slot, and would not give it back.
			return ctx.Err()
		case <-t.C:
		}
		var up, down int64
		if bc := counter(); bc != nil {
			up, down = bc.Bytes()
		}
		req := api.HeartbeatRequest{Active: up > sentUp, BytesUp: up - sentUp, BytesDown: down - sentDown}
		if req.Active && c.deps.Activity != nil {
			c.deps.Activity()
		}
		hctx, cancel := context.WithTimeout(ctx, every)
		_, err := c.api.Heartbeat(hctx, slotID, req)
		cancel()
		if err == nil {
			sentUp, sentDown = up, down
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e := api.AsError(err); e != nil && (e.Code == api.CodeSlotEnded || e.Code == api.CodeSlotNotFound) {
			return e
		}
		if e := api.AsError(err); e != nil && e.Code == api.CodeUnauthenticated {
			// A token refused mid-session (the laptop revoked from the
			// data directory, say): the refresher finds out why now.
			c.kickRefresh()
		}
		c.log.Warn("heartbeat", "slot", slotID, "err", err)
	}
}
