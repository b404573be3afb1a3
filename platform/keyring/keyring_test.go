package keyring

import (
	"errors"
	"testing"

	gokeyring "github.com/zalando/go-keyring"
)

var errNoSecret = errors.New("no secret")

func TestStoreWithMock(t *testing.T) {
	gokeyring.MockInit()
	s := New(WithNotFound(errNoSecret))

	_, err := s.Get("refresh")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, errNoSecret) {
		t.Fatalf("Get missing: %v, want ErrNotFound and the caller's sentinel", err)
	}
	if err := s.Set("refresh", "tok"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("refresh"); err != nil || v != "tok" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if err := s.Delete("refresh"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("refresh"); err != nil {
		t.Fatalf("deleting a missing key should be fine: %v", err)
	}
	if err := s.Set("a", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Wipe(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Wipe: %v", err)
	}
}

func TestStoreUnavailable(t *testing.T) {
	gokeyring.MockInitWithError(errors.New("org.freedesktop.DBus.Error.ServiceUnknown"))
	s := New()
	if _, err := s.Get("x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get with no keyring: %v, want ErrUnavailable", err)
	}
	if err := s.Set("x", "y"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set with no keyring: %v", err)
	}
}
