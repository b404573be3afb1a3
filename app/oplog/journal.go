// Package oplog is the app's operation log: every feature records what it
// does through a Journal, an append-only, hash-chained local journal that
// survives crashes and offline time, and an Uploader sends it to the
// broker in signed batches and deletes only what the broker acknowledged.
//
// Wiring (app/core):
//
//	j, err := oplog.Open(dir, oplog.Options{Log: log}) // at start; j is core's Recorder
//	u := oplog.NewUploader(j, client, deviceID, oplog.Ed25519Signer(key), log)
//	go u.Run(ctx)                                      // after sign-in; cancel at sign-out
//	_ = u.Flush(ctx)                                   // at app.stop, when online
//	j.Close()                                          // last
//
// u.Status() feeds the About screen (pending events, last upload, last
// error, fill of the journal).
package oplog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Errors of Record.
var (
	// ErrFull: the journal reached its bound on disk (long offline); the
	// event was not recorded. The app tells the user to connect.
	ErrFull = errors.New("operation log full: connect to the network so it can be uploaded")
	// ErrClosed: Record after Close.
	ErrClosed = errors.New("operation log closed")
	// ErrLocked: another running app holds the journal.
	ErrLocked = errors.New("operation log in use by another Zaitaku app: close it first")
)

// Options tune Open. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the journal on disk (default 64 MiB: months of
	// normal use offline).
	MaxBytes int64
	// WarnFraction of MaxBytes raises Status().Warning (default 0.8).
	WarnFraction float64
	// SegmentBytes is the size at which a new segment starts (default
	// 1 MiB); acknowledged segments are deleted whole.
	SegmentBytes int64
	Now          func() time.Time
	Log          *slog.Logger
}

// Journal is the local operation log. It is safe for concurrent use.
//
// Durability: Record writes the event's frame with one write call, then
// returns only after an fsync that covers it. Concurrent callers share
// one fsync (group commit), so the cost per event falls as the rate
// rises. An app crash after Record returns loses nothing (the bytes are
// in the OS); a power loss loses nothing that Record returned for. A
// crash mid-write leaves at most that one event torn, and Open cuts it
// off without touching earlier events.
type Journal struct {
	dir  string
	opt  Options
	log  *slog.Logger
	lock *os.File // held from Open to Close

	mu       sync.Mutex // guards everything below
	f        *os.File   // active segment, O_APPEND
	segs     []segment  // in sequence order; the last is active
	tip      api.OplogEvent
	tipHash  [32]byte
	acked    int64
	ackHash  []byte
	total    int64 // bytes in all segments
	serial   int64 // of the newest segment: segments sort by it
	written  uint64
	warned   bool
	closed   bool
	problems []string

	syncMu sync.Mutex    // serializes fsyncs
	synced atomic.Uint64 // frames covered by an fsync
	notify chan struct{} // a token when a new event is recorded
}

type segment struct {
	path        string
	first, last int64 // sequence numbers; last 0 when empty
	size        int64
	bad         bool // damaged: keep, never append
}

const stateFile = "state.json"

type state struct {
	Acked   int64  `json:"acked"`
	AckHash string `json:"ack_hash"` // hex; continues the chain once every segment is deleted
}

// Open opens (creating if needed) the journal in dir, cuts off an event
// torn by a crash, checks the chain, and records an "oplog.damaged"
// event when it found damage or tampering (Problems lists what).
func Open(dir string, opt Options) (*Journal, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 64 << 20
	}
	if opt.WarnFraction <= 0 || opt.WarnFraction >= 1 {
		opt.WarnFraction = 0.8
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 1 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("operation log directory: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, opt: opt, log: opt.Log, lock: lock, notify: make(chan struct{}, 1)}
	if err := j.load(); err != nil {
		j.unlock()
		return nil, err
	}
	if len(j.problems) > 0 {
		j.log.Warn("operation log damaged", "problems", j.problems)
		n := len(j.problems)
		first := strings.Join(j.problems[:min(n, 5)], "; ")
		if len(first) > 900 {
			first = first[:900]
		}
		err := j.Record("oplog.damaged", map[string]string{"problems": fmt.Sprint(n), "first": first})
		if err != nil && !errors.Is(err, ErrFull) { // when full, Status says so; the problems stay in Problems
			j.Close()
			return nil, err
		}
	}
	return j, nil
}

func (j *Journal) load() error {
	if b, err := os.ReadFile(filepath.Join(j.dir, stateFile)); err == nil {
		var st state
		if err := json.Unmarshal(b, &st); err != nil {
			j.problems = append(j.problems, "state file unreadable: "+err.Error())
		} else {
			j.acked = st.Acked
			j.ackHash, _ = hex.DecodeString(st.AckHash)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("operation log state: %w", err)
	}
	paths, err := listSegments(j.dir)
	if err != nil {
		return fmt.Errorf("operation log: %w", err)
	}
	// The chain is checked across segments in file order.
	prevSeq, prevHash := j.acked, j.ackHash
	if prevSeq == 0 {
		prevHash = make([]byte, 32)
	}
	haveTip := false
	for i, p := range paths {
		j.serial = max(j.serial, segSerial(p))
		res, err := scanSegment(p, -1)
		if err != nil {
			return fmt.Errorf("operation log %s: %w", filepath.Base(p), err)
		}
		last := i == len(paths)-1
		if res.torn {
			if !last {
				res.bad = append(res.bad, fmt.Sprintf("%s: incomplete frame at byte %d in an older segment", filepath.Base(p), res.good))
			} else if err := truncateSync(p, res.good); err != nil {
				return fmt.Errorf("operation log: cut torn event: %w", err)
			}
		}
		j.problems = append(j.problems, res.bad...)
		seg := segment{path: p, size: res.good, bad: len(res.bad) > 0 || (res.torn && !last)}
		if st, err := os.Stat(p); err == nil {
			seg.size = st.Size()
		}
		for k := range res.events {
			ev := &res.events[k]
			h := ev.Hash()
			if seg.first == 0 {
				seg.first = ev.Seq
			}
			seg.last = max(seg.last, ev.Seq)
			if !haveTip || ev.Seq > j.tip.Seq {
				j.tip, j.tipHash, haveTip = *ev, h, true
			}
			if ev.Seq <= j.acked {
				continue // acknowledged, in a segment not yet deleted
			}
			switch {
			case ev.Seq < prevSeq+1:
				j.problems = append(j.problems, fmt.Sprintf("event %d comes after event %d (reordered)", ev.Seq, prevSeq))
			case ev.Seq > prevSeq+1:
				j.problems = append(j.problems, fmt.Sprintf("events %d to %d are missing (removed)", prevSeq+1, ev.Seq-1))
			case !bytes.Equal(ev.Prev, prevHash):
				j.problems = append(j.problems, fmt.Sprintf("event %d does not follow event %d (edited)", ev.Seq, prevSeq))
			}
			prevSeq, prevHash = ev.Seq, h[:]
		}
		j.segs = append(j.segs, seg)
		j.total += seg.size
	}
	if j.acked > j.tip.Seq {
		j.tip = api.OplogEvent{Seq: j.acked}
		copy(j.tipHash[:], j.ackHash)
	}
	// Append to the newest segment unless it is damaged.
	if n := len(j.segs); n > 0 && !j.segs[n-1].bad {
		f, err := os.OpenFile(j.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("operation log: %w", err)
		}
		j.f = f
		return nil
	}
	return j.startSegment()
}

func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// startSegment opens a new active segment. Called with mu held (or
// before the journal is shared).
func (j *Journal) startSegment() error {
	j.serial++
	p := filepath.Join(j.dir, segName(j.serial, j.tip.Seq+1))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("operation log segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	j.f = f
	j.segs = append(j.segs, segment{path: p})
	return nil
}

// secretKeys are field names whose values never reach the log: the
// recorder redacts them whatever the caller passes. Chat records
// metadata only, so text-like keys are redacted too.
var secretKeys = []string{"password", "passwd", "token", "otp", "secret", "private", "credential", "cookie", "authorization"}

var textKeys = map[string]bool{"text": true, "body": true, "content": true, "message_text": true}

func redact(fields map[string]string) map[string]string {
	if len(fields) == 0 {
		return nil
	}
	out := make(map[string]string, len(fields))
	var red []string
	for k, v := range fields {
		// JSON would replace invalid UTF-8, and the event would no longer
		// match its hash once read back: make it valid before hashing.
		k, v = strings.ToValidUTF8(k, "\uFFFD"), strings.ToValidUTF8(v, "\uFFFD")
		lk := strings.ToLower(k)
		hide := textKeys[lk]
		for _, s := range secretKeys {
			if strings.Contains(lk, s) {
				hide = true
			}
		}
		if hide {
			v = "[redacted]"
			red = append(red, k)
		}
		if len(v) > 1024 {
			v = strings.ToValidUTF8(v[:1024], "") // cut on a character boundary
		}
		out[k] = v
	}
	if len(red) > 0 {
		sort.Strings(red)
		out["redacted"] = strings.Join(red, ",")
	}
	return out
}

// Record appends an event and returns once it is on disk. Fields whose
// names suggest a secret (password, token, otp, secret, ...) or message
// text are redacted. It returns ErrFull when the journal reached its
// bound (see Status().Warning, raised well before).
func (j *Journal) Record(event string, fields map[string]string) error {
	// The broker's limits: an event it would refuse must fail here, at
	// the caller, not block the upload later.
	if event == "" || len(event) > 64 {
		return fmt.Errorf("operation log: event name %q: 1 to 64 bytes", event)
	}
	if len(fields) > 31 { // one slot stays free for "redacted"
		return fmt.Errorf("operation log: event %s: %d fields, at most 31", event, len(fields))
	}
	for k := range fields {
		if k == "" || len(k) > 64 {
			return fmt.Errorf("operation log: event %s: field name %q: 1 to 64 bytes", event, k)
		}
	}
	fields = redact(fields)
	event = strings.ToValidUTF8(event, "\uFFFD")
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	if j.total >= j.opt.MaxBytes {
		j.mu.Unlock()
		j.log.Error("operation log full; event not recorded", "event", event)
		return ErrFull
	}
	ev := api.OplogEvent{Seq: j.tip.Seq + 1, At: j.opt.Now().UnixMilli(), Type: event, Fields: fields, Prev: j.prevHash()}
	frame, err := encodeFrame(&ev)
	if err != nil {
		j.mu.Unlock()
		return err
	}
	seg := &j.segs[len(j.segs)-1]
	if _, err := j.f.Write(frame); err != nil {
		// Do not leave a partial frame for the next event to follow.
		_ = j.f.Truncate(seg.size)
		j.mu.Unlock()
		return fmt.Errorf("operation log write: %w", err)
	}
	if seg.first == 0 {
		seg.first = ev.Seq
	}
	seg.last = ev.Seq
	seg.size += int64(len(frame))
	j.total += int64(len(frame))
	j.tip, j.tipHash = ev, ev.Hash()
	j.written++
	gen := j.written
	if !j.warned && float64(j.total) >= j.opt.WarnFraction*float64(j.opt.MaxBytes) {
		j.warned = true
		j.log.Warn("operation log nearly full", "bytes", j.total, "max", j.opt.MaxBytes)
	}
	var rotErr error
	if seg.size >= j.opt.SegmentBytes {
		rotErr = j.rotate()
	}
	j.mu.Unlock()
	select {
	case j.notify <- struct{}{}:
	default:
	}
	if rotErr != nil {
		return rotErr
	}
	return j.syncTo(gen)
}

func (j *Journal) prevHash() []byte {
	if j.tip.Seq == 0 {
		return make([]byte, 32)
	}
	h := j.tipHash
	return h[:]
}

// rotate syncs and closes the active segment and starts another. mu held.
func (j *Journal) rotate() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("operation log sync: %w", err)
	}
	j.raiseSynced(j.written)
	j.f.Close()
	return j.startSegment()
}

func (j *Journal) raiseSynced(g uint64) {
	for {
		cur := j.synced.Load()
		if cur >= g || j.synced.CompareAndSwap(cur, g) {
			return
		}
	}
}

// syncTo returns once an fsync covered frame gen: the first caller syncs
// for everyone written so far, those queued behind it usually find their
// frame covered already.
func (j *Journal) syncTo(gen uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced.Load() >= gen {
		return nil
	}
	j.mu.Lock()
	f, target := j.f, j.written
	j.mu.Unlock()
	if err := f.Sync(); err != nil {
		if j.synced.Load() >= gen { // rotated (and synced) meanwhile
			return nil
		}
		return fmt.Errorf("operation log sync: %w", err)
	}
	j.raiseSynced(target)
	return nil
}

// Changed delivers a token after events are recorded (for the uploader).
func (j *Journal) Changed() <-chan struct{} { return j.notify }

// Problems lists the damage Open found (empty when the chain was intact).
func (j *Journal) Problems() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.problems...)
}

// JournalStatus is what the About screen shows.
type JournalStatus struct {
	Pending  int64 // recorded, not yet acknowledged by the broker
	LastSeq  int64
	Acked    int64
	Bytes    int64
	MaxBytes int64
	// FillPercent is Bytes against MaxBytes; NearFull is set from
	// WarnFraction on, Full at the bound (new events are refused). The
	// UI words these in the user's language; Warning is the English
	// sentence for logs.
	FillPercent    int
	NearFull, Full bool
	Warning        string
}

// Status reports the journal's fill and what is waiting for upload.
func (j *Journal) Status() JournalStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := JournalStatus{Pending: j.tip.Seq - j.acked, LastSeq: j.tip.Seq, Acked: j.acked, Bytes: j.total, MaxBytes: j.opt.MaxBytes,
		FillPercent: int(j.total * 100 / j.opt.MaxBytes)}
	st.Full = j.total >= j.opt.MaxBytes
	st.NearFull = float64(j.total) >= j.opt.WarnFraction*float64(j.opt.MaxBytes)
	switch {
	case st.Full:
		st.Warning = "full: new operations cannot be recorded until the log is uploaded; connect to the network"
	case st.NearFull:
		st.Warning = fmt.Sprintf("%d%% full: connect to the network so the operation log can be uploaded", st.FillPercent)
	}
	return st
}

// Pending returns up to maxEvents events (and about maxBytes of them)
// that the broker has not acknowledged, in order.
func (j *Journal) Pending(maxEvents int, maxBytes int) ([]api.OplogEvent, error) {
	j.mu.Lock()
	acked := j.acked
	type snap struct {
		path string
		size int64
		last int64
	}
	var segs []snap
	for _, s := range j.segs {
		if s.last > acked || s.last == 0 {
			segs = append(segs, snap{s.path, s.size, s.last})
		}
	}
	j.mu.Unlock()
	var out []api.OplogEvent
	bytesSoFar := 0
	for _, s := range segs {
		// Read only what was complete when we looked: the writer may be
		// appending to the active segment right now.
		res, err := scanSegment(s.path, s.size)
		if err != nil {
			return nil, fmt.Errorf("operation log read: %w", err)
		}
		for _, ev := range res.events {
			if ev.Seq <= acked {
				continue
			}
			sz := 64 + len(ev.Type)
			for k, v := range ev.Fields {
				sz += len(k) + len(v) + 6
			}
			if len(out) >= maxEvents || (len(out) > 0 && bytesSoFar+sz > maxBytes) {
				return out, nil
			}
			out = append(out, ev)
			bytesSoFar += sz
		}
	}
	return out, nil
}

// Ack records that the broker stored every event up to seq (hash is that
// event's hash), then deletes segments holding only acknowledged events.
// The state file is replaced atomically before anything is deleted.
func (j *Journal) Ack(seq int64, hash [32]byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if seq <= j.acked {
		return nil
	}
	if seq > j.tip.Seq {
		return fmt.Errorf("operation log: acknowledgement %d beyond the last event %d", seq, j.tip.Seq)
	}
	st := state{Acked: seq, AckHash: hex.EncodeToString(hash[:])}
	if err := writeFileAtomic(filepath.Join(j.dir, stateFile), st); err != nil {
		return fmt.Errorf("operation log state: %w", err)
	}
	j.acked, j.ackHash = seq, hash[:]
	keep := j.segs[:0]
	for i, s := range j.segs {
		active := i == len(j.segs)-1
		if !active && s.last != 0 && s.last <= seq {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				j.log.Warn("operation log: delete acknowledged segment", "path", s.path, "err", err)
				keep = append(keep, s)
				continue
			}
			j.total -= s.size
			continue
		}
		keep = append(keep, s)
	}
	j.segs = keep
	if j.total < j.opt.MaxBytes {
		j.warned = float64(j.total) >= j.opt.WarnFraction*float64(j.opt.MaxBytes)
	}
	return nil
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// Close syncs and closes the journal. Record after Close returns ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	err := j.f.Sync()
	j.raiseSynced(j.written)
	err = errors.Join(err, j.f.Close())
	j.unlock()
	return err
}

func (j *Journal) unlock() {
	if j.lock != nil {
		j.lock.Close()
		j.lock = nil
	}
}
