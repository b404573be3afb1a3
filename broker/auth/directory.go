package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Directory checks a staff member's password against the city's directory
// (LDAP, Active Directory) instead of Zaitaku's own hash. It is declared
// here, where sign-in uses it; broker/directory implements it.
type Directory interface {
	// Authenticate finds the staff ID in the directory and binds as it
	// with the password. It returns ErrDirectoryUnknown or
	// ErrDirectoryPassword (wrapped) when the directory refuses, and any
	// other error when it could not be asked.
	Authenticate(ctx context.Context, staffID, password string) (DirectoryEntry, error)
}

// DirectoryEntry is what the directory says of a staff member whose
// password it accepted.
type DirectoryEntry struct {
	DN         string
	Name       string
	Department string
	Email      string
	// Roles are mapped from the directory groups the entry is in; none
	// means IT put the person in no Zaitaku group.
	Roles []api.Role
	// Disabled says the directory marks the account disabled.
	Disabled bool
}

// Refusals of a Directory.
var (
	ErrDirectoryUnknown  = errors.New("directory: no such staff ID")
	ErrDirectoryPassword = errors.New("directory: wrong password")
)

// DirectoryConfig turns on sign-in through a directory.
type DirectoryConfig struct {
	Directory Directory
	// LocalAccounts keep Zaitaku's own password (the first admin, a
	// break-glass account for when the directory is down).
	LocalAccounts []string
	// MaxFailedBinds is how many failed binds of one staff ID Zaitaku
	// lets reach the directory from laptops that prove no enrolled key,
	// within FailedBindWindow of the last failure (default 3 in 30 min).
	// Set it below the directory's lockout threshold and the window to at
	// least its reset time, and nobody without the password and a
	// laptop's key can lock the account in the directory through Zaitaku.
	MaxFailedBinds   int
	FailedBindWindow time.Duration
}

const (
	defaultMaxFailedBinds   = 3
	defaultFailedBindWindow = 30 * time.Minute
	// directoryWait bounds how long a sign-in waits behind another one of
	// the same staff ID and path for the directory.
	directoryWait = 10 * time.Second
)

func (c DirectoryConfig) withDefaults() DirectoryConfig {
	if c.MaxFailedBinds <= 0 {
		c.MaxFailedBinds = defaultMaxFailedBinds
	}
	if c.FailedBindWindow <= 0 {
		c.FailedBindWindow = defaultFailedBindWindow
	}
	local := make([]string, 0, len(c.LocalAccounts))
	for _, id := range c.LocalAccounts {
		local = append(local, NormalizeID(id))
	}
	c.LocalAccounts = local
	return c
}

// viaDirectory reports whether staff ID id signs in through the directory.
func (s *Service) viaDirectory(id string) bool {
	return s.dir.Directory != nil && !slices.Contains(s.dir.LocalAccounts, id)
}

// bindKey names the counter of failed binds of a staff ID. ValidateID
// allows no ':', so it collides with no staff ID's or laptop's counter.
func bindKey(id string) string { return "dir:" + id }

// directorySignIn checks the password with the directory after Zaitaku's
// own lock (checked by Login before it) and the failed-bind budget, and
// returns the user as stored, created or brought up to date from the
// directory. Attempts on one counter wait for each other, so attempts
// sent at once cannot all pass the checks before any of them counts.
func (s *Service) directorySignIn(ctx context.Context, req api.LoginRequest, f failure) (UserRecord, error) {
	unlock, err := s.dirLocks.lock(ctx, f.key)
	if err != nil {
		return UserRecord{}, err
	}
	defer unlock()
	now := s.now()
	att, err := s.st.GetAttempts(ctx, f.key)
	if err != nil {
		return UserRecord{}, err
	}
	if now.Before(att.LockedUntil) {
		return UserRecord{}, s.locked(ctx, f, att.LockedUntil, "")
	}
	if f.device == "" {
		b, err := s.st.GetAttempts(ctx, bindKey(f.id))
		if err != nil {
			return UserRecord{}, err
		}
		if until := b.WindowStart.Add(s.dir.FailedBindWindow); b.Failures >= s.dir.MaxFailedBinds && now.Before(until) {
			return UserRecord{}, s.locked(ctx, f, until, "directory_budget")
		}
	}
	if req.Password == "" {
		// An LDAP bind with an empty password is an anonymous bind, which
		// many directories accept: never ask.
		return UserRecord{}, s.fail(ctx, f, "password")
	}
	ent, err := s.dir.Directory.Authenticate(ctx, f.id, req.Password)
	switch {
	case errors.Is(err, ErrDirectoryUnknown):
		return UserRecord{}, s.fail(ctx, f, "unknown_id")
	case errors.Is(err, ErrDirectoryPassword):
		if err := s.countFailedBind(ctx, f.id); err != nil {
			return UserRecord{}, err
		}
		return UserRecord{}, s.fail(ctx, f, "password")
	case err != nil:
		s.log.Warn("directory sign-in", "staff_id", f.id, "err", err)
		s.record(ctx, f.id, "auth.login_failed", f.id, f.fields("reason", "directory_unavailable", "remote", f.remote)...)
		return UserRecord{}, api.Err(api.CodeDirectoryUnavailable)
	}
	// The directory cleared its own count with the good bind.
	if err := s.st.DeleteAttempts(ctx, bindKey(f.id)); err != nil {
		return UserRecord{}, err
	}
	if ent.Disabled {
		s.record(ctx, f.id, "auth.login_failed", f.id, f.fields("reason", "directory_disabled", "remote", f.remote)...)
		return UserRecord{}, api.Err(api.CodeAccountDisabled)
	}
	if len(ent.Roles) == 0 {
		s.record(ctx, f.id, "auth.login_failed", f.id, f.fields("reason", "directory_no_group", "remote", f.remote)...)
		return UserRecord{}, api.Err(api.CodeDirectoryNoRole)
	}
	return s.directoryUser(ctx, f.id, ent)
}

// locked refuses a sign-in on a locked path; reason, when given, says
// which lock in the audit record.
func (s *Service) locked(ctx context.Context, f failure, until time.Time, reason string) error {
	e := api.Err(api.CodeAccountLocked)
	e.RetryAfter = int(until.Sub(s.now()).Seconds()) + 1
	kv := []string{"remote", f.remote}
	if reason != "" {
		kv = append(kv, "reason", reason)
	}
	s.record(ctx, f.id, "auth.login_locked", f.id, f.fields(kv...)...)
	return e
}

// countFailedBind counts a bind the directory refused. The count starts
// again once FailedBindWindow has passed since the last failure, as a
// directory's own lockout counter does.
func (s *Service) countFailedBind(ctx context.Context, id string) error {
	key := bindKey(id)
	mu := s.counters.of(key)
	mu.Lock()
	defer mu.Unlock()
	b, err := s.st.GetAttempts(ctx, key)
	if err != nil {
		return err
	}
	now := s.now()
	if b.StaffID == "" || now.Sub(b.WindowStart) > s.dir.FailedBindWindow {
		b = Attempts{StaffID: key}
	}
	b.Failures++
	b.WindowStart = now
	return s.st.PutAttempts(ctx, b)
}

// directoryUser returns the stored user for a directory entry: created on
// the first sign-in (see "Sign-in with a directory" in ARCHITECTURE.md),
// afterwards with name, department, e-mail and roles as the directory
// has them now. An account disabled in Zaitaku is left as it is (Login
// refuses it).
func (s *Service) directoryUser(ctx context.Context, id string, ent DirectoryEntry) (UserRecord, error) {
	roles := slices.Clone(ent.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	name := strings.TrimSpace(ent.Name)
	if name == "" {
		name = id
	}
	u, err := s.st.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		h, err := s.UnusablePasswordHash(ctx)
		if err != nil {
			return UserRecord{}, err
		}
		now := s.now()
		u = UserRecord{User: api.User{ID: id, Name: name, Department: strings.TrimSpace(ent.Department), Roles: roles,
			Email: strings.TrimSpace(ent.Email), CreatedAt: now}, PasswordHash: h, UpdatedAt: now}
		if err := s.st.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
			return s.directoryUser(ctx, id, ent) // created meanwhile by a roster import or IT
		} else if err != nil {
			return UserRecord{}, fmt.Errorf("create %s from the directory: %w", id, err)
		}
		s.StaffChanged(ctx, []string{u.Department})
		s.record(ctx, "directory", "auth.user_created", id, "roles", joinRoles(roles), "department", u.Department, "dn", ent.DN)
		return u, nil
	} else if err != nil {
		return UserRecord{}, err
	}
	if u.Disabled {
		return u, nil
	}
	var changed []string
	wasDept := u.Department
	u, err = s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		changed = changed[:0]
		wasDept = r.Department
		if r.Name != name {
			r.Name, changed = name, append(changed, "name")
		}
		if d := strings.TrimSpace(ent.Department); d != "" && r.Department != d {
			r.Department, changed = d, append(changed, "department")
		}
		if e := strings.TrimSpace(ent.Email); e != "" && r.Email != e {
			r.Email, changed = e, append(changed, "email")
		}
		if !slices.Equal(r.Roles, roles) {
			r.Roles, changed = roles, append(changed, "roles")
		}
		// The password is the directory's: nothing to change here.
		r.MustChangePassword = false
		if len(changed) > 0 {
			r.UpdatedAt = s.now()
		}
		return nil
	})
	if err != nil {
		return UserRecord{}, err
	}
	if wasDept != u.Department {
		s.StaffChanged(ctx, []string{wasDept, u.Department})
	}
	if len(changed) > 0 {
		s.record(ctx, "directory", "auth.user_updated", id, "changed", strings.Join(changed, ","),
			"roles", joinRoles(u.Roles), "department", u.Department)
	}
	return u, nil
}

// keyLocks is one lock per key, taken with a deadline: a directory call
// is held under it, so striped locks would make unrelated staff wait for
// each other's directory.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds a token while the lock is held
	refs int
}

func (l *keyLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyLock{}
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	t := time.NewTimer(directoryWait)
	defer t.Stop()
	select {
	case k.ch <- struct{}{}:
		return func() { <-k.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	case <-t.C:
		done()
		return nil, errSignInBusy()
	}
}
