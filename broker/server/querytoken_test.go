package server_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestQueryTokenRefused: a token in the URL (which ends up in proxy logs)
// is refused on every route but the event socket, where a browser has no
// other way; in the header it works.
func TestQueryTokenRefused(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "qt-admin", api.RoleAdmin)
	tok := adm.Token()
	hc := b.Client(t).HTTPClient()
	// HTTP/1.1, so that the request can carry an Upgrade header.
	tr := hc.Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	h1 := &http.Client{Transport: tr}
	get := func(t *testing.T, path string, hdr map[string]string) int {
		req, err := http.NewRequest("GET", b.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := h1.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	q := "?access_token=" + url.QueryEscape(tok)
	for _, tc := range []struct {
		name string
		path string
		hdr  map[string]string
		want int
	}{
		{"query token on an admin route", "/admin/v1/users" + q, nil, http.StatusUnauthorized},
		{"query token with a websocket upgrade header", "/admin/v1/users" + q, map[string]string{"Upgrade": "websocket"}, http.StatusUnauthorized},
		{"query token on a staff route", "/v1/me" + q, nil, http.StatusUnauthorized},
		{"header token", "/admin/v1/users", map[string]string{"Authorization": "Bearer " + tok}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(t, tc.path, tc.hdr); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("event socket takes a query token", func(t *testing.T) {
		staff := b.Signin(t, "qt-staff")
		u := strings.Replace(b.URL, "https://", "wss://", 1) + "/v1/events" + "?access_token=" + url.QueryEscape(staff.Token())
		conn, _, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			t.Fatalf("event socket with a query token: %v", err)
		}
		conn.Close(websocket.StatusNormalClosure, "")
	})
}
