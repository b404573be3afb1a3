package services

import (
	"context"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/telework"
)

// sharedRead lets concurrent callers share one database read, but only a
// read that started after the caller asked: each answer is then as fresh
// as a read of its own (a write the caller saw committed is in it). At
// nine o'clock thousands of slot requests each read the telework
// policies; this makes it a few reads.
type sharedRead[T any] struct {
	mu    sync.Mutex
	epoch int64 // flights started so far
	cur   *flight[T]
}

type flight[T any] struct {
	epoch int64
	done  chan struct{}
	v     T
	err   error
}

func (r *sharedRead[T]) do(ctx context.Context, read func(context.Context) (T, error)) (T, error) {
	r.mu.Lock()
	asked := r.epoch
	for {
		if r.cur == nil {
			r.epoch++
			f := &flight[T]{epoch: r.epoch, done: make(chan struct{})}
			r.cur = f
			r.mu.Unlock()
			// Not the leader's cancellation: others wait on this read.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			f.v, f.err = read(rctx)
			cancel()
			r.mu.Lock()
			r.cur = nil
			r.mu.Unlock()
			close(f.done)
			return f.v, f.err
		}
		f := r.cur
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if f.epoch > asked {
			return f.v, f.err
		}
		// That read started before this caller asked: the next one.
		r.mu.Lock()
	}
}

// teleworkStore shares the reads of the telework policies (a small
// table every slot request reads, in telework.Service.Admit). Callers
// only read the list; it is copied anyway so no caller sees another's
// change.
type teleworkStore struct {
	telework.Store
	policies *sharedRead[[]api.TeleworkPolicy]
}

func newTeleworkStore(st telework.Store) teleworkStore {
	return teleworkStore{Store: st, policies: &sharedRead[[]api.TeleworkPolicy]{}}
}

func (s teleworkStore) Policies(ctx context.Context) ([]api.TeleworkPolicy, error) {
	ps, err := s.policies.do(ctx, s.Store.Policies)
	if err != nil {
		return nil, err
	}
	return append([]api.TeleworkPolicy(nil), ps...), nil
}
