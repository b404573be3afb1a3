package oplog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sender is the part of the broker client the uploader uses.
type Sender interface {
	UploadOplog(ctx context.Context, b api.OplogBatch) (*api.OplogAck, error)
}

var _ Sender = (*api.Client)(nil)

// Ed25519Signer signs with a device key held in memory.
func Ed25519Signer(key ed25519.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte { return ed25519.Sign(key, msg) }
}

// Uploader sends the journal to the broker in signed batches, bounded in
// size and age, retrying with backoff while offline, and deletes only
// what the broker acknowledged. Set the exported fields before Run.
type Uploader struct {
	// BatchMax events or BatchBytes (about) go in one batch (defaults 500,
	// 256 KiB); a smaller batch goes once its oldest event is MaxAge old
	// (default 10 s).
	BatchMax   int
	BatchBytes int
	MaxAge     time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure (defaults
	// 1 s, 5 min); it doubles per failure, with jitter.
	MinBackoff, MaxBackoff time.Duration

	j        *Journal
	c        Sender
	deviceID string
	sign     func([]byte) []byte
	log      *slog.Logger
	now      func() time.Time

	sendMu sync.Mutex // one upload at a time (Run and Flush)

	mu         sync.Mutex // guards the fields below
	lastUpload time.Time
	lastErr    error
	failures   int
}

// NewUploader returns an uploader of j's events for deviceID through c;
// sign signs with the device key (see Ed25519Signer).
func NewUploader(j *Journal, c Sender, deviceID string, sign func([]byte) []byte, log *slog.Logger) *Uploader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Uploader{BatchMax: 500, BatchBytes: 256 << 10, MaxAge: 10 * time.Second,
		MinBackoff: time.Second, MaxBackoff: 5 * time.Minute,
		j: j, c: c, deviceID: deviceID, sign: sign, log: log, now: time.Now}
}

// UploadStatus is what the About screen shows.
type UploadStatus struct {
	JournalStatus
	LastUpload time.Time
	LastError  string // empty after a success
	Failures   int    // consecutive
}

// Status reports pending events, the last upload and the last error.
func (u *Uploader) Status() UploadStatus {
	st := UploadStatus{JournalStatus: u.j.Status()}
	u.mu.Lock()
	defer u.mu.Unlock()
	st.LastUpload, st.Failures = u.lastUpload, u.failures
	if u.lastErr != nil {
		st.LastError = u.lastErr.Error()
	}
	return st
}

// Run uploads until ctx ends. It returns ctx's error.
func (u *Uploader) Run(ctx context.Context) error {
	var since time.Time // when the oldest pending event was first seen
	for {
		pending := u.j.Status().Pending
		if pending == 0 {
			since = time.Time{}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-u.j.Changed():
				continue
			}
		}
		if since.IsZero() {
			since = u.now()
		}
		if wait := u.MaxAge - u.now().Sub(since); pending < int64(u.BatchMax) && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-u.j.Changed():
				t.Stop()
				continue
			case <-t.C:
			}
		}
		n, err := u.sendOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := sleep(ctx, u.backoff()); err != nil {
				return err
			}
			continue
		}
		since = time.Time{}
		if n == 0 {
			// Counted as pending but unreadable (reported as damage at
			// Open): wait for new events rather than spin.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-u.j.Changed():
			}
		}
	}
}

// Flush uploads everything pending now (sign-out, app stop, tests).
func (u *Uploader) Flush(ctx context.Context) error {
	for {
		before := u.j.Status().Acked
		n, err := u.sendOnce(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if u.j.Status().Acked == before {
			return errors.New("upload operation log: the broker acknowledged nothing")
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (u *Uploader) backoff() time.Duration {
	u.mu.Lock()
	n := u.failures
	u.mu.Unlock()
	d := u.MinBackoff
	for i := 1; i < n && d < u.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, u.MaxBackoff)
	// Jitter spreads thousands of laptops coming back online at once.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sendOnce uploads one batch and applies the acknowledgement. It returns
// the number of events sent.
func (u *Uploader) sendOnce(ctx context.Context) (int, error) {
	u.sendMu.Lock()
	defer u.sendMu.Unlock()
	evs, err := u.j.Pending(u.BatchMax, u.BatchBytes)
	if err != nil || len(evs) == 0 {
		return 0, u.done(err, false)
	}
	b := api.OplogBatch{DeviceID: u.deviceID, Events: evs}
	b.Signature = u.sign(api.OplogBatchDigest(b.DeviceID, b.Events))
	ack, err := u.c.UploadOplog(ctx, b)
	if err != nil {
		return 0, u.done(fmt.Errorf("upload operation log: %w", err), true)
	}
	// The broker acknowledges its highest stored sequence; delete at most
	// what this batch carried, whose hashes are known here.
	last := evs[len(evs)-1]
	upTo := min(ack.Acked, last.Seq)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Seq == upTo {
			if err := u.j.Ack(upTo, evs[i].Hash()); err != nil {
				return 0, u.done(err, false)
			}
			break
		}
	}
	if ack.Findings > 0 {
		u.log.Warn("broker found problems in the operation log", "findings", ack.Findings)
	}
	u.mu.Lock()
	u.lastUpload = u.now()
	u.mu.Unlock()
	return len(evs), u.done(nil, false)
}

// done records the outcome of an attempt.
func (u *Uploader) done(err error, remote bool) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastErr = err
	if err == nil {
		u.failures = 0
		return nil
	}
	u.failures++
	if e := api.AsError(err); remote && e != nil && e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusUnauthorized && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout {
		// The broker refused the batch itself: retrying soon will not
		// help, so back off fully; the events stay until it is accepted.
		u.failures = max(u.failures, 30)
		u.log.Error("broker refused operation log batch", "err", err)
	} else if !errors.Is(err, context.Canceled) {
		u.log.Info("operation log upload failed; will retry", "err", err, "failures", u.failures)
	}
	return err
}
