package update

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Phase is where the app's self-update stands, for the faces.
type Phase int

const (
	PhaseIdle        Phase = iota // up to date, or not checked yet: nothing to show
	PhaseChecking                 // asking the broker
	PhaseDownloading              // Status.Done of Status.Total bytes
	PhaseReady                    // applied: a restart switches to Status.Target
	PhaseRefused                  // Status.Reason says why; tried again at the next check
	PhaseFailed                   // the broker could not be reached; tried again at the next check
)

func (p Phase) String() string {
	return [...]string{"idle", "checking", "downloading", "ready", "refused", "failed"}[p]
}

// Status is one snapshot of the self-update: codes and numbers, never
// sentences (app/ui and app/tray word them through app/i18n).
type Status struct {
	Phase       Phase
	Target      string // the version offered (Downloading, Ready, Refused after an offer)
	Done, Total int64  // bytes, while Downloading
	Reason      Reason // while Refused
	// Required: the running version is below IT's minimum: the app must
	// update before it may connect.
	Required bool
	// RolledBack is a version that failed to reach its sign-in window
	// and was replaced by this one at start; shown until the next offer.
	RolledBack string
}

// Percent is the download's progress, 0–100.
func (s Status) Percent() int {
	if s.Total <= 0 {
		return 0
	}
	return int(s.Done * 100 / s.Total)
}

// ErrNoBroker is what a Switch answers before the app knows its broker.
var ErrNoBroker = errors.New("update: no broker yet")

// Switch is a Source that follows the broker the app uses now: main
// sets it each time a client is made for a (new) profile.
type Switch struct {
	mu  sync.Mutex
	src Source
}

// Set points the updater at s.
func (w *Switch) Set(s Source) {
	w.mu.Lock()
	w.src = s
	w.mu.Unlock()
}

func (w *Switch) get() (Source, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.src == nil {
		return nil, ErrNoBroker
	}
	return w.src, nil
}

// ReleaseKeys implements Source.
func (w *Switch) ReleaseKeys(ctx context.Context, after int) (*api.KeyListChain, error) {
	s, err := w.get()
	if err != nil {
		return nil, err
	}
	return s.ReleaseKeys(ctx, after)
}

// ReleaseManifest implements Source.
func (w *Switch) ReleaseManifest(ctx context.Context, channel, goos, arch string) (*api.SignedDoc, error) {
	s, err := w.get()
	if err != nil {
		return nil, err
	}
	return s.ReleaseManifest(ctx, channel, goos, arch)
}

// DownloadRelease implements Source.
func (w *Switch) DownloadRelease(ctx context.Context, path string) (io.ReadCloser, int64, error) {
	s, err := w.get()
	if err != nil {
		return nil, 0, err
	}
	return s.DownloadRelease(ctx, path)
}

// Agent runs the updater for the app: a check at once when kicked (the
// broker became known) and then every Every; an offer is downloaded,
// verified and applied in the background; each step is published as a
// Status. It never restarts the app: the faces offer that, outside a
// session.
type Agent struct {
	u     *Updater
	every time.Duration

	mu     sync.Mutex // guards st, subs, nextID
	st     Status
	subs   map[int]func(Status)
	nextID int
	kick   chan struct{}
}

// NewAgent wraps u; every is the time between checks (a few hours).
func NewAgent(u *Updater, every time.Duration) *Agent {
	a := &Agent{u: u, every: every, subs: map[int]func(Status){}, kick: make(chan struct{}, 1)}
	a.st.RolledBack = u.takeRolledBack()
	return a
}

// Updater is the agent's updater (Startup and Confirm are main's).
func (a *Agent) Updater() *Updater { return a.u }

// Status returns the current snapshot.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// Subscribe calls fn with the current status at once and after each
// change, on the caller's goroutine first and then on the agent's; fn
// must not block.
func (a *Agent) Subscribe(fn func(Status)) (cancel func()) {
	a.mu.Lock()
	id := a.nextID
	a.nextID++
	a.subs[id] = fn
	st := a.st
	a.mu.Unlock()
	fn(st)
	return func() {
		a.mu.Lock()
		delete(a.subs, id)
		a.mu.Unlock()
	}
}

func (a *Agent) set(fn func(*Status)) {
	a.mu.Lock()
	fn(&a.st)
	st := a.st
	subs := make([]func(Status), 0, len(a.subs))
	for _, f := range a.subs {
		subs = append(subs, f)
	}
	a.mu.Unlock()
	for _, f := range subs {
		f(st)
	}
}

// Kick asks for a check now (the app just learned its broker).
func (a *Agent) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run checks when kicked and every a.every until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-t.C:
		}
		a.Once(ctx)
	}
}

// Once is one check and, when something is offered, its download and
// apply. Once applied, nothing is fetched again until the restart.
func (a *Agent) Once(ctx context.Context) {
	if a.Status().Phase == PhaseReady {
		return
	}
	a.set(func(s *Status) { s.Phase = PhaseChecking })
	o, err := a.u.Check(ctx)
	if err != nil || o == nil {
		a.done(err, "")
		return
	}
	a.set(func(s *Status) {
		*s = Status{Phase: PhaseDownloading, Target: o.Target.Version, Total: o.Target.Size, Required: o.Required, RolledBack: s.RolledBack}
	})
	last := -1
	err = a.u.Apply(ctx, o, func(done, total int64) {
		// One snapshot per percent: a 40 MB download must not redraw
		// the window 160 times.
		if p := int(done * 100 / max(total, 1)); p != last {
			last = p
			a.set(func(s *Status) { s.Done, s.Total = done, total })
		}
	})
	a.done(err, o.Target.Version)
}

func (a *Agent) done(err error, target string) {
	var r *Refused
	a.set(func(s *Status) {
		switch {
		case err == nil && target != "":
			s.Phase = PhaseReady
		case err == nil:
			*s = Status{Phase: PhaseIdle, RolledBack: s.RolledBack}
		case errors.As(err, &r):
			s.Phase, s.Reason, s.Target = PhaseRefused, r.Reason, target
		default:
			// The broker is away or the network down: nothing to tell
			// the user; the next check tries again.
			s.Phase = PhaseFailed
		}
	})
}
