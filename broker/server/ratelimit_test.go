package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// post sends body to path as JSON with the extra headers and returns the
// status, the Retry-After header and the error body (if any).
func post(t *testing.T, b *brokertest.Broker, path string, body any, header map[string]string) (int, string, api.Code) {
	t.Helper()
	c := b.Client(t)
	req, err := c.NewRequest(context.Background(), "POST", path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e api.Error
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Code
}

func TestLoginRateLimit(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRateLimits("3/1m", "off", ""))
	u := b.CreateUser(t, "k3101")
	laptop := newKey()
	b.LoginWithKey(t, u, laptop) // a first sign-in proves nothing: one of the three
	wrong := func(id string) api.LoginRequest {
		return loginReq(brokertest.User{ID: id}, "Wrong-Pass-77x", "", newKey())
	}
	for _, id := range []string{"ghost1", "ghost2"} {
		if st, _, c := post(t, b, "/v1/login", wrong(id), nil); st != 401 || c != api.CodeInvalidCredentials {
			t.Fatalf("%s: %d %s, want 401", id, st, c)
		}
	}
	// The fourth attempt within the minute: 429, and a new token comes
	// in 60/3 = 20 s.
	st, ra, c := post(t, b, "/v1/login", wrong("ghost3"), nil)
	if st != http.StatusTooManyRequests || c != api.CodeRateLimited || ra != "20" {
		t.Fatalf("over the limit: %d %s Retry-After=%q, want 429 %s 20", st, c, ra, api.CodeRateLimited)
	}
	// A forged proof is no exemption.
	forged := brokertest.Prove(loginReq(u, u.Password, b.Code(t, u), laptop), newKey(), b.Now())
	if st, _, c := post(t, b, "/v1/login", forged, nil); st != http.StatusTooManyRequests {
		t.Fatalf("forged proof: %d %s, want 429", st, c)
	}
	// The enrolled laptop's proven sign-in, from the same address, is exempt.
	b.Clock.Advance(30 * time.Second)
	proven := brokertest.Prove(loginReq(u, u.Password, b.Code(t, u), laptop), laptop, b.Now())
	if st, _, c := post(t, b, "/v1/login", proven, nil); st != 200 {
		t.Fatalf("proven sign-in over the address's limit: %d %s, want 200", st, c)
	}
	// 30 s refilled one and a half tokens: one attempt, then refused again.
	if st, _, c := post(t, b, "/v1/login", wrong("ghost4"), nil); st != 401 {
		t.Fatalf("after the refill: %d %s, want 401", st, c)
	}
	if st, ra, _ := post(t, b, "/v1/login", wrong("ghost5"), nil); st != http.StatusTooManyRequests || ra != "10" {
		t.Fatalf("half a token left: %d Retry-After=%q, want 429 10", st, ra)
	}
}

func TestRefreshRateLimit(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRateLimits("off", "2/1m", ""))
	s := b.Signin(t, "k3102")
	garbage := api.RefreshRequest{RefreshToken: "zrt_nope", DeviceID: s.Login.Device.ID}
	for i := 0; i < 2; i++ {
		if st, _, c := post(t, b, "/v1/token/refresh", garbage, nil); st != 401 || c != api.CodeRefreshInvalid {
			t.Fatalf("attempt %d: %d %s", i, st, c)
		}
	}
	st, ra, c := post(t, b, "/v1/token/refresh", s.RefreshRequest(b.Now()), nil)
	if st != http.StatusTooManyRequests || c != api.CodeRateLimited || ra != "30" {
		t.Fatalf("over the limit: %d %s Retry-After=%q, want 429 %s 30", st, c, ra, api.CodeRateLimited)
	}
	b.Clock.Advance(30 * time.Second)
	if _, err := b.Client(t).Refresh(context.Background(), s.RefreshRequest(b.Now())); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestRateLimitForwardedFor: X-Forwarded-For names the source only when
// the request comes from a configured proxy, and then its right-most
// address that is not a proxy (what the proxy itself saw) counts, so a
// client cannot pick its bucket by writing addresses to the left.
func TestRateLimitForwardedFor(t *testing.T) {
	attempt := func(id string) api.LoginRequest {
		return loginReq(brokertest.User{ID: id}, "Wrong-Pass-77x", "", newKey())
	}
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	tests := []struct {
		name    string
		proxies string
		headers []string // X-Forwarded-For of each attempt in turn
		want    []int    // status of each
	}{
		{name: "behind a trusted proxy each client has its own bucket", proxies: "127.0.0.1",
			headers: []string{"198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2", "203.0.113.7, 198.51.100.1"},
			want:    []int{401, 401, 429, 401, 429}},
		{name: "a trusted proxy given as a prefix, behind another proxy", proxies: "127.0.0.0/8, 10.0.0.0/8",
			headers: []string{"198.51.100.1, 10.1.2.3", "198.51.100.1, 10.1.2.4", "198.51.100.1", "198.51.100.9, 10.1.2.3"},
			want:    []int{401, 401, 429, 401}},
		{name: "the header is ignored from anyone else", proxies: "10.9.9.9",
			headers: []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"},
			want:    []int{401, 401, 429}},
		{name: "no proxies configured", proxies: "",
			headers: []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"},
			want:    []int{401, 401, 429}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := brokertest.Start(t, brokertest.WithRateLimits("2/1m", "off", tc.proxies))
			for i, h := range tc.headers {
				st, _, c := post(t, b, "/v1/login", attempt("ghost"+strconv.Itoa(i)), xff(h))
				if st != tc.want[i] {
					t.Fatalf("attempt %d (X-Forwarded-For: %s): %d %s, want %d", i, h, st, c, tc.want[i])
				}
			}
		})
	}
}
