package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// MaxErrorBody bounds how much of an error response the client reads.
const MaxErrorBody = 64 << 10

// Client is the typed client of the broker's API. It is safe for concurrent
// use. Domain methods live in client_*.go next to their wire types.
type Client struct {
	base *url.URL
	hc   *http.Client
	tlsc *tls.Config

	mu    sync.Mutex // guards token
	token string
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	// Fingerprint pins the broker's certificate by the SHA-256 of its DER
	// encoding (hex, colons allowed). When set, the chain is not checked
	// against system roots: this is how a self-signed broker is trusted.
	Fingerprint string
	// RootCAs, when set, replaces the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds one request (default 30s). Streams are not bounded.
	Timeout time.Duration
}

// NewClient returns a client for the broker at baseURL (https://host:port).
func NewClient(baseURL string, opt ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("broker address %q: use https://host:port", baseURL)
	}
	tlsc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opt.RootCAs}
	if opt.Fingerprint != "" {
		want, err := ParseFingerprint(opt.Fingerprint)
		if err != nil {
			return nil, err
		}
		tlsc.InsecureSkipVerify = true // replaced by the pin below
		tlsc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return Err(CodeCertificateChange, "no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], want) {
				return Err(CodeCertificateChange, "fingerprint "+FormatFingerprint(got[:]))
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	to := opt.Timeout
	if to == 0 {
		to = 30 * time.Second
	}
	return &Client{base: u, hc: &http.Client{Transport: tr, Timeout: to}, tlsc: tlsc}, nil
}

// BaseURL returns the broker address.
func (c *Client) BaseURL() string { return c.base.String() }

// TLSConfig returns a copy of the TLS settings (pinning included), for
// connections the client makes outside HTTP (the tunnel, the event socket).
func (c *Client) TLSConfig() *tls.Config { return c.tlsc.Clone() }

// HTTPClient returns the underlying HTTP client (for websocket dials).
func (c *Client) HTTPClient() *http.Client { return c.hc }

// SetToken sets the access token sent as a bearer token.
func (c *Client) SetToken(tok string) {
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
}

// Token returns the current access token.
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Do sends in as JSON (nil: no body) and decodes a 2xx answer into out (nil:
// discard). A non-2xx answer becomes an *Error; a transport failure becomes
// an *Error with CodeNetwork wrapping the cause's text.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	_, replayable := in.(io.Reader)
	replayable = !replayable
	return c.withToken(replayable, func(tok string) error { return c.do(ctx, method, path, in, out, tok) })
}

// withToken runs send with the current access token, and once more with
// the new one if the broker refused a token that a refresh replaced while
// the request was on its way (the broker invalidates the old token at
// rotation; a refused request did nothing, so sending it again is safe).
func (c *Client) withToken(replayable bool, send func(tok string) error) error {
	used := c.Token()
	err := send(used)
	if !replayable || used == "" {
		return err
	}
	if e := AsError(err); e == nil || e.Code != CodeUnauthenticated {
		return err
	}
	if now := c.Token(); now != "" && now != used {
		return send(now)
	}
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any, tok string) error {
	req, err := c.newRequest(ctx, method, path, in, tok)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if e := AsError(err); e != nil {
			return e
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return Err(CodeNetwork, err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return DecodeError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// NewRequest builds an authenticated request to path with in as JSON body.
func (c *Client) NewRequest(ctx context.Context, method, path string, in any) (*http.Request, error) {
	return c.newRequest(ctx, method, path, in, c.Token())
}

func (c *Client) newRequest(ctx context.Context, method, path string, in any, tok string) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		if r, ok := in.(io.Reader); ok {
			body = r
		} else {
			b, err := json.Marshal(in)
			if err != nil {
				return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
			}
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

// DecodeError turns a non-2xx response into an *Error.
func DecodeError(resp *http.Response) *Error {
	var e Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	if json.Unmarshal(b, &e) != nil || e.Code == "" {
		// Not ours (a proxy, or the server's own 431): keep the status.
		e = *statusError(resp.StatusCode)
		e.Detail = strings.TrimSpace(string(b))
		if len(e.Detail) > 200 {
			e.Detail = e.Detail[:200]
		}
	}
	e.Status = resp.StatusCode
	return &e
}

func statusError(status int) *Error {
	switch status {
	case http.StatusUnauthorized:
		return Err(CodeUnauthenticated)
	case http.StatusForbidden:
		return Err(CodeForbidden)
	case http.StatusNotFound:
		return Err(CodeNotFound)
	case http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge:
		return Err(CodeBodyTooLarge)
	case http.StatusTooManyRequests:
		return Err(CodeRateLimited)
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return Err(CodeUnavailable)
	}
	if status >= 500 {
		return Err(CodeInternal)
	}
	return Err(CodeBadRequest)
}

// ParseFingerprint parses a hex SHA-256 fingerprint, with or without colons.
func ParseFingerprint(s string) ([]byte, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	s = strings.TrimPrefix(strings.ToLower(s), "sha256/")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("certificate fingerprint: want 64 hex digits (SHA-256), as the broker prints at start")
	}
	return b, nil
}

// FormatFingerprint prints a fingerprint as openssl does (AB:CD:...).
func FormatFingerprint(sum []byte) string {
	var sb strings.Builder
	for i, b := range sum {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02X", b)
	}
	return sb.String()
}

// CertFingerprint returns the SHA-256 fingerprint of a DER certificate.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return FormatFingerprint(sum[:])
}

// FetchFingerprint connects to the broker without verifying it and returns
// the fingerprint of the certificate it presents, so that the first-run
// screen can show it for the user to compare with what IT published.
func FetchFingerprint(ctx context.Context, baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("broker address %q: use https://host:port", baseURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // only to read the certificate
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", Err(CodeNetwork, err.Error())
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return "", Err(CodeNetwork, "no certificate")
	}
	return CertFingerprint(cs.PeerCertificates[0].Raw), nil
}
