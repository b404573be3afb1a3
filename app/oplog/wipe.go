package oplog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zaitaku/zaitaku/broker/api"
)

// ErrUnsent is what Wipe returns while events are not acknowledged: a
// revoked laptop's journal is evidence and is wiped only once the broker
// holds it.
var ErrUnsent = errors.New("operation log: events not yet acknowledged by the broker")

// Wipe deletes every segment and the state file once everything is
// acknowledged, and starts an empty journal: a revoked laptop keeps no
// history, and whatever it records next starts a new chain (the laptop
// enrolls with a new key, as a new device).
func (j *Journal) Wipe() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if j.tip.Seq > j.acked {
		return fmt.Errorf("%w: %d pending", ErrUnsent, j.tip.Seq-j.acked)
	}
	if err := j.f.Close(); err != nil {
		j.log.Warn("operation log: close segment before wipe", "err", err)
	}
	var errs []error
	for _, s := range j.segs {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(filepath.Join(j.dir, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	j.segs, j.total, j.acked, j.ackHash, j.warned = nil, 0, 0, nil, false
	j.tip, j.tipHash = api.OplogEvent{}, [32]byte{}
	errs = append(errs, syncDir(j.dir), j.startSegment())
	return errors.Join(errs...)
}

// evidenceSender sends through the evidence route.
type evidenceSender func(ctx context.Context, b api.OplogBatch) (*api.OplogAck, error)

func (f evidenceSender) UploadOplog(ctx context.Context, b api.OplogBatch) (*api.OplogAck, error) {
	return f(ctx, b)
}

// Evidence is core's Deps.Revoked: it stops the session's uploader,
// sends every pending event through upload (the tokenless evidence
// route) signed with the revoked laptop's key, and wipes the journal
// once the broker acknowledged all of it. Events recorded meanwhile are
// sent too before the wipe.
func (s *Service) Evidence(ctx context.Context, deviceID string, upload func(context.Context, api.OplogBatch) (*api.OplogAck, error), sign func([]byte) []byte) error {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.up = nil
	s.mu.Unlock()
	up := NewUploader(s.j, evidenceSender(upload), deviceID, sign, s.log)
	for range 3 {
		if err := up.Flush(ctx); err != nil {
			return err
		}
		err := s.j.Wipe()
		if !errors.Is(err, ErrUnsent) {
			return err
		}
	}
	return fmt.Errorf("operation log: events keep arriving; evidence not complete")
}
