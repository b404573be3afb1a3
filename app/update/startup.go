package update

import (
	"fmt"
	"os"
	"strconv"
)

// Start says what Startup found.
type Start int

const (
	// StartNormal: no update pending.
	StartNormal Start = iota
	// StartTrial: this is a new version on trial; call Confirm once the
	// sign-in window is up.
	StartTrial
	// StartRolledBack: the new version failed to start in time and the
	// old binary is back in place; the caller starts it and exits.
	StartRolledBack
)

// Startup runs first thing at start, before any window. A new version
// starting for the first time begins its trial; one that started before
// and never confirmed within StartDeadline has failed, and the old
// binary is put back. The journal and the keyring live outside the
// install directory, so a rollback leaves both as they are.
func (u *Updater) Startup() (Start, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.loadPending()
	if err != nil || p == nil {
		return StartNormal, err
	}
	now := u.cfg.Now()
	switch {
	case p.To != u.cfg.Version:
		// The old version runs: the new one was never started, or IT put
		// the old binary back by hand. Nothing is on trial.
		u.record("update.abandoned", "target", p.To)
		return StartNormal, os.Remove(u.pendingPath())
	case p.StartedAt.IsZero():
		p.StartedAt = now
		u.record("update.trial", "from", p.From)
		return StartTrial, writeJSON(u.pendingPath(), p)
	case now.Sub(p.StartedAt) < u.cfg.StartDeadline:
		// Started again within the minute (a second launch): still on trial.
		return StartTrial, nil
	}
	if err := u.rollback(p); err != nil {
		u.record("update.rollback_failed", "from", p.From, "err", err.Error())
		return StartNormal, err
	}
	s, err := u.loadState()
	if err != nil {
		return StartRolledBack, err
	}
	if !contains(s.Bad, p.To) {
		s.Bad = append(s.Bad, p.To)
	}
	s.RolledBack = p.To
	if err := u.saveState(s); err != nil {
		return StartRolledBack, err
	}
	u.record("update.rolled_back", "failed", p.To, "restored", p.From,
		"seconds_since_start", strconv.Itoa(int(now.Sub(p.StartedAt).Seconds())))
	return StartRolledBack, os.Remove(u.pendingPath())
}

// rollback puts the previous binary back. The failed one is moved aside
// first (a running binary can be renamed, on Windows too, but not
// overwritten).
func (u *Updater) rollback(p *pending) error {
	if _, err := os.Stat(p.Previous); err != nil {
		return fmt.Errorf("update: the previous binary %s is gone: %w", p.Previous, err)
	}
	failed := u.cfg.Exe + ".failed"
	_ = os.Remove(failed)
	if err := os.Rename(u.cfg.Exe, failed); err != nil {
		return err
	}
	if err := os.Rename(p.Previous, u.cfg.Exe); err != nil {
		_ = os.Rename(failed, u.cfg.Exe)
		return err
	}
	return nil
}

// Confirm is called by a new version once its sign-in window is up: the
// trial is over and the marker goes.
func (u *Updater) Confirm() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.loadPending()
	if err != nil || p == nil || p.To != u.cfg.Version {
		return err
	}
	u.record("update.confirmed", "from", p.From,
		"seconds_since_start", strconv.Itoa(int(u.cfg.Now().Sub(p.StartedAt).Seconds())))
	return os.Remove(u.pendingPath())
}

// takeRolledBack returns the version last rolled back, once: the
// restored app tells its user, then forgets.
func (u *Updater) takeRolledBack() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, err := u.loadState()
	if err != nil || s.RolledBack == "" {
		return ""
	}
	v := s.RolledBack
	s.RolledBack = ""
	if err := u.saveState(s); err != nil {
		return ""
	}
	return v
}
