package console

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

func TestParseAllow(t *testing.T) {
	ps, err := ParseAllow(" 10.20.0.0/16, 192.168.1.7 ,fd00::/8")
	if err != nil || len(ps) != 3 {
		t.Fatalf("%v %v", ps, err)
	}
	s, _ := New(Config{Allow: ps})
	for a, want := range map[string]bool{"10.20.3.4": true, "10.21.0.1": false, "192.168.1.7": true, "192.168.1.8": false,
		"::ffff:10.20.0.9": true, "fd12::1": true, "127.0.0.1": false} {
		if got := s.Allowed(netip.MustParseAddr(a)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", a, got, want)
		}
	}
	for _, bad := range []string{"", " , ", "10.0.0.0/33", "office"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q) took it", bad)
		}
	}
	if _, err := ParseAllow(DefaultAllow); err != nil {
		t.Errorf("the default: %v", err)
	}
}

// TestSessionsRefreshOnce: requests that find the access token expiring
// together refresh it once (a rotated refresh token used twice would end
// the sign-in); idle sessions are swept at the next sign-in and handed
// back so that their sign-ins are ended.
func TestSessionsRefreshOnce(t *testing.T) {
	now := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := New(Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Seed: []byte("k"), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	login := func(id string) *api.LoginResponse {
		return &api.LoginResponse{User: api.User{ID: id}, AccessToken: "zat_" + id, AccessExpiresAt: now.Add(15 * time.Minute),
			RefreshToken: "zrt_" + id + "0", Device: api.Device{ID: "dev_" + id}}
	}
	cookie, _, _ := s.Open(login("a"))
	mu.Lock()
	now = now.Add(14*time.Minute + 30*time.Second)
	mu.Unlock()
	var calls int
	var cmu sync.Mutex
	refresh := func(tok, dev string) (*api.LoginResponse, error) {
		cmu.Lock()
		calls++
		cmu.Unlock()
		if tok != "zrt_a0" || dev != "dev_a" {
			t.Errorf("refresh with %s %s", tok, dev)
		}
		r := login("a")
		r.AccessToken, r.RefreshToken, r.AccessExpiresAt = "zat_a1", "zrt_a1", clock().Add(15*time.Minute)
		return r, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			se, err := s.Use(cookie, true, refresh)
			if err != nil || se.Access != "zat_a1" {
				t.Errorf("Use: %+v %v", se, err)
			}
		}()
	}
	wg.Wait()
	if calls != 1 {
		t.Errorf("%d refreshes, want 1", calls)
	}
	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	_, _, gone := s.Open(login("b"))
	if len(gone) != 1 || gone[0].User.ID != "a" || gone[0].Refresh != "zrt_a1" {
		t.Errorf("swept %+v, want a's session", gone)
	}
	if _, err := s.Use(cookie, true, refresh); err != ErrSignedOut {
		t.Errorf("a after the sweep: %v", err)
	}
	if se, ok := s.Close("nonsense"); ok {
		t.Errorf("Close of an unknown cookie: %+v", se)
	}
}
