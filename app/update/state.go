package update

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// state is what the updater remembers between runs, in the app's data
// directory (so that it survives an update and a rollback).
type state struct {
	// Highest is the highest version ever verified: anything older is a
	// rollback attack, whatever a validly signed manifest says.
	Highest string `json:"highest_version,omitempty"`
	// Keys is the newest key list accepted, as signed.
	Keys *api.SignedDoc `json:"keys,omitempty"`
	// Retired are every key any accepted list retired: never trusted again.
	Retired []string `json:"retired,omitempty"`
	// Bad are versions rolled back after a failed start: not offered again.
	Bad []string `json:"bad_versions,omitempty"`
	// RolledBack is the version last rolled back, until the restored app
	// has told its user (Agent's Status.RolledBack).
	RolledBack string `json:"rolled_back,omitempty"`
}

// pending is the marker written before a restart into a new version and
// cleared by that version once it reaches its sign-in window.
type pending struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Previous  string    `json:"previous"` // the old binary, kept
	AppliedAt time.Time `json:"applied_at"`
	// StartedAt is when the new version first started (zero until then).
	StartedAt time.Time `json:"started_at,omitzero"`
}

func (u *Updater) statePath() string   { return filepath.Join(u.cfg.StateDir, "update-state.json") }
func (u *Updater) pendingPath() string { return filepath.Join(u.cfg.StateDir, "update-pending.json") }

func (u *Updater) loadState() (state, error) {
	var s state
	err := readJSON(u.statePath(), &s)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	return s, err
}

func (u *Updater) saveState(s state) error { return writeJSON(u.statePath(), s) }

func (u *Updater) loadPending() (*pending, error) {
	var p pending
	err := readJSON(u.pendingPath(), &p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON replaces path atomically: a crash mid-write must not leave a
// state that forgets the highest version or the retired keys.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
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
	return os.Rename(tmp, path)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
