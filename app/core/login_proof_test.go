package core

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestLoginProvesEnrolledLaptop: the app's sign-in carries the proof the
// broker accepts, so after someone without the laptop's key has locked the
// staff ID, the same laptop (the app restarted on the same keyring) still
// signs in, and only a new laptop is refused.
func TestLoginProvesEnrolledLaptop(t *testing.T) {
	b := brokertest.Start(t)
	u := b.CreateUser(t, "k1201")
	ctx := context.Background()
	sec := NewMemorySecrets()
	if _, err := newClient(t, b, sec, nil).Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	attacker := b.Client(t)
	for i := 0; i < 5; i++ {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		_, _ = attacker.Login(ctx, api.LoginRequest{StaffID: u.ID, Password: "Wrong-Pass-77x",
			Device: api.DeviceInfo{Name: "x", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	}
	b.Clock.Advance(30 * time.Second)
	if _, err := newClient(t, b, sec, nil).Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
		t.Fatalf("the enrolled laptop after the spray: %v", err)
	}
	b.Clock.Advance(30 * time.Second)
	_, err := newClient(t, b, NewMemorySecrets(), nil).Login(ctx, u.ID, u.Password, b.Code(t, u), false)
	if e := api.AsError(err); e == nil || e.Code != api.CodeAccountLocked {
		t.Fatalf("a new laptop after the spray: %v, want %s", err, api.CodeAccountLocked)
	}
}
