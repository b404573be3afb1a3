package oplog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

var _ audit.Recorder = (*Service)(nil)

// Record implements audit.Recorder: the broker's own actions join the
// store as events of device "broker", with their own sequence and chain.
// It returns once the event is committed. Callers that arrive while a
// commit is running are written together in the next one (group commit),
// so a burst of slot grants costs a few transactions, not one each.
func (s *Service) Record(ctx context.Context, e audit.Event) error {
	return s.aw.record(ctx, e)
}

// auditWriter batches concurrent Record calls: the first caller becomes
// the leader and commits everything queued until the queue is empty;
// the others wait for the commit that holds their event. No goroutine
// outlives a call, so the CLI can build a Server and just exit.
type auditWriter struct {
	s *Service

	mu      sync.Mutex // guards queue and leading
	queue   []*auditReq
	leading bool
}

type auditReq struct {
	e    audit.Event
	done chan error
}

func (w *auditWriter) record(ctx context.Context, e audit.Event) error {
	if e.At.IsZero() {
		e.At = w.s.now()
	}
	r := &auditReq{e: e, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, r)
	if w.leading {
		w.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("audit %s: %w", e.Action, ctx.Err())
		}
	}
	w.leading = true
	for len(w.queue) > 0 {
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		// The leader commits on behalf of others: their contexts, not
		// the leader's, decide when they stop waiting.
		err := w.s.appendServer(context.WithoutCancel(ctx), batch)
		for _, q := range batch {
			q.done <- err
		}
		w.mu.Lock()
	}
	w.leading = false
	w.mu.Unlock()
	return <-r.done
}

// appendServer chains and stores server events in one transaction. The
// tip is read inside the transaction, so a CLI process writing next to
// the running broker continues the same chain.
func (s *Service) appendServer(ctx context.Context, reqs []*auditReq) error {
	now := s.now().UnixMilli()
	return s.st.InTx(ctx, func(tx Tx) error {
		tip, err := tx.Tip(ctx, api.OplogBrokerDevice)
		if err != nil {
			return err
		}
		rows := make([]Row, len(reqs))
		for i, q := range reqs {
			// Stored as JSON, which would replace invalid UTF-8: make it
			// valid before hashing so the stored row matches its hash.
			valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
			fields := map[string]string{}
			for k, v := range q.e.Fields {
				fields[valid(k)] = valid(v)
			}
			// Actor and target go into the hashed fields too, so an edit
			// of the columns is detectable against the chain.
			actor, target := valid(q.e.Actor), valid(q.e.Target)
			fields["actor"] = actor
			if target != "" {
				fields["target"] = target
			}
			prev := tip.Hash
			if tip.Seq == 0 {
				prev = zeroHash
			}
			ev := api.OplogEvent{Seq: tip.Seq + 1, At: q.e.At.UnixMilli(), Type: valid(q.e.Action), Fields: fields, Prev: prev}
			h := ev.Hash()
			fb, _ := json.Marshal(fields)
			rows[i] = Row{DeviceID: api.OplogBrokerDevice, Seq: ev.Seq, At: ev.At, UserID: actor, Type: ev.Type,
				Target: target, Fields: string(fb), Prev: prev, Hash: h[:], ReceivedAt: now}
			tip = Tip{Seq: ev.Seq, Hash: h[:]}
		}
		n, err := tx.Insert(ctx, rows)
		if err != nil {
			return err
		}
		if n != len(rows) {
			return fmt.Errorf("audit: %d of %d events collided with stored ones", len(rows)-n, len(rows))
		}
		return tx.SetTip(ctx, api.OplogBrokerDevice, tip, now)
	})
}
