package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

func TestBadInput(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	// HTTP/1.1, as the oldest clients speak: the HTTP/2 client refuses to
	// send oversized headers itself, which would test nothing.
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // test only: pinning is tested elsewhere
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}}
	big := `{"staff_id":"` + strings.Repeat("a", 100<<10) + `"}`
	tests := []struct {
		name       string
		method     string
		path, body string
		ctype      string
		header     map[string]string
		token      string
		wantStatus int
		wantCode   api.Code
	}{
		{name: "oversized body", method: "POST", path: "/v1/login", body: big, wantStatus: 413, wantCode: api.CodeBodyTooLarge},
		{name: "malformed json", method: "POST", path: "/v1/login", body: `{"staff_id": "a",`, wantStatus: 400, wantCode: api.CodeBadJSON},
		{name: "not json", method: "POST", path: "/v1/login", body: `staff_id=a`, wantStatus: 400, wantCode: api.CodeBadJSON},
		{name: "two objects", method: "POST", path: "/v1/login", body: `{}{}`, wantStatus: 400, wantCode: api.CodeBadJSON},
		{name: "unknown field", method: "POST", path: "/v1/login", body: `{"staff_id":"a","is_admin":true}`, wantStatus: 400, wantCode: api.CodeUnknownField},
		{name: "wrong type", method: "POST", path: "/v1/login", body: `{"staff_id":5}`, wantStatus: 422, wantCode: api.CodeValidation},
		{name: "empty body", method: "POST", path: "/v1/login", body: ``, wantStatus: 400, wantCode: api.CodeBadJSON},
		{name: "form content type", method: "POST", path: "/v1/login", body: `{}`, ctype: "application/x-www-form-urlencoded", wantStatus: 415, wantCode: api.CodeUnsupportedType},
		{name: "bad staff id", method: "POST", path: "/v1/login", body: `{"staff_id":"a b","password":"x","device":{"name":"n","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`, wantStatus: 422, wantCode: api.CodeValidation},
		{name: "short device key", method: "POST", path: "/v1/login", body: `{"staff_id":"a","password":"x","device":{"name":"n","public_key":"AAAA"}}`, wantStatus: 422, wantCode: api.CodeValidation},
		{name: "huge headers", method: "GET", path: "/healthz", header: map[string]string{"X-Junk": strings.Repeat("j", 64<<10)}, wantStatus: 431},
		{name: "unknown path", method: "GET", path: "/v1/nope", wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "wrong method", method: "DELETE", path: "/v1/login", wantStatus: 405, wantCode: api.CodeMethodNotAllowed},
		{name: "garbage token", method: "GET", path: "/v1/me", token: "zat_garbage", wantStatus: 401, wantCode: api.CodeUnauthenticated},
		{name: "non-bearer token", method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, wantStatus: 401, wantCode: api.CodeUnauthenticated},
		{name: "invalid role is not half-written", method: "POST", path: "/admin/v1/users", token: adm.Token(),
			body: `{"id":"half1","name":"x","roles":["root"]}`, wantStatus: 422, wantCode: api.CodeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" || tc.method == "POST" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, b.URL+tc.path, body)
			ct := tc.ctype
			if ct == "" && body != nil {
				ct = "application/json"
			}
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantCode != "" {
				e := api.DecodeError(resp)
				if e.Code != tc.wantCode || e.Message == "" || e.MessageJA == "" {
					t.Fatalf("error %+v, want code %s with both messages", e, tc.wantCode)
				}
			}
		})
	}
	var list api.UserList
	if err := adm.Do(context.Background(), "GET", "/admin/v1/users", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Users {
		if u.ID == "half1" {
			t.Fatal("a refused create left a row")
		}
	}
}

// TestSlowClient: a client that sends headers or a body too slowly is cut
// off, and the broker keeps serving others.
func TestSlowClient(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithShortTimeouts(500*time.Millisecond))
	addr := strings.TrimPrefix(b.URL, "https://")
	dial := func() *tls.Conn {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // test: pinning is tested elsewhere
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("headers", func(t *testing.T) {
		c := dial()
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // never finishes the headers
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("connection not closed by the broker: %v", err)
		}
	})
	t.Run("body", func(t *testing.T) {
		c := dial()
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"staff_id\":")
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return // closed without an answer is also a refusal
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("slow body: status %d, want 4xx", resp.StatusCode)
		}
	})
	if _, err := b.Client(t).HTTPClient().Get(b.URL + "/healthz"); err != nil {
		t.Fatalf("broker stopped serving: %v", err)
	}
}
