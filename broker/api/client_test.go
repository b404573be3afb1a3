package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// rotatingBroker accepts only the newest token and rotates the client's
// token while the first request is on its way, as a refresh in another
// goroutine does.
type rotatingBroker struct {
	mu     sync.Mutex
	c      *Client
	bodies []string
	auths  []string
}

func (b *rotatingBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, string(body))
	b.auths = append(b.auths, r.Header.Get("Authorization"))
	b.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer zat_new" {
		b.c.SetToken("zat_new") // the refresh lands meanwhile
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(Err(CodeUnauthenticated))
		return
	}
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func startRotatingBroker(t *testing.T) (*rotatingBroker, *httptest.Server, *Client) {
	t.Helper()
	b := &rotatingBroker{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.c = c
	return b, srv, c
}

func TestClientResendsARequestRefusedForARotatedToken(t *testing.T) {
	b, _, c := startRotatingBroker(t)
	c.SetToken("zat_old")
	var out struct{ OK bool }
	if err := c.Do(context.Background(), "POST", "/v1/x", map[string]int{"n": 7}, &out); err != nil || !out.OK {
		t.Fatalf("Do: %v %+v", err, out)
	}
	if len(b.bodies) != 2 || b.bodies[1] != `{"n":7}` || b.auths[1] != "Bearer zat_new" {
		t.Fatalf("resent request: bodies %q auths %q", b.bodies, b.auths)
	}
}

func TestClientDoesNotResendAStreamOrAnUnchangedToken(t *testing.T) {
	b, srv, c := startRotatingBroker(t)
	// A body that was read cannot be sent again: the caller sees the refusal.
	c.SetToken("zat_old")
	err := c.Do(context.Background(), "POST", "/v1/x", strings.NewReader("stream"), nil)
	if e := AsError(err); e == nil || e.Code != CodeUnauthenticated || len(b.bodies) != 1 {
		t.Fatalf("stream: %v after %d requests", err, len(b.bodies))
	}
	// A token that is simply wrong (not rotated) is refused once.
	b.bodies = nil
	c.SetToken("zat_new")
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.bodies = append(b.bodies, "")
		w.WriteHeader(http.StatusUnauthorized)
	})
	err = c.Do(context.Background(), "GET", "/v1/x", nil, nil)
	if e := AsError(err); e == nil || e.Code != CodeUnauthenticated || len(b.bodies) != 1 {
		t.Fatalf("wrong token: %v after %d requests", err, len(b.bodies))
	}
}

func TestParsePin(t *testing.T) {
	sum := make([]byte, 32)
	sum[0] = 0xfe // base64 begins with "/": "/g..."
	pin := FormatPin(sum)
	if !strings.HasPrefix(pin, "sha256//") {
		t.Fatalf("test needs a digest whose base64 begins with /: %s", pin)
	}
	b64 := pin[len("sha256/"):]
	for _, s := range []string{pin, " " + pin + " ", "sha256//" + b64 /* curl's form */} {
		got, err := ParsePin(s)
		if err != nil || !bytes.Equal(got, sum) {
			t.Errorf("ParsePin(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "sha256/", "AB:CD", "sha256/AAAA", "sha1/" + b64, "sha256/" + b64[1:]} {
		if _, err := ParsePin(s); err == nil {
			t.Errorf("ParsePin(%q) accepted", s)
		}
	}
}
