package slots

import (
	"context"
	"sync"
	"time"
)

// journal makes the manager's decisions durable with group commit: the
// manager appends ops under its own mutex (so the journal's order is the
// decision order), and one flusher writes everything pending in a single
// transaction. Callers wait for the batch holding their ops before they
// answer, so nothing is acknowledged that is not on disk; with thousands
// of simultaneous requests the cost is a few transactions, not thousands.
type journal struct {
	apply   func(ctx context.Context, ops []Op, sync bool) error // sync: a resync was asked for
	onError func(err error)                                      // the flusher calls it after a failed batch, before failing waiters

	mu      sync.Mutex // guards pending, after, waiters, closed
	pending []Op
	after   []func() // run after the commit, in order (events, hooks)
	waiters []chan error
	sync    bool // a shared ledger's state is to be read again (resync)
	closed  bool
	kick    chan struct{}
	done    chan struct{}
}

func newJournal(apply func(ctx context.Context, ops []Op, sync bool) error, onError func(error)) *journal {
	j := &journal{apply: apply, onError: onError, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go j.run()
	return j
}

// ticket is returned by add; wait blocks until the ops are durable.
type ticket chan error

func (t ticket) wait(ctx context.Context) error {
	select {
	case err := <-t:
		return err
	case <-ctx.Done():
		// The ops will still be committed; the caller just stops waiting.
		return ctx.Err()
	}
}

// add queues ops (possibly none: a barrier behind earlier ops) and
// callbacks that run once they are committed.
func (j *journal) add(ops []Op, after []func()) ticket { return j.addSync(ops, after, false) }

// addSync is add that, with sync, makes the batch holding ops a resync
// too: on a shared ledger, one decided under the ledger's lock.
func (j *journal) addSync(ops []Op, after []func(), sync bool) ticket {
	t := make(ticket, 1)
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		t <- errClosed
		return t
	}
	j.pending = append(j.pending, ops...)
	j.after = append(j.after, after...)
	j.sync = j.sync || sync
	j.waiters = append(j.waiters, t)
	select { // under mu: close cannot close kick in between
	case j.kick <- struct{}{}:
	default:
	}
	j.mu.Unlock()
	return t
}

func (j *journal) run() {
	defer close(j.done)
	for range j.kick {
		for {
			j.mu.Lock()
			ops, after, waiters, sync := j.pending, j.after, j.waiters, j.sync
			j.pending, j.after, j.waiters, j.sync = nil, nil, nil, false
			j.mu.Unlock()
			if len(waiters) == 0 && !sync {
				break
			}
			var err error
			if len(ops) > 0 || sync {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err = j.apply(ctx, ops, sync)
				cancel()
			}
			if err != nil {
				j.onError(err)
			} else {
				for _, fn := range after {
					fn()
				}
			}
			for _, w := range waiters {
				w <- err
			}
		}
	}
}

// resync asks for a batch even without ops: on a shared ledger it reads
// what other brokers decided (and grants what they freed). Many resyncs
// before the flusher gets to them are one.
func (j *journal) resync() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return
	}
	j.sync = true
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// close flushes what is pending and stops the flusher.
func (j *journal) close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		<-j.done
		return
	}
	j.closed = true
	close(j.kick)
	j.mu.Unlock()
	<-j.done
}
