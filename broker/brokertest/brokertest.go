// Package brokertest starts a real broker on 127.0.0.1 for tests: in
// process (with a clock the test moves and cheap argon2), or as the built
// binary in its own process (for kill -9 tests and CPU figures).
package brokertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// Password is the password of users made by CreateUser.
const Password = "Kumo-Hashi-93"

// Clock is a clock the test moves. The zero value starts at a fixed date.
type Clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Broker is a running broker.
type Broker struct {
	URL         string
	Fingerprint string // of the certificate (the earlier pin form)
	Pin         string // the key pin, as laptops hold it
	DataDir     string
	Clock       *Clock // nil for the real clock (WithRealClock)
	*daemon.Broker

	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once
}

// Option tunes Start.
type Option func(*options)

type options struct {
	realClock  bool
	production bool
	log        io.Writer
	setup      func(*daemon.Broker)
	timeouts   time.Duration
	limits     *[3]string // login rate, refresh rate, trusted proxies
	dataDir    string
	clock      *Clock
	config     []func(*daemon.Config)
	console    string
}

// WithRealClock uses time.Now (for tests of real timing such as the tunnel).
func WithRealClock() Option { return func(o *options) { o.realClock = true } }

// WithProductionArgon2 uses the production password hashing cost.
func WithProductionArgon2() Option { return func(o *options) { o.production = true } }

// WithLog sends the broker's log to w (default: discarded unless -v).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithShortTimeouts bounds header and body arrival to d (slow-client tests).
func WithShortTimeouts(d time.Duration) Option { return func(o *options) { o.timeouts = d } }

// WithRateLimits turns on the per-source limits, in the flags' syntax
// (-login-rate, -refresh-rate, -trusted-proxies). Without it they are off:
// tests sign in far more often from 127.0.0.1 than any office does.
func WithRateLimits(login, refresh, trustedProxies string) Option {
	return func(o *options) { o.limits = &[3]string{login, refresh, trustedProxies} }
}

// WithSetup runs fn on the opened broker before it serves.
func WithSetup(fn func(*daemon.Broker)) Option { return func(o *options) { o.setup = fn } }

// WithDataDir runs the broker on dir instead of a new one: stop one
// broker and start another on its directory to test a restart.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithConsoleAllow sets the admin console's address ranges
// (-console-allow); without it the console answers loopback only.
func WithConsoleAllow(cidrs string) Option { return func(o *options) { o.console = cidrs } }

// WithDB runs the broker on the database at url (-db), e.g. a
// PostgreSQL database from pgtest, instead of SQLite in the data dir.
func WithDB(url string) Option { return WithConfig(func(c *daemon.Config) { c.DB = url }) }

// WithClock uses c (a restarted broker goes on with its predecessor's time).
func WithClock(c *Clock) Option { return func(o *options) { o.clock = c } }

// WithConfig changes the broker's configuration before it opens (the
// config file's objects, such as "ldap").
func WithConfig(fn func(*daemon.Config)) Option {
	return func(o *options) { o.config = append(o.config, fn) }
}

// Start runs a broker in process until the test ends.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	dir := o.dataDir
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := daemon.DefaultConfig()
	cfg.Data, cfg.Listen = dir, "127.0.0.1:0"
	cfg.LoginRate, cfg.RefreshRate = "off", "off"
	// Meeting media on a free loopback port, like the HTTPS listener.
	// ICE over TCP stays off, as by default (TestMeetICEOverTCP turns it
	// on): with it a browser without UDP would not need TURN. So does
	// TURN over TLS (a test that asks for it sets MeetTURNTLS).
	cfg.MeetUDP, cfg.MeetTURNTCP, cfg.MeetTURNTLS = "127.0.0.1:0", "127.0.0.1:0", "off"
	// The console answers loopback, where the tests' browser is.
	cfg.ConsoleAllow = "127.0.0.0/8,::1/128"
	if o.console != "" {
		cfg.ConsoleAllow = o.console
	}
	if o.limits != nil {
		cfg.LoginRate, cfg.RefreshRate, cfg.TrustedProxies = o.limits[0], o.limits[1], o.limits[2]
	}
	for _, fn := range o.config {
		fn(&cfg)
	}
	var logw io.Writer
	switch {
	case o.log != nil:
		logw = o.log
	case testing.Verbose():
		logw = os.Stderr
	default:
		// Kept, and shown only if the test fails: a flaky failure then
		// says what the broker saw.
		tail := &tailBuffer{max: 64 << 10}
		logw = tail
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the broker's log (last %d KiB):\n%s", tail.max>>10, tail.String())
			}
		})
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := &Broker{DataDir: dir, done: make(chan struct{})}
	dopt := daemon.Options{Argon2: auth.TestArgon2}
	if o.production {
		dopt.Argon2 = auth.ProductionArgon2
	}
	dopt.HeaderTimeout, dopt.BodyTimeout = o.timeouts, o.timeouts
	if !o.realClock {
		b.Clock = o.clock
		if b.Clock == nil {
			b.Clock = NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
		}
		dopt.Now = b.Clock.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	db, err := daemon.Open(ctx, cfg, log, dopt)
	if err != nil {
		cancel()
		t.Fatalf("brokertest: open: %v", err)
	}
	b.Broker = db
	if o.setup != nil {
		o.setup(db)
	}
	ready := make(chan daemon.Ready, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(b.done)
		errc <- db.Serve(ctx, func(r daemon.Ready) { ready <- r })
	}()
	select {
	case r := <-ready:
		b.URL, b.Fingerprint, b.Pin = r.URL, r.Fingerprint, r.Pin
	case err := <-errc:
		cancel()
		t.Fatalf("brokertest: serve: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("brokertest: broker did not start within 20s")
	}
	t.Cleanup(b.Stop)
	return b
}

// Stop shuts the broker down gracefully (idempotent).
func (b *Broker) Stop() {
	// Once: closing twice would release the data directory's lock that a
	// restarted broker holds by then.
	b.stop.Do(func() {
		b.cancel()
		<-b.done
		_ = b.Broker.Close()
	})
}

// Now returns the broker's time.
func (b *Broker) Now() time.Time {
	if b.Clock != nil {
		return b.Clock.Now()
	}
	return time.Now()
}

// Client returns an anonymous client that pins the broker's key.
func (b *Broker) Client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(b.URL, api.ClientOptions{Pins: []string{b.Pin}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// User is a test account.
type User struct {
	ID, Password, TOTPSecret string
}

// CreateUser makes an active account with Password and an enrolled
// one-time code (roles default to staff).
func (b *Broker) CreateUser(t testing.TB, id string, roles ...api.Role) User {
	t.Helper()
	if len(roles) == 0 {
		roles = []api.Role{api.RoleStaff}
	}
	ctx := context.Background()
	a := b.Services.Auth
	if _, err := a.CreateUser(ctx, "test", api.CreateUserRequest{ID: id, Name: "Test " + id, Department: "総務課", Roles: roles}); err != nil {
		t.Fatalf("brokertest: create user %s: %v", id, err)
	}
	if err := a.SetUserPassword(ctx, "test", id, Password, false); err != nil {
		t.Fatalf("brokertest: password of %s: %v", id, err)
	}
	secret := "JBSWY3DPEHPK3PXP" + strings.ToUpper(strings.Repeat("A", 16))
	if err := a.SetTOTPSecret(ctx, id, secret, false); err != nil {
		t.Fatalf("brokertest: one-time code of %s: %v", id, err)
	}
	return User{ID: id, Password: Password, TOTPSecret: secret}
}

// Code returns the user's one-time code at the broker's time.
func (b *Broker) Code(t testing.TB, u User) string {
	t.Helper()
	c, err := auth.TOTPCode(u.TOTPSecret, b.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Session is a signed-in client.
type Session struct {
	*api.Client
	User  User
	Key   ed25519.PrivateKey
	Login *api.LoginResponse
}

// Login signs u in from a new device (a fresh key) through the real
// /v1/login. Codes are single-use: when the current one was already used,
// it moves the test clock on by one period (or, on the real clock, waits).
func (b *Broker) Login(t testing.TB, u User) *Session {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return b.LoginWithKey(t, u, key)
}

// LoginWithKey is Login from the device with the given key.
func (b *Broker) LoginWithKey(t testing.TB, u User, key ed25519.PrivateKey) *Session {
	t.Helper()
	c := b.Client(t)
	for try := 0; ; try++ {
		req := api.LoginRequest{StaffID: u.ID, Password: u.Password, OTP: b.Code(t, u),
			Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}
		resp, err := c.Login(context.Background(), Prove(req, key, b.Now()))
		var e *api.Error
		if errors.As(err, &e) && e.Code == api.CodeOTPReplayed && try < 3 {
			if b.Clock != nil {
				b.Clock.Advance(30 * time.Second)
			} else {
				time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(30 * time.Second)))
			}
			continue
		}
		if err != nil {
			t.Fatalf("brokertest: login %s: %v", u.ID, err)
		}
		c.SetSigner(func(msg []byte) []byte { return ed25519.Sign(key, msg) })
		return &Session{Client: c, User: u, Key: key, Login: resp}
	}
}

// Prove adds the device proof the app sends: key's signature over the
// staff ID and device key at now. It makes a sign-in from a laptop
// enrolled with key a proven one; from a new key it changes nothing.
func Prove(req api.LoginRequest, key ed25519.PrivateKey, now time.Time) api.LoginRequest {
	ts := now.Unix()
	req.Proof = &api.LoginProof{Timestamp: ts,
		Signature: ed25519.Sign(key, api.LoginProofMessage(req.StaffID, req.Device.PublicKey, ts))}
	return req
}

// Signin creates a user with the roles and signs them in.
func (b *Broker) Signin(t testing.TB, id string, roles ...api.Role) *Session {
	t.Helper()
	return b.Login(t, b.CreateUser(t, id, roles...))
}

// Sign signs with the session's device key (for api.Client.SetSigner on
// another client of the same session).
func (s *Session) Sign(msg []byte) []byte { return ed25519.Sign(s.Key, msg) }

// RefreshProof signs the refresh proof for this session's device.
func (s *Session) RefreshRequest(now time.Time) api.RefreshRequest {
	ts := now.Unix()
	return api.RefreshRequest{RefreshToken: s.Login.RefreshToken, DeviceID: s.Login.Device.ID, Timestamp: ts,
		Signature: ed25519.Sign(s.Key, api.RefreshProof(s.Login.RefreshToken, s.Login.Device.ID, ts))}
}

// RepoRoot finds the module root (for building binaries and ARTIFACTS_DIR).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("brokertest: go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// ArtifactsDir returns $ARTIFACTS_DIR (default ./artifacts at the repo
// root), created, where end-to-end tests leave evidence for people.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// OfficePC is an office PC's RDP port on 127.0.0.1 for tests: each
// connection is served by serve in its own goroutine and closed after it.
// It returns the port; the listener closes with the test.
func OfficePC(t testing.TB, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ServeOfficePC(t, ln, serve)
}

// ServeOfficePC is OfficePC on a listener the test made (a fixed port).
func ServeOfficePC(t testing.TB, ln net.Listener, serve func(net.Conn)) int {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// Echo serves an OfficePC connection by sending back what it gets.
func Echo(c net.Conn) { _, _ = io.Copy(c, c) }

// SendScreen returns a serve function that sends frame, then reads until
// the client leaves: an RDP server as the client's first read sees it.
func SendScreen(frame string) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = c.Write([]byte(frame))
		_, _ = io.Copy(io.Discard, c)
	}
}
