package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/ui"
	"github.com/zaitaku/zaitaku/platform/rdp"
)

// rdpLauncher starts the OS's RDP client (xfreerdp, mstsc, Windows App)
// with the broker's policy; the zero policy is the LGWAN profile.
type rdpLauncher struct{}

func (rdpLauncher) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	return rdp.Launch(ctx, rdp.Spec{Host: t.Host, Port: t.Port, User: t.User, Fullscreen: true, Policy: rdp.Policy(t.Policy)})
}

// oplogWiring keeps the operation log: the journal records from the first
// moment (before sign-in too), and each signed-in session runs an uploader
// with that session's client and device key.
type oplogWiring struct {
	j   *oplog.Journal
	log *slog.Logger

	mu     sync.Mutex // guards cancel, up
	cancel context.CancelFunc
	up     *oplog.Uploader
}

func openOplog(dataDir string, log *slog.Logger) (*oplogWiring, error) {
	j, err := oplog.Open(filepath.Join(dataDir, "oplog"), oplog.Options{Log: log})
	if err != nil {
		return nil, err
	}
	return &oplogWiring{j: j, log: log}, nil
}

// onSession (core.Deps.OnSession) replaces the uploader with one for the
// new session; it stops when the session ends (its client has no token
// then), and events wait in the journal for the next sign-in.
func (w *oplogWiring) onSession(s core.Session) {
	up := oplog.NewUploader(w.j, s.API, s.DeviceID, s.Sign, w.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	if w.cancel != nil {
		w.cancel()
	}
	w.cancel, w.up = cancel, up
	w.mu.Unlock()
	go func() { _ = up.Run(ctx) }()
	if s.Done != nil {
		go func() {
			select {
			case <-s.Done:
			case <-ctx.Done():
				return
			}
			cancel()
			w.mu.Lock()
			if w.up == up {
				w.up = nil
			}
			w.mu.Unlock()
		}()
	}
}

// beforeLogout (core.Deps.BeforeLogout) uploads what is pending while the
// token still works, so a laptop that is signed out and put away has sent
// its log; what fails waits in the journal for the next sign-in.
func (w *oplogWiring) beforeLogout(ctx context.Context) {
	w.mu.Lock()
	up := w.up
	w.mu.Unlock()
	if up == nil {
		return
	}
	if err := up.Flush(ctx); err != nil {
		w.log.Warn("upload operation log before sign-out", "err", err)
	}
}

// status is the upload state for the About screen and the diagnostics.
func (w *oplogWiring) status() ui.LogStatus {
	w.mu.Lock()
	up := w.up
	w.mu.Unlock()
	var st ui.LogStatus
	var js oplog.JournalStatus
	if up != nil {
		us := up.Status()
		js = us.JournalStatus
		st.LastUpload, st.LastError, st.Uploading = us.LastUpload, us.LastError, true
	} else {
		js = w.j.Status()
	}
	st.Pending, st.FillPercent, st.NearFull, st.Full = js.Pending, js.FillPercent, js.NearFull, js.Full
	return st
}

// close stops the uploader and closes the journal (after core.Close has
// recorded app.stop).
func (w *oplogWiring) close() {
	w.mu.Lock()
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
	if err := w.j.Close(); err != nil {
		w.log.Error("close operation log", "err", err)
	}
}
