// Package keyring keeps the app's secrets (refresh token, device private
// key) in the OS keyring: Secret Service on Linux, Keychain on macOS,
// Credential Manager on Windows. Nothing here ever writes a secret to a
// file, and passwords are never stored at all.
package keyring

import (
	"errors"
	"fmt"

	gokeyring "github.com/zalando/go-keyring"
)

// Service is the keyring service name every entry is filed under.
const Service = "zaitaku"

// ErrNotFound is returned (wrapped) when no secret is stored under a key.
// It is go-keyring's own sentinel, so errors.Is works with either name.
var ErrNotFound = gokeyring.ErrNotFound

// ErrUnavailable is returned (wrapped) when the OS keyring cannot be reached,
// e.g. no Secret Service is running on a Linux desktop.
var ErrUnavailable = errors.New("os keyring unavailable")

// Store reads and writes entries of one service. It satisfies app/core's
// Secrets interface.
type Store struct {
	service  string
	notFound error // extra sentinel wrapped on a miss, e.g. core.ErrNoSecret
}

// Option configures a Store.
type Option func(*Store)

// WithNotFound makes a miss also wrap sentinel, so a caller that declares its
// own "no secret" error (as app/core does) can use errors.Is without this
// package importing it.
func WithNotFound(sentinel error) Option { return func(s *Store) { s.notFound = sentinel } }

// WithService files entries under another service name (tests use one per
// test so they never touch the real entries).
func WithService(name string) Option { return func(s *Store) { s.service = name } }

// New returns a Store for Service.
func New(opts ...Option) *Store {
	s := &Store{service: Service}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get returns the secret stored under key. A miss wraps ErrNotFound (and the
// WithNotFound sentinel).
func (s *Store) Get(key string) (string, error) {
	v, err := gokeyring.Get(s.service, key)
	if err != nil {
		return "", s.wrap("get", key, err)
	}
	return v, nil
}

// Set stores value under key, replacing what was there.
func (s *Store) Set(key, value string) error {
	if err := gokeyring.Set(s.service, key, value); err != nil {
		return s.wrap("set", key, err)
	}
	return nil
}

// Delete removes key. Deleting a missing key is not an error: sign-out wipes
// every entry the app may have written without knowing which exist.
func (s *Store) Delete(key string) error {
	err := gokeyring.Delete(s.service, key)
	if err == nil || errors.Is(err, gokeyring.ErrNotFound) {
		return nil
	}
	return s.wrap("delete", key, err)
}

// Wipe removes every entry of the service (sign-out, lost laptop). A
// service with no entries is not an error.
func (s *Store) Wipe() error {
	err := gokeyring.DeleteAll(s.service)
	if err == nil || errors.Is(err, gokeyring.ErrNotFound) {
		return nil
	}
	return s.wrap("wipe", "*", err)
}

func (s *Store) wrap(op, key string, err error) error {
	if errors.Is(err, gokeyring.ErrNotFound) {
		if s.notFound != nil {
			return fmt.Errorf("keyring %s %s: %w: %w", op, key, ErrNotFound, s.notFound)
		}
		return fmt.Errorf("keyring %s %s: %w", op, key, ErrNotFound)
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) || errors.Is(err, gokeyring.ErrUnsupportedPlatform) {
		return fmt.Errorf("keyring %s %s: %w", op, key, err)
	}
	// go-keyring reports a missing Secret Service as a plain dbus error.
	return fmt.Errorf("keyring %s %s: %w: %w", op, key, ErrUnavailable, err)
}
