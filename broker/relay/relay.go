// Package relay is the broker's end of the RDP tunnel: it turns an
// authenticated HTTP Upgrade into a raw byte stream to the office PC
// paired with the caller's granted slot, and nowhere else. It counts the
// bytes per slot and ends every tunnel of a slot when the slot ends.
package relay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// Grants answers for the slots: where a user's granted slot may connect,
// and where its traffic is counted. The slot manager implements it.
type Grants interface {
	// Target returns the host:port of the office PC paired with slotID,
	// if that slot is held by h's sign-in and granted. Otherwise an
	// *api.Error (slot not found, not granted, ended, no PC paired).
	Target(ctx context.Context, h slots.Holder, slotID string) (addr string, err error)
	// AddBytes adds traffic to the slot's counters (called while tunnels
	// run and when they end).
	AddBytes(slotID string, up, down int64)
}

// Devices answers for the laptops: the public key of an enrolled device,
// which signs each tunnel's channel binding. The auth service implements it.
type Devices interface {
	// DeviceKey returns the ed25519 key of the device, or an error when it
	// is unknown or no longer active.
	DeviceKey(ctx context.Context, deviceID string) (ed25519.PublicKey, error)
}

// Config builds a Relay.
type Config struct {
	Grants  Grants  // may be set later with SetGrants
	Devices Devices // the device keys that sign channel bindings
	// Unbound lets tunnels that reach the broker without TLS (behind a
	// TLS-terminating proxy, -insecure-http) run without a channel
	// binding: the broker has no exporter to check one against. Only IT
	// sets it, for a proxy link on a trusted network; Run records it in
	// the audit log at start. Tunnels over the broker's own TLS are always
	// bound.
	Unbound bool
	Audit   audit.Recorder
	Log     *slog.Logger
	Now     func() time.Time
	// Dial connects to the office PC (default: net.Dialer, 10 s timeout).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// PerSlot bounds concurrent tunnel connections of one slot (default
	// 8: an RDP client opens one or two; more is a misbehaving client).
	PerSlot int
}

// Relay carries tunnels. It is safe for concurrent use.
type Relay struct {
	cfg    Config
	grants atomic.Pointer[grantsBox]

	mu      sync.Mutex                          // guards tunnels, closed
	tunnels map[string]map[*liveTunnel]struct{} // slot ID → live tunnels
	closed  bool
}

type grantsBox struct{ g Grants }

// liveTunnel is one relayed connection.
type liveTunnel struct {
	slot, user, target string
	start              time.Time    // wall clock of the process: durations must not follow a test clock
	up, down           atomic.Int64 // bytes app→PC and PC→app
	reportedUp         int64        // guarded by Relay.mu: what AddBytes already got
	reportedDown       int64

	// conns is set once the upgrade is done; ended says EndSlot or Close
	// came first. Both guarded by Relay.mu.
	conns  []net.Conn
	ended  bool
	reason string
}

// New returns a Relay.
func New(cfg Config) *Relay {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Slog{Log: cfg.Log}
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if cfg.PerSlot <= 0 {
		cfg.PerSlot = 8
	}
	r := &Relay{cfg: cfg, tunnels: map[string]map[*liveTunnel]struct{}{}}
	if cfg.Grants != nil {
		r.SetGrants(cfg.Grants)
	}
	return r
}

// SetGrants sets (or replaces) the slot manager.
func (r *Relay) SetGrants(g Grants) { r.grants.Store(&grantsBox{g}) }

func (r *Relay) getGrants() Grants {
	if b := r.grants.Load(); b != nil {
		return b.g
	}
	return nil
}

// Serve handles one tunnel request of the caller for slotID. Before the
// upgrade it returns an *api.Error for the caller to answer (nothing has
// been written). After the upgrade it owns the connection and returns nil
// once the tunnel has ended.
func (r *Relay) Serve(w http.ResponseWriter, req *http.Request, h slots.Holder, slotID string) error {
	ctx := req.Context()
	userID := h.UserID
	if !tunnel.IsUpgrade(req) {
		return api.Errf(api.CodeTunnelUpgrade, "want HTTP/1.1 with Connection: Upgrade and Upgrade: %s", tunnel.Protocol)
	}
	if req.URL.RawQuery != "" {
		// The tunnel names no target; a request that tries is an attempt
		// to use the broker as a proxy.
		r.refused(ctx, userID, slotID, "target_in_request", req.URL.RawQuery)
		return api.Err(api.CodeTunnelTarget, "the request may not name a target")
	}
	// The binding before anything about the slot: whoever holds a stolen
	// token on a connection of their own learns nothing.
	binding, err := r.checkBinding(ctx, req, h, slotID)
	if err != nil {
		r.refused(ctx, userID, slotID, string(api.CodeTunnelBinding), err.Error())
		// The audit log has the cause; the caller learns only its kind.
		detail := "the request is not bound to this TLS connection"
		switch {
		case errors.Is(err, tunnel.ErrNoBinding):
			detail = "the request carries no channel binding"
		case req.TLS == nil:
			detail = "the broker holds no TLS session here and unbound tunnels are not allowed"
		}
		return api.Err(api.CodeTunnelBinding, detail)
	}
	g := r.getGrants()
	if g == nil {
		return api.Err(api.CodeUnavailable, "slots not ready")
	}
	addr, err := g.Target(ctx, h, slotID)
	if err != nil {
		r.refused(ctx, userID, slotID, refusalReason(err), "")
		return err
	}
	t := &liveTunnel{slot: slotID, user: userID, target: addr, start: time.Now()}
	if err := r.register(t); err != nil {
		r.refused(ctx, userID, slotID, refusalReason(err), addr)
		return err
	}
	// The slot may have ended between Target and register; EndSlot after
	// register reaches this tunnel, so asking once more closes the gap.
	if _, err := g.Target(ctx, h, slotID); err != nil {
		r.unregister(t)
		r.refused(ctx, userID, slotID, refusalReason(err), addr)
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	pc, err := r.cfg.Dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		r.unregister(t)
		r.record(ctx, userID, "relay.pc_unreachable", slotID, map[string]string{"pc": addr, "error": err.Error()})
		return api.Err(api.CodeTunnelUnreachable)
	}
	tunnel.TuneSocket(pc)
	app, err := tunnel.Hijack(w)
	if err != nil {
		pc.Close()
		r.unregister(t)
		return err
	}
	if !r.attach(t, app, pc) {
		tunnel.Abort(app)
		pc.Close()
		r.unregister(t)
		return nil
	}
	tunnel.TuneSocket(app)
	if err := app.SwitchProtocols(); err != nil {
		app.Close()
		pc.Close()
		r.unregister(t)
		return nil
	}
	bg := context.WithoutCancel(ctx)
	r.record(bg, userID, "relay.tunnel_opened", slotID, map[string]string{"pc": addr, "from": req.RemoteAddr,
		"protocol": tunnel.ProtocolName(req.TLS), "binding": binding, "device": h.DeviceID})
	err = tunnel.Splice(app, pc, &t.up, &t.down)
	reason := r.unregister(t)
	fields := map[string]string{
		"pc":          addr,
		"bytes_up":    strconv.FormatInt(t.up.Load(), 10),
		"bytes_down":  strconv.FormatInt(t.down.Load(), 10),
		"duration_ms": strconv.FormatInt(time.Since(t.start).Milliseconds(), 10),
	}
	if reason != "" {
		fields["ended_by"] = reason
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	r.record(bg, userID, "relay.tunnel_closed", slotID, fields)
	return nil
}

// checkBinding checks that the request was signed, with the device key of
// the caller's session, for the TLS connection it arrived on. It returns
// how the tunnel is bound, for the audit log.
func (r *Relay) checkBinding(ctx context.Context, req *http.Request, h slots.Holder, slotID string) (string, error) {
	if req.TLS == nil {
		if r.cfg.Unbound {
			return "none (TLS ends at a proxy; allowed by IT)", nil
		}
		return "", errors.New("the broker has no TLS session to bind to (behind a TLS-terminating proxy, unbound tunnels are not allowed)")
	}
	if r.cfg.Devices == nil {
		return "", errors.New("no device keys")
	}
	key, err := r.cfg.Devices.DeviceKey(ctx, h.DeviceID)
	if err != nil {
		return "", err
	}
	if err := tunnel.VerifyBinding(req.TLS, slotID, req.Header.Get(tunnel.BindingHeader), key); err != nil {
		return "", err
	}
	return "tls-exporter", nil
}

func (r *Relay) register(t *liveTunnel) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return api.Err(api.CodeUnavailable, "broker shutting down")
	}
	set := r.tunnels[t.slot]
	if len(set) >= r.cfg.PerSlot {
		return api.Errf(api.CodeTunnelLimit, "at most %d", r.cfg.PerSlot)
	}
	if set == nil {
		set = map[*liveTunnel]struct{}{}
		r.tunnels[t.slot] = set
	}
	set[t] = struct{}{}
	return nil
}

// attach hands the tunnel its connections, unless it was ended meanwhile.
func (r *Relay) attach(t *liveTunnel, conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.ended {
		return false
	}
	t.conns = conns
	return true
}

// unregister removes t and reports the bytes AddBytes has not seen yet.
// It returns why the relay ended the tunnel ("" when a side hung up).
func (r *Relay) unregister(t *liveTunnel) (reason string) {
	r.mu.Lock()
	reason = t.reason
	set := r.tunnels[t.slot]
	if _, ok := set[t]; !ok {
		r.mu.Unlock()
		return reason
	}
	delete(set, t)
	if len(set) == 0 {
		delete(r.tunnels, t.slot)
	}
	up, down := r.takeDelta(t)
	r.mu.Unlock()
	if g := r.getGrants(); g != nil && (up != 0 || down != 0) {
		g.AddBytes(t.slot, up, down)
	}
	return reason
}

// takeDelta returns the bytes not yet reported; r.mu must be held.
func (r *Relay) takeDelta(t *liveTunnel) (up, down int64) {
	u, d := t.up.Load(), t.down.Load()
	up, down = u-t.reportedUp, d-t.reportedDown
	t.reportedUp, t.reportedDown = u, d
	return up, down
}

// EndSlot closes every tunnel of the slot (the slot was released, its
// lease lapsed, or IT ended the session). Tunnels being set up at that
// moment are refused.
func (r *Relay) EndSlot(slotID string) {
	r.mu.Lock()
	var conns []net.Conn
	for t := range r.tunnels[slotID] {
		t.ended, t.reason = true, "slot_ended"
		conns = append(conns, t.conns...)
	}
	r.mu.Unlock()
	// A reset, not an end: the RDP client and the office PC must not take
	// an ended slot for a session that finished.
	for _, c := range conns {
		tunnel.Abort(c)
	}
}

// Close ends every tunnel and refuses new ones (broker shutdown).
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	var conns []net.Conn
	for _, set := range r.tunnels {
		for t := range set {
			t.ended, t.reason = true, "shutdown"
			conns = append(conns, t.conns...)
		}
	}
	r.mu.Unlock()
	for _, c := range conns {
		tunnel.Abort(c)
	}
}

// Flush reports the bytes of running tunnels to the slots, so that IT's
// live session list shows traffic before a tunnel ends.
func (r *Relay) Flush() {
	g := r.getGrants()
	if g == nil {
		return
	}
	type delta struct {
		slot     string
		up, down int64
	}
	var ds []delta
	r.mu.Lock()
	for slot, set := range r.tunnels {
		var d delta
		d.slot = slot
		for t := range set {
			u, dn := r.takeDelta(t)
			d.up += u
			d.down += dn
		}
		if d.up != 0 || d.down != 0 {
			ds = append(ds, d)
		}
	}
	r.mu.Unlock()
	for _, d := range ds {
		g.AddBytes(d.slot, d.up, d.down)
	}
}

// Live is the number of tunnels running, per slot (for metrics and tests).
func (r *Relay) Live() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.tunnels))
	for slot, set := range r.tunnels {
		out[slot] = len(set)
	}
	return out
}

// Run flushes byte counts every interval until ctx ends.
func (r *Relay) Run(ctx context.Context, interval time.Duration) {
	if r.cfg.Unbound {
		r.cfg.Log.Warn("tunnels without TLS of the broker's own run unbound: the link from the TLS-terminating proxy must be a trusted network")
		r.record(ctx, "broker", "relay.unbound_allowed", "", map[string]string{
			"note": "tunnels behind a TLS-terminating proxy run without channel binding; the proxy link must be a trusted network"})
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Flush()
			return
		case <-t.C:
			r.Flush()
		}
	}
}

func (r *Relay) refused(ctx context.Context, userID, slotID, reason, detail string) {
	f := map[string]string{"reason": reason}
	if detail != "" {
		f["detail"] = detail
	}
	r.record(ctx, userID, "relay.refused", slotID, f)
}

func (r *Relay) record(ctx context.Context, actor, action, target string, fields map[string]string) {
	if err := r.cfg.Audit.Record(ctx, audit.Event{At: r.cfg.Now(), Actor: actor, Action: action, Target: target, Fields: fields}); err != nil {
		r.cfg.Log.Error("audit relay event", "action", action, "slot", target, "err", err)
	}
}

func refusalReason(err error) string {
	if e := api.AsError(err); e != nil {
		return string(e.Code)
	}
	return "error"
}
