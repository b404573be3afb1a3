package core

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Config is how the app reaches its broker.
type Config struct {
	BrokerURL string
	// Pins are the broker's key pins (api.KeyPin); any one may match.
	Pins []string
	// Fingerprint is a certificate pin of the earlier form. It is honoured
	// until the first contact turns it into a key pin (Deps.PinLearned).
	Fingerprint string
	// TrustSystemRoots trusts an unpinned broker whose certificate the OS
	// store vouches for; without it (or a pin) New refuses.
	TrustSystemRoots bool
	DeviceName       string // shown to IT, e.g. "telework-pc-07"
	DataDir          string // per-user app data (journal, settings)
	Version          string // the app's version, for the operation log and diagnostics ("dev" if empty)
}

// Secrets is the OS keyring (platform/keyring implements it).
type Secrets interface {
	Get(key string) (string, error) // an error wrapping ErrNoSecret when absent
	Set(key, value string) error
	Delete(key string) error
}

// ErrNoSecret is what Secrets.Get wraps when nothing is stored.
var ErrNoSecret = errors.New("no secret stored")

// Recorder is the operation log (app/oplog implements it). Fields never
// carry secrets.
type Recorder interface {
	Record(event string, fields map[string]string) error
}

// Session is handed to Deps.OnSession after each sign-in, so that
// background services (the log uploader) can use the signed-in client.
type Session struct {
	API      *api.Client
	UserID   string
	DeviceID string
	// Sign signs with the device key (the private half never leaves core).
	Sign func(msg []byte) []byte
	// Done is closed when the session ends (sign-out, a revoked laptop):
	// the client no longer carries a token after that.
	Done <-chan struct{}
}

// Deps are the platform pieces core needs. Nil ones get harmless defaults
// (memory secrets, no recorder), so tests only set what they exercise.
type Deps struct {
	Secrets  Secrets
	Launcher Launcher
	// Browser opens the meeting page (platform/browser); nil: meetings
	// cannot be joined from the app.
	Browser   Browser
	Recorder  Recorder
	Log       *slog.Logger
	Now       func() time.Time
	OnSession func(Session)
	// PinLearned (may be nil) gets each key pin the client learns, for
	// the profile to keep: that of a broker verified by Config.Fingerprint
	// (in its place), or one the broker announces before a key rotation.
	// It must not block.
	PinLearned func(pin string)
	// BeforeLogout runs while the session's token still works, before a
	// user's sign-out revokes it (the wiring uploads the operation log).
	BeforeLogout func(ctx context.Context)
	// Revoked (may be nil) runs when IT revoked this laptop: it uploads
	// the operation-log journal through e (the evidence route, signed
	// with the revoked key) and then wipes the journal, returning nil
	// only once the broker holds all of it; core then wipes the keyring
	// (revoke.go). The wiring is app/oplog's Service.Evidence.
	Revoked func(ctx context.Context, e Evidence) error
	// Events (may be nil) gets the event socket's frames that are not
	// the main job's (chat), so app/chat rides the one socket without
	// core knowing chat.
	Events EventSink
	// Activity (may be nil) runs at each heartbeat that saw the user
	// working on the office PC (traffic from the laptop since the last
	// beat): app/chat's idle detection counts it as input, so someone
	// busy in the remote desktop is not shown 離席中. It must not block.
	Activity func()
}

// EventSink takes what the event socket carries for others (app/chat
// implements it). Core calls it from the socket's reader goroutine, so
// no method may block: a reader that stalls gets the socket cut.
type EventSink interface {
	// Subscribed: a (re)opened socket's hello has arrived, so every live
	// frame from here on reaches Event; a catch-up from the store started
	// now leaves no gap.
	Subscribed()
	// Event is one frame whose type starts with "chat.".
	Event(ev api.Event)
	// Down: the socket failed (or the session ended); core reopens it.
	Down()
}

// Keyring entry names.
const (
	keyDeviceKey = "device-key" // base64 ed25519 seed: identifies this laptop
	keyDeviceID  = "device-id"
	keyRefresh   = "refresh-token" // only with "keep me signed in"
	keyUser      = "staff-id"
)

// Client is the app's brain. It is safe for concurrent use; faces read
// State snapshots and call the action methods.
type Client struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time
	api  *api.Client

	keyMu sync.Mutex // guards key, keyUnsaved
	key   ed25519.PrivateKey
	// keyUnsaved: a wiped laptop's new key, stored at the next sign-in.
	keyUnsaved bool
	// refreshKick asks keepFresh to check the sign-in now (revoke.go).
	refreshKick chan struct{}
	statusKick  chan struct{} // asks keepStatus to read the status now

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex // guards state, subs, session fields below
	state    State
	subs     map[int]*subscriber
	nextSub  int
	refresh  string // current refresh token (memory; keyring only if remember)
	deviceID string
	remember bool
	// sessionCancel ends the per-session goroutines (token refresh, event
	// socket, heartbeats) at sign-out.
	sessionCancel context.CancelFunc
	sessCtx       context.Context
	recent        []api.Code // recent error codes for "copy diagnostics"

	flow flowState // the connect flow and the event socket (own lock)
	// twKick asks the session's telework reader to read again (an event).
	twKick chan struct{}

	// Timing of the background jobs. New sets the production values;
	// tests in this package shorten them before signing in.
	heartbeatEvery time.Duration    // 0: the interval the broker gives with the slot
	eventsBackoff  [2]time.Duration // the event socket's reconnect backoff, min and max

	wg sync.WaitGroup
}

// New makes a client for the broker in cfg. It loads (or creates) the
// device key; it does not contact the broker.
func New(cfg Config, deps Deps) (*Client, error) {
	if cfg.BrokerURL == "" {
		return nil, errors.New("no broker address: set it on the first-run screen or with -broker")
	}
	if deps.Secrets == nil {
		deps.Secrets = NewMemorySecrets()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName, _ = os.Hostname()
		if cfg.DeviceName == "" {
			cfg.DeviceName = "telework laptop"
		}
	}
	ac, err := api.NewClient(cfg.BrokerURL, api.ClientOptions{Pins: cfg.Pins, Fingerprint: cfg.Fingerprint,
		OnPin: deps.PinLearned, TrustSystemRoots: cfg.TrustSystemRoots})
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, deps: deps, log: deps.Log, now: deps.Now, api: ac, subs: map[int]*subscriber{},
		eventsBackoff: [2]time.Duration{eventsMinBackoff, eventsMaxBackoff}, refreshKick: make(chan struct{}, 1), statusKick: make(chan struct{}, 1),
		twKick: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// Until the first sign-in, the session context is already over.
	dead, kill := context.WithCancel(c.ctx)
	kill()
	c.sessCtx = dead
	rev := c.loadRevocation()
	if rev != nil && rev.Wiped {
		c.freshKey() // the revoked key is gone; keep nothing until a sign-in
	} else if err := c.loadDeviceKey(); err != nil {
		return nil, err
	}
	// Each tunnel dial is bound to its TLS connection by the device key.
	ac.SetSigner(c.sign)
	c.state = State{Phase: SignedOut}
	c.record("app.start", "version", cfg.Version, "os", runtime.GOOS, "device_name", cfg.DeviceName)
	if rev != nil {
		c.resumeRevocation(rev)
	}
	return c, nil
}

func (c *Client) loadDeviceKey() error {
	seed, err := c.deps.Secrets.Get(keyDeviceKey)
	if err == nil {
		b, derr := base64.StdEncoding.DecodeString(seed)
		if derr == nil && len(b) == ed25519.SeedSize {
			c.key = ed25519.NewKeyFromSeed(b) // before any goroutine: no lock needed
			c.deviceID, _ = c.deps.Secrets.Get(keyDeviceID)
			return nil
		}
		c.log.Warn("device key in keyring is malformed; making a new one")
	} else if !errors.Is(err, ErrNoSecret) {
		// No keyring (headless session): keep the key in memory; the
		// laptop enrolls again next start, which IT sees as a new device.
		c.log.Warn("keyring unavailable; device key kept in memory", "err", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	c.key = priv
	if err := c.deps.Secrets.Set(keyDeviceKey, base64.StdEncoding.EncodeToString(priv.Seed())); err != nil {
		c.log.Warn("store device key", "err", err)
	}
	return nil
}

// API returns the broker client (signed in once the state is past SignedOut).
func (c *Client) API() *api.Client { return c.api }

// Close ends every background activity. The app calls it on quit.
func (c *Client) Close() {
	c.mu.Lock()
	if c.sessionCancel != nil {
		c.sessionCancel()
	}
	c.mu.Unlock()
	c.record("app.stop")
	c.cancel()
	c.wg.Wait()
}

// go runs fn in a goroutine that Close waits for.
func (c *Client) goBackground(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

func (c *Client) record(event string, kv ...string) {
	if c.deps.Recorder == nil {
		return
	}
	f := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	if err := c.deps.Recorder.Record(event, f); err != nil {
		c.log.Error("operation log", "event", event, "err", err)
	}
}

// RecentErrors returns the last error codes seen (for diagnostics; no secrets).
func (c *Client) RecentErrors() []api.Code {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]api.Code(nil), c.recent...)
}

func (c *Client) noteError(err error) *api.Error {
	e := api.AsError(err)
	if e == nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		e = api.Err(api.CodeInternal, err.Error())
	}
	c.mu.Lock()
	c.recent = append(c.recent, e.Code)
	if len(c.recent) > 10 {
		c.recent = c.recent[len(c.recent)-10:]
	}
	c.mu.Unlock()
	c.record("error", "code", string(e.Code))
	return e
}

// Subscribe calls fn with the current state at once and then after every
// change, from a goroutine of its own (so a slow face never blocks core).
// Intermediate states may be skipped; the last one always arrives.
func (c *Client) Subscribe(fn func(State)) (cancel func()) {
	s := &subscriber{fn: fn, kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = s
	s.latest = c.state
	c.mu.Unlock()
	s.kick <- struct{}{}
	go s.loop(&c.mu)
	return func() {
		c.mu.Lock()
		if _, ok := c.subs[id]; ok {
			delete(c.subs, id)
			close(s.done)
		}
		c.mu.Unlock()
	}
}

type subscriber struct {
	fn     func(State)
	latest State // guarded by Client.mu
	kick   chan struct{}
	done   chan struct{}
}

func (s *subscriber) loop(mu *sync.Mutex) {
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
			mu.Lock()
			st := s.latest
			mu.Unlock()
			s.fn(st)
		}
	}
}

// State returns the current snapshot.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// update changes the state under the lock and notifies subscribers.
func (c *Client) update(fn func(*State)) {
	c.mu.Lock()
	prev := c.state.Phase
	fn(&c.state)
	if c.state.Phase != prev && c.state.Since.IsZero() {
		c.state.Since = c.now()
	}
	st := c.state
	for _, s := range c.subs {
		s.latest = st
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
}

// setPhase moves to a phase and stamps Since.
func (c *Client) setPhase(p Phase, fn func(*State)) {
	c.update(func(s *State) {
		if s.Phase != p {
			s.Since = c.now()
		}
		s.Phase = p
		if fn != nil {
			fn(s)
		}
	})
}

// sign signs with the device key.
func (c *Client) sign(msg []byte) []byte { return ed25519.Sign(c.currentKey(), msg) }

// DeviceKey returns the device's public key.
func (c *Client) DeviceKey() ed25519.PublicKey { return c.currentKey().Public().(ed25519.PublicKey) }

// Diagnostics is what "copy diagnostics" puts on the clipboard.
func (c *Client) Diagnostics() string {
	st := c.State()
	user := "-"
	if st.User != nil {
		user = st.User.ID
	}
	return fmt.Sprintf("Zaitaku %s\nOS: %s/%s\nBroker: %s\nDevice: %s\nUser: %s\nState: %s online=%v\nRecent errors: %v\n",
		c.cfg.Version, runtime.GOOS, runtime.GOARCH, c.cfg.BrokerURL, c.deviceIDOrDash(), user, st.Phase, st.Online, c.RecentErrors())
}

func (c *Client) deviceIDOrDash() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deviceID == "" {
		return "-"
	}
	return c.deviceID
}
