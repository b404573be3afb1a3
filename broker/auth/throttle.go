package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Sign-in under attack. A black-box probe showed that five wrong
// passwords for a known staff ID locked the real user out (and five more
// every 15 minutes kept them out), and that a flood of attempts slowed
// real sign-ins tenfold. Two things answer it here:
//
//   - Lockout is counted per (staff ID, device) for sign-ins that prove,
//     with the device key, that they come from a laptop already enrolled
//     for that staff ID, and per staff ID for every other attempt. An
//     attacker without the key can lock only the unproven path (first
//     sign-ins from new laptops, as before); the enrolled laptop keeps
//     its own count, which only someone holding its key can raise.
//   - argon2 work is handed out by hashGate: proven sign-ins and
//     signed-in callers first, unproven attempts after them, with a
//     bounded queue and a short wait, and one slot kept free for proven
//     sign-ins while they come, so a flood costs bounded CPU and memory
//     and cannot slow the sign-ins that matter.
//
// Per-address rate limits are the HTTP layer's (broker/server/ratelimit.go).

// Defaults of the unproven queue (see hashGate). Proven sign-ins go
// ahead of the queue whatever its length, so its bounds do not protect
// them; they bound what a flood holds (requests, goroutines) and turn a
// wait a person would give up on into an answer: 8 per slot is about
// half a second of hashing at the production cost on an idle core.
const (
	defaultUnprovenWait     = 2 * time.Second
	defaultUnprovenPerSlot  = 8
	unprovenBusyRetryAfterS = 2
)

// lockKey names the failure counter an attempt counts against: the
// submitted staff ID for attempts that prove no enrolled device, the staff
// ID and device for those that do. ValidateID allows no '/', so the two
// kinds of key never collide, and the table needs no new column.
func lockKey(id string, dev *api.Device) string {
	if dev == nil {
		return id
	}
	return id + "/" + dev.ID
}

// provenDevice returns the active device enrolled for staff ID id whose
// key signed req.Proof within ProofSkew of now, or nil. reason says why a
// proof from an enrolled key did not count ("" when there was nothing to
// note): the laptop's clock is off, or the signature is wrong. A proof
// that fails is not an error: the attempt is then an unproven one, as
// from an app that sends no proof.
func (s *Service) provenDevice(ctx context.Context, id string, req api.LoginRequest, now time.Time) (dev *api.Device, reason string, err error) {
	if req.Proof == nil {
		return nil, "", nil
	}
	d, err := s.st.FindDevice(ctx, id, req.Device.PublicKey)
	if errors.Is(err, ErrNotFound) {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	if d.Status != api.DeviceActive {
		// A revoked or unapproved laptop is not trusted with its own
		// count; enrollDevice refuses it after the password anyway.
		return nil, "", nil
	}
	ts := time.Unix(req.Proof.Timestamp, 0)
	if ts.Before(now.Add(-ProofSkew)) || ts.After(now.Add(ProofSkew)) {
		return nil, "proof_clock", nil
	}
	if !ed25519.Verify(ed25519.PublicKey(d.PublicKey), api.LoginProofMessage(req.StaffID, req.Device.PublicKey, req.Proof.Timestamp), req.Proof.Signature) {
		return nil, "proof_signature", nil
	}
	return &d, "", nil
}

// DeviceProven reports whether req proves, with the device key, a laptop
// enrolled and active for its staff ID. The HTTP layer asks it to exempt
// such sign-ins from the per-address limits (staff behind one office
// address are not throttled together); Login checks the proof again.
func (s *Service) DeviceProven(ctx context.Context, req api.LoginRequest) bool {
	id := NormalizeID(req.StaffID)
	if ValidateID(id) != nil || validateProof(req.Proof) != nil || len(req.Device.PublicKey) != ed25519.PublicKeySize {
		return false
	}
	d, _, err := s.provenDevice(ctx, id, req, s.now())
	return err == nil && d != nil
}

func validateProof(p *api.LoginProof) *api.Error {
	if p != nil && len(p.Signature) != ed25519.SignatureSize {
		return api.Errf(api.CodeValidation, "proof.signature: want a 64-byte ed25519 signature")
	}
	return nil
}

// verifyAttempt checks a sign-in's password through the gate: proven
// attempts ahead of unproven ones, which may be refused when the queue is
// full (CodeSignInBusy, nothing counted against anyone).
func (s *Service) verifyAttempt(ctx context.Context, pw, hash string, proven bool) (ok, stale bool, err error) {
	if err := s.gate.acquire(ctx, proven); err != nil {
		return false, false, err
	}
	defer s.gate.release(proven)
	return VerifyPassword(pw, hash, s.argon)
}

// hashGate bounds concurrent argon2 hashes (each takes Argon2.MemoryKiB
// and a core) and decides who hashes next. A freed slot goes to the
// longest-waiting first-class caller (a sign-in that proved its device,
// or a signed-in caller changing a password), and only when there is none
// to an unproven attempt. Unproven attempts wait at most unprovenWait,
// and at most maxUnproven of them wait at once; beyond that they are
// refused at once. So a flood of unproven attempts costs at most the
// slots' CPU and never more memory than the slots.
//
// While first-class callers have come within reserveFor, unproven
// attempts hold at most all slots but one: the next proven sign-in then
// starts hashing at once instead of waiting for a running hash to end,
// which halves its worst case under a flood on a small machine. When
// none has come for that long (a rollout day of first sign-ins, or a
// spray at night) unproven attempts may use every slot.
type hashGate struct {
	mu          sync.Mutex // guards the fields below
	free        int        // slots not in use
	running     int        // of the slots in use, those held by unproven attempts
	first       []chan struct{}
	unproven    []chan struct{}
	lastFirst   time.Time // when a first-class caller last asked
	slots       int
	maxUnproven int
	wait        time.Duration
	reserveFor  time.Duration
	now         func() time.Time // the real clock: hashes take real time
}

func newHashGate(slots, maxUnproven int, unprovenWait time.Duration) *hashGate {
	return &hashGate{free: slots, slots: slots, maxUnproven: maxUnproven, wait: unprovenWait,
		reserveFor: 30 * time.Second, now: time.Now}
}

func errSignInBusy() error {
	e := api.Err(api.CodeSignInBusy)
	e.RetryAfter = unprovenBusyRetryAfterS
	return e
}

// unprovenMayRun reports whether an unproven attempt may take a free slot
// now. Called with mu held.
func (g *hashGate) unprovenMayRun() bool {
	if g.free == 0 {
		return false
	}
	limit := g.slots
	if g.slots > 1 && g.now().Sub(g.lastFirst) < g.reserveFor {
		limit = g.slots - 1
	}
	return g.running < limit
}

// acquire takes a slot; first says the caller goes ahead of unproven
// ones. The slot is given back with release(first).
func (g *hashGate) acquire(ctx context.Context, first bool) error {
	g.mu.Lock()
	if first {
		g.lastFirst = g.now()
		if g.free > 0 {
			g.free--
			g.mu.Unlock()
			return nil
		}
	} else {
		if len(g.unproven) == 0 && g.unprovenMayRun() {
			g.free--
			g.running++
			g.mu.Unlock()
			return nil
		}
		if len(g.unproven) >= g.maxUnproven {
			g.mu.Unlock()
			return errSignInBusy()
		}
	}
	// Buffered: release hands the slot over without waiting for us.
	ready := make(chan struct{}, 1)
	if first {
		g.first = append(g.first, ready)
	} else {
		g.unproven = append(g.unproven, ready)
	}
	g.mu.Unlock()

	var timeout <-chan time.Time
	if !first {
		t := time.NewTimer(g.wait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = errSignInBusy()
	}
	g.mu.Lock()
	removed := false
	if first {
		g.first, removed = without(g.first, ready)
	} else {
		g.unproven, removed = without(g.unproven, ready)
	}
	g.mu.Unlock()
	if !removed {
		// The slot was handed over as we gave up: pass it on.
		<-ready
		g.release(first)
	}
	return err
}

// unprovenFull reports whether an unproven attempt would be refused now.
func (g *hashGate) unprovenFull() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.unproven) >= g.maxUnproven
}

// release gives back a slot taken with acquire(first), handing it (or
// another now free) straight to the next waiter that may have it.
func (g *hashGate) release(first bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.free++
	if !first {
		g.running--
	}
	if len(g.first) > 0 {
		next := g.first[0]
		g.first = g.first[1:]
		g.free--
		next <- struct{}{}
		return
	}
	if len(g.unproven) > 0 && g.unprovenMayRun() {
		next := g.unproven[0]
		g.unproven = g.unproven[1:]
		g.free--
		g.running++
		next <- struct{}{}
	}
}

func without(q []chan struct{}, c chan struct{}) ([]chan struct{}, bool) {
	for i, w := range q {
		if w == c {
			return append(q[:i], q[i+1:]...), true
		}
	}
	return q, false
}

// lockedUntil is when the user's latest lock ends, whether it is the
// staff ID's (unproven attempts) or one of their laptops': IT sees either
// when the user calls.
func (s *Service) lockedUntil(ctx context.Context, id string) time.Time {
	var until time.Time
	keys := []string{id}
	if devs, err := s.st.ListDevices(ctx, id); err == nil {
		for _, d := range devs {
			keys = append(keys, lockKey(id, &d))
		}
	}
	for _, k := range keys {
		if a, err := s.st.GetAttempts(ctx, k); err == nil && a.LockedUntil.After(until) {
			until = a.LockedUntil
		}
	}
	return until
}

// clearLocks removes the failure counts of the staff ID and of each of
// the user's laptops (IT's unlock).
func (s *Service) clearLocks(ctx context.Context, id string) error {
	if err := s.st.DeleteAttempts(ctx, id); err != nil {
		return err
	}
	devs, err := s.st.ListDevices(ctx, id)
	if err != nil {
		return err
	}
	for _, d := range devs {
		if err := s.st.DeleteAttempts(ctx, lockKey(id, &d)); err != nil {
			return err
		}
	}
	return nil
}

// counterLocks serializes the read-count-write of each failure counter.
// Attempts that run at once all read the count before any of their
// hashes ends: without this, sixteen wrong passwords at once counted as
// one, and a spray got far more than five guesses a window. Striped, so
// its memory is fixed whatever the number of staff IDs sprayed.
type counterLocks [64]sync.Mutex

func (l *counterLocks) of(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &l[h.Sum32()%uint32(len(l))]
}

// clearFailures ends a good sign-in's path: refused after all if attempts
// that ran alongside it locked the path meanwhile (else the guesses in
// flight when the lock fell would still be judged), else its count is
// cleared.
func (s *Service) clearFailures(ctx context.Context, f failure) error {
	mu := s.counters.of(f.key)
	mu.Lock()
	defer mu.Unlock()
	att, err := s.st.GetAttempts(ctx, f.key)
	if err != nil {
		return err
	}
	if now := s.now(); now.Before(att.LockedUntil) {
		e := api.Err(api.CodeAccountLocked)
		e.RetryAfter = int(att.LockedUntil.Sub(now).Seconds()) + 1
		return e
	}
	if att.Failures > 0 {
		return s.st.DeleteAttempts(ctx, f.key)
	}
	return nil
}
