package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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

	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// MaxErrorBody bounds how much of an error response the client reads.
const MaxErrorBody = 64 << 10

// Client is the typed client of the broker's API. It is safe for concurrent
// use. Domain methods live in client_*.go next to their wire types.
type Client struct {
	base *url.URL
	hc   *http.Client
	tlsc *tls.Config

	mu    sync.Mutex // guards token, sign, pins
	token string
	sign  func(msg []byte) []byte // the device key, for tunnel bindings
	pins  [][]byte                // SHA-256 of the broker's SubjectPublicKeyInfo

	learn bool             // pinned: the broker's announced pins are learned
	onPin func(pin string) // set once by NewClient
}

// ClientOptions configures NewClient. An https broker must be pinned
// (Pins, or Fingerprint to migrate) unless TrustSystemRoots or RootCAs
// say explicitly which CAs vouch for it; NewClient refuses otherwise.
type ClientOptions struct {
	// Pins are the broker's public keys: "sha256/" and the base64 SHA-256
	// of the certificate's SubjectPublicKeyInfo (KeyPin), as the broker
	// prints at start. Any one matching is enough, so that a new key can
	// be announced before the broker uses it, and a renewed certificate
	// for the same key changes nothing. With pins, the chain is not
	// checked against roots: this is how a self-signed broker is trusted.
	Pins []string
	// Fingerprint is a pin of the earlier form: the SHA-256 of the whole
	// certificate (hex, colons allowed). It is honoured so that laptops
	// set up before key pins keep working; when it matches, the key's pin
	// is added to Pins and passed to OnPin, for the app to store instead.
	Fingerprint string
	// OnPin (may be nil) gets each key pin the client learns: through
	// Fingerprint, or announced by a broker it reached through a pin it
	// holds (KeyPinsHeader, before a key rotation). It must not block.
	OnPin func(pin string)
	// TrustSystemRoots verifies an unpinned broker's chain against the OS
	// store (managed rollouts with a certificate from a real CA).
	TrustSystemRoots bool
	// RootCAs, when set, replaces the system roots (and, like
	// TrustSystemRoots, allows an unpinned broker).
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
	tlsc := tunnel.ApplyProfile(&tls.Config{RootCAs: opt.RootCAs})
	c := &Client{base: u, tlsc: tlsc}
	for _, p := range opt.Pins {
		b, err := ParsePin(p)
		if err != nil {
			return nil, err
		}
		c.pins = append(c.pins, b)
	}
	var legacy []byte
	if opt.Fingerprint != "" {
		if legacy, err = ParseFingerprint(opt.Fingerprint); err != nil {
			return nil, err
		}
	}
	switch {
	case len(c.pins) > 0 || legacy != nil:
		tlsc.InsecureSkipVerify = true // replaced by the pins below
		tlsc.VerifyConnection = func(cs tls.ConnectionState) error { return c.checkPin(cs, legacy, opt.OnPin) }
	case u.Scheme == "https" && !opt.TrustSystemRoots && opt.RootCAs == nil:
		return nil, Err(CodeBrokerNotPinned, "no key pin for "+u.Host)
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
	if len(c.pins) > 0 || legacy != nil {
		c.onPin = opt.OnPin
		c.learn = true
	}
	c.hc = &http.Client{Transport: tr, Timeout: to}
	return c, nil
}

// KeyPinsHeader lists, on the broker's answers, the key pins laptops may
// hold: the current key's and those of keys announced for later.
const KeyPinsHeader = "Zaitaku-Key-Pins"

// notePins learns the pins a pinned broker announces on an answer. Only
// over TLS that checkPin accepted: a pin the laptop holds vouches for it.
func (c *Client) notePins(resp *http.Response) {
	if !c.learn || resp.TLS == nil {
		return
	}
	if h := resp.Header.Get(KeyPinsHeader); h != "" {
		c.learnPins(h, c.onPin)
	}
}

// learnPins adds the pins in a KeyPinsHeader value that the client does
// not hold yet. Pins are only added: retiring one is IT's (preset or
// first run), so that a broker cannot lock laptops out of a key.
func (c *Client) learnPins(header string, onPin func(string)) {
	var learned []string
	c.mu.Lock()
	for _, f := range strings.Split(header, ",") {
		b, err := ParsePin(f)
		if err != nil {
			continue
		}
		known := false
		for _, p := range c.pins {
			known = known || bytes.Equal(p, b)
		}
		if !known && len(c.pins) < maxPins {
			c.pins = append(c.pins, b)
			learned = append(learned, FormatPin(b))
		}
	}
	c.mu.Unlock()
	if onPin != nil {
		for _, p := range learned {
			onPin(p)
		}
	}
}

// maxPins bounds what a broker can make a laptop keep.
const maxPins = 8

// checkPin accepts the broker's certificate when its key matches a pin,
// or when the whole certificate matches a pin of the earlier form; then
// the key is pinned from here on, and onPin told.
func (c *Client) checkPin(cs tls.ConnectionState, legacy []byte, onPin func(string)) error {
	if len(cs.PeerCertificates) == 0 {
		return Err(CodeCertificateChange, "no certificate")
	}
	leaf := cs.PeerCertificates[0]
	key := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	c.mu.Lock()
	for _, p := range c.pins {
		if bytes.Equal(p, key[:]) {
			c.mu.Unlock()
			return nil
		}
	}
	if legacy != nil {
		if sum := sha256.Sum256(leaf.Raw); bytes.Equal(sum[:], legacy) {
			c.pins = append(c.pins, key[:])
			c.mu.Unlock()
			if onPin != nil {
				onPin(FormatPin(key[:]))
			}
			return nil
		}
	}
	c.mu.Unlock()
	return Err(CodeCertificateChange, "key pin "+FormatPin(key[:]))
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
	c.notePins(resp)
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

// KeyPin returns the pin of a certificate's public key: "sha256/" and
// the base64 SHA-256 of its SubjectPublicKeyInfo, the form of HPKP and
// curl's --pinnedpubkey, so IT can compute it with openssl:
//
//	openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
//	  openssl dgst -sha256 -binary | base64
func KeyPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return FormatPin(sum[:])
}

// CertKeyPin is KeyPin of a DER certificate.
func CertKeyPin(der []byte) (string, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	return KeyPin(cert), nil
}

const pinPrefix = "sha256/"

// FormatPin prints a SubjectPublicKeyInfo digest as a pin.
func FormatPin(sum []byte) string { return pinPrefix + base64.StdEncoding.EncodeToString(sum) }

// ParsePin parses a key pin ("sha256/BASE64", or curl's "sha256//BASE64").
func ParsePin(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, pinPrefix)
	if len(rest) == 45 && rest[0] == '/' {
		rest = rest[1:] // curl's "sha256//": the digest itself may begin with "/"
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if !ok || err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("key pin %q: want sha256/ and 44 base64 characters, as the broker prints at start", s)
	}
	return b, nil
}

// SamePin reports whether two pins name the same key.
func SamePin(a, b string) bool {
	x, err1 := ParsePin(a)
	y, err2 := ParsePin(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// BrokerCert is what FetchCertificate reads from the broker.
type BrokerCert struct {
	Pin         string // the key pin (KeyPin)
	Fingerprint string // SHA-256 of the certificate, AB:CD:...
}

// FetchCertificate connects to the broker without verifying it and
// returns its key pin and certificate fingerprint, so that the first-run
// screen can show them for the user to compare with what IT published.
func FetchCertificate(ctx context.Context, baseURL string) (BrokerCert, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return BrokerCert{}, fmt.Errorf("broker address %q: use https://host:port", baseURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // only to read the certificate
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return BrokerCert{}, Err(CodeNetwork, err.Error())
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return BrokerCert{}, Err(CodeNetwork, "no certificate")
	}
	leaf := cs.PeerCertificates[0]
	return BrokerCert{Pin: KeyPin(leaf), Fingerprint: CertFingerprint(leaf.Raw)}, nil
}
