package oplog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service is the app's operation log over its whole run: the journal
// records from the first moment (before sign-in too), and each signed-in
// session runs an uploader with that session's client and device key.
// core.Deps takes its methods: Record (the Recorder), StartSession (from
// OnSession) and BeforeLogout.
type Service struct {
	j   *Journal
	log *slog.Logger

	mu     sync.Mutex // guards cancel, up
	cancel context.CancelFunc
	up     *Uploader
}

// Start opens the journal in dir. It fails with ErrLocked when another
// running app holds it.
func Start(dir string, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j, err := Open(dir, Options{Log: log})
	if err != nil {
		return nil, err
	}
	return &Service{j: j, log: log}, nil
}

// Journal is the journal the service keeps.
func (s *Service) Journal() *Journal { return s.j }

// Record writes one event to the journal (core.Recorder).
func (s *Service) Record(event string, fields map[string]string) error {
	return s.j.Record(event, fields)
}

// StartSession replaces the uploader with one for a new session, sending
// through c as deviceID and signing with sign. It stops when done closes
// (the session's client has no token then), and events wait in the
// journal for the next sign-in.
func (s *Service) StartSession(c Sender, deviceID string, sign func([]byte) []byte, done <-chan struct{}) {
	up := NewUploader(s.j, c, deviceID, sign, s.log)
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel, s.up = cancel, up
	s.mu.Unlock()
	go func() { _ = up.Run(ctx) }()
	if done == nil {
		return
	}
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			return // a newer session replaced this one
		}
		cancel()
		s.mu.Lock()
		if s.up == up {
			s.up = nil
		}
		s.mu.Unlock()
	}()
}

// BeforeLogout uploads what is pending while the token still works, so a
// laptop that is signed out and put away has sent its log; what fails
// waits in the journal for the next sign-in.
func (s *Service) BeforeLogout(ctx context.Context) {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	if up == nil {
		return
	}
	if err := up.Flush(ctx); err != nil {
		s.log.Warn("upload operation log before sign-out", "err", err)
	}
}

// Status is the upload state the About screen and the diagnostics show.
type Status struct {
	Pending     int64     // recorded, not yet acknowledged by the broker
	LastUpload  time.Time // zero: none in this run
	LastError   string    // the last upload's failure; empty after a success
	Uploading   bool      // a signed-in session runs the uploader
	FillPercent int
	NearFull    bool
	Full        bool
}

// Status reports the journal's fill and the running uploader's progress.
func (s *Service) Status() Status {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	var st Status
	var js JournalStatus
	if up != nil {
		us := up.Status()
		js = us.JournalStatus
		st.LastUpload, st.LastError, st.Uploading = us.LastUpload, us.LastError, true
	} else {
		js = s.j.Status()
	}
	st.Pending, st.FillPercent, st.NearFull, st.Full = js.Pending, js.FillPercent, js.NearFull, js.Full
	return st
}

// Close stops the uploader and closes the journal. Call it after the core
// client's Close, which records app.stop.
func (s *Service) Close() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	if err := s.j.Close(); err != nil {
		s.log.Error("close operation log", "err", err)
	}
}
