package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// fakeGrants is the slot manager as the relay sees it: slot → owner,
// state and target, plus the byte counters.
type fakeGrants struct {
	mu    sync.Mutex // guards slots, bytes
	slots map[string]fakeSlot
	bytes map[string][2]int64
}

type fakeSlot struct {
	user, state, target string
}

func (g *fakeGrants) Target(_ context.Context, h slots.Holder, slotID string) (string, error) {
	userID := h.UserID
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slots[slotID]
	switch {
	case !ok || s.user != userID:
		return "", api.Err(api.CodeSlotNotFound) // another user's slot does not exist for the caller
	case s.state == api.SlotEnded:
		return "", api.Err(api.CodeSlotEnded)
	case s.state != api.SlotGranted:
		return "", api.Err(api.CodeSlotNotGranted)
	}
	return s.target, nil
}

func (g *fakeGrants) AddBytes(slotID string, up, down int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.bytes[slotID]
	g.bytes[slotID] = [2]int64{b[0] + up, b[1] + down}
}

func (g *fakeGrants) end(slotID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.slots[slotID]
	s.state = api.SlotEnded
	g.slots[slotID] = s
}

func (g *fakeGrants) counted(slotID string) [2]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bytes[slotID]
}

// fakeDevices holds the device keys of the rig's clients.
type fakeDevices struct {
	mu   sync.Mutex // guards keys
	keys map[string]ed25519.PublicKey
}

func (d *fakeDevices) DeviceKey(_ context.Context, id string) (ed25519.PublicKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys[id]
	if !ok {
		return nil, api.Err(api.CodeDeviceRevoked)
	}
	return k, nil
}

func (d *fakeDevices) add(id string, k ed25519.PublicKey) {
	d.mu.Lock()
	d.keys[id] = k
	d.mu.Unlock()
}

// events records audit events.
type events struct {
	mu  sync.Mutex // guards all
	all []audit.Event
}

func (e *events) Record(_ context.Context, ev audit.Event) error {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	return nil
}

func (e *events) find(action, slot string) (audit.Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if ev.Action == action && ev.Target == slot {
			return ev, true
		}
	}
	return audit.Event{}, false
}

// waitFor polls cond; the limit only guards against a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// office is a stand-in office PC: it answers "pc:<name>\n" and then
// echoes. Connections are counted.
type office struct {
	ln    net.Listener
	name  string
	mu    sync.Mutex // guards conns
	conns int
}

func newOffice(t *testing.T, name string) *office {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &office{ln: ln, name: name}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.conns++
			o.mu.Unlock()
			go func() {
				defer c.Close()
				if _, err := io.WriteString(c, "pc:"+name+"\n"); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
				if cw, ok := c.(*net.TCPConn); ok {
					_ = cw.CloseWrite()
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return o
}

func (o *office) addr() string { return o.ln.Addr().String() }

func (o *office) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conns
}

type rig struct {
	relay   *Relay
	grants  *fakeGrants
	devices *fakeDevices
	events  *events
	srv     *httptest.Server
}

// newRig serves the relay over real TLS, as the broker does (its
// listener, its TLS profile); the caller's identity comes from the bearer
// token "user/device", as the server's auth middleware would supply it.
func newRig(t *testing.T) *rig {
	return newRigServer(t, func(h http.Handler) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		srv.Listener = tunnel.Listener(srv.Listener)
		srv.TLS = tunnel.ApplyProfile(&tls.Config{})
		srv.StartTLS()
		return srv
	}, false)
}

func newRigServer(t *testing.T, start func(http.Handler) *httptest.Server, unbound bool) *rig {
	t.Helper()
	g := &fakeGrants{slots: map[string]fakeSlot{}, bytes: map[string][2]int64{}}
	d := &fakeDevices{keys: map[string]ed25519.PublicKey{}}
	ev := &events{}
	r := New(Config{Grants: g, Devices: d, Audit: ev, Unbound: unbound})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tunnel/{slot}", func(w http.ResponseWriter, req *http.Request) {
		user, device, _ := strings.Cut(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "), "/")
		if err := r.Serve(w, req, slots.Holder{UserID: user, DeviceID: device}, req.PathValue("slot")); err != nil {
			e := api.AsError(err)
			if e == nil {
				e = api.Err(api.CodeInternal)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.Status)
			_, _ = io.WriteString(w, `{"code":"`+string(e.Code)+`"}`)
		}
	})
	srv := start(mux)
	t.Cleanup(func() {
		r.Close()
		srv.Close()
	})
	return &rig{relay: r, grants: g, devices: d, events: ev, srv: srv}
}

// client returns a client signed in as user from a device of its own,
// pinning the rig's key.
func (rg *rig) client(t *testing.T, user string) *api.Client {
	t.Helper()
	opt := api.ClientOptions{}
	if rg.srv.TLS != nil {
		opt.Pins = []string{api.KeyPin(rg.srv.Certificate())}
	}
	c, err := api.NewClient(rg.srv.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	rg.sign(c, user)
	return c
}

// sign gives c a token for user and a device key the rig knows.
func (rg *rig) sign(c *api.Client, user string) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dev := fmt.Sprintf("dev-%s-%x", user, pub[:4])
	rg.devices.add(dev, pub)
	c.SetToken(user + "/" + dev)
	c.SetSigner(func(msg []byte) []byte { return ed25519.Sign(key, msg) })
}

// tcpUnder finds the TCP connection under the tunnel's wrappers.
func tcpUnder(t *testing.T, c net.Conn) *net.TCPConn {
	t.Helper()
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			t.Fatalf("no TCP connection under %T", c)
		}
	}
}

func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := c.Read(one); err != nil {
			t.Fatalf("read: %v (so far %q)", err, b)
		}
		if one[0] == '\n' {
			return string(b)
		}
		b = append(b, one[0])
	}
}

func TestTunnelReachesPairedPCAndCounts(t *testing.T) {
	rg := newRig(t)
	pc := newOffice(t, "yamada-pc")
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: pc.addr()}
	conn, err := rg.client(t, "yamada").DialTunnel(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, conn); got != "pc:yamada-pc" {
		t.Fatalf("reached %q, want the paired PC", got)
	}
	if _, err := io.WriteString(conn, "hello\n"); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, conn); got != "hello" {
		t.Fatalf("echo = %q", got)
	}
	if live := rg.relay.Live(); live["s1"] != 1 {
		t.Fatalf("live = %v, want one tunnel on s1", live)
	}
	rg.relay.Flush()
	conn.Close()
	waitFor(t, "tunnel end", func() bool { return len(rg.relay.Live()) == 0 })
	if got, want := rg.grants.counted("s1"), [2]int64{6, int64(len("pc:yamada-pc\n") + 6)}; got != want {
		t.Fatalf("counted up/down = %v, want %v", got, want)
	}
	waitFor(t, "close event", func() bool { _, ok := rg.events.find("relay.tunnel_closed", "s1"); return ok })
	ev, _ := rg.events.find("relay.tunnel_closed", "s1")
	if ev.Fields["bytes_up"] != "6" || ev.Fields["pc"] != pc.addr() || ev.Actor != "yamada" {
		t.Fatalf("close event = %+v", ev)
	}
	if _, ok := rg.events.find("relay.tunnel_opened", "s1"); !ok {
		t.Fatal("no open event")
	}
}

func TestTunnelRefusals(t *testing.T) {
	rg := newRig(t)
	mine := newOffice(t, "yamada-pc")
	other := newOffice(t, "sato-pc")
	down := func() string { // an address where nothing listens
		ln, _ := net.Listen("tcp4", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	rg.grants.slots["yamada-slot"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: mine.addr()}
	rg.grants.slots["sato-slot"] = fakeSlot{user: "sato", state: api.SlotGranted, target: other.addr()}
	rg.grants.slots["queued"] = fakeSlot{user: "yamada", state: api.SlotQueued, target: mine.addr()}
	rg.grants.slots["asleep"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: down}

	tests := []struct {
		name     string
		user     string
		path     string // request path (with query) when not a plain dial
		slot     string
		noUpgr   bool
		wantCode api.Code
		audited  bool
	}{
		{name: "another user's slot", user: "yamada", slot: "sato-slot", wantCode: api.CodeSlotNotFound, audited: true},
		{name: "unknown slot", user: "yamada", slot: "nope", wantCode: api.CodeSlotNotFound, audited: true},
		{name: "slot not granted yet", user: "yamada", slot: "queued", wantCode: api.CodeSlotNotGranted, audited: true},
		{name: "target named in query", user: "yamada", path: "/v1/tunnel/yamada-slot?target=" + other.addr(), slot: "yamada-slot", wantCode: api.CodeTunnelTarget, audited: true},
		{name: "other target as host:port path", user: "yamada", path: "/v1/tunnel/yamada-slot?" + other.addr(), slot: "yamada-slot", wantCode: api.CodeTunnelTarget, audited: true},
		{name: "plain GET without upgrade", user: "yamada", slot: "yamada-slot", noUpgr: true, wantCode: api.CodeTunnelUpgrade},
		{name: "paired PC not answering", user: "yamada", slot: "asleep", wantCode: api.CodeTunnelUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rg.client(t, tc.user)
			var err error
			if tc.path != "" || tc.noUpgr {
				path := tc.path
				if path == "" {
					path = api.TunnelPath(tc.slot)
				}
				req, rerr := c.NewRequest(context.Background(), "GET", path, nil)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if !tc.noUpgr {
					req.Header.Set("Connection", "Upgrade")
					req.Header.Set("Upgrade", tunnel.Protocol)
				}
				resp, rerr := c.HTTPClient().Do(req)
				if rerr != nil {
					t.Fatal(rerr)
				}
				err = api.DecodeError(resp)
				resp.Body.Close()
			} else {
				var conn net.Conn
				conn, err = c.DialTunnel(context.Background(), tc.slot)
				if conn != nil {
					conn.Close()
				}
			}
			if e := api.AsError(err); e == nil || e.Code != tc.wantCode {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
			if tc.audited {
				if _, ok := rg.events.find("relay.refused", tc.slot); !ok {
					t.Fatalf("refusal of %s not recorded", tc.slot)
				}
			}
		})
	}
	if n := other.count(); n != 0 {
		t.Fatalf("sato's PC got %d connections from yamada's requests", n)
	}
	if live := rg.relay.Live(); len(live) != 0 {
		t.Fatalf("tunnels left behind: %v", live)
	}
}

func TestEndSlotClosesTunnels(t *testing.T) {
	rg := newRig(t)
	pc := newOffice(t, "pc")
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: pc.addr()}
	c := rg.client(t, "yamada")
	var conns []net.Conn
	for range 2 {
		conn, err := c.DialTunnel(context.Background(), "s1")
		if err != nil {
			t.Fatal(err)
		}
		readLine(t, conn)
		conns = append(conns, conn)
	}
	// As the slot manager does: mark the slot ended, then end its tunnels.
	rg.grants.end("s1")
	rg.relay.EndSlot("s1")
	for i, conn := range conns {
		// The broker cuts the connection: the app must not take it for a
		// clean end of the stream.
		if _, err := io.ReadAll(conn); !errors.Is(err, tunnel.ErrCut) && !strings.Contains(fmt.Sprint(err), "reset") {
			t.Fatalf("conn %d: %v", i, err)
		}
	}
	waitFor(t, "tunnels to end", func() bool { return len(rg.relay.Live()) == 0 })
	waitFor(t, "close event", func() bool {
		ev, ok := rg.events.find("relay.tunnel_closed", "s1")
		return ok && ev.Fields["ended_by"] == "slot_ended"
	})
	if _, err := c.DialTunnel(context.Background(), "s1"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeSlotEnded {
		t.Fatalf("dial after end: %v, want %s", err, api.CodeSlotEnded)
	}
}

func TestTunnelBulkAndHalfClose(t *testing.T) {
	rg := newRig(t)
	// A PC that reads everything, then answers with the digest and closes.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			return
		}
		_, _ = c.Write(h.Sum(nil))
	}()
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: ln.Addr().String()}
	conn, err := rg.client(t, "yamada").DialTunnel(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, 8<<20+12345) // not a multiple of any buffer
	_, _ = rand.Read(payload)
	// Mixed write sizes exercise record coalescing and draining.
	for off, i := 0, 0; off < len(payload); i++ {
		n := min([]int{1, 700, 16 << 10, 300 << 10, 1 << 20}[i%5], len(payload)-off)
		if _, err := conn.Write(payload[off : off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(payload)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("digest through the tunnel = %x, want %x", got, want)
	}
	waitFor(t, "tunnel end", func() bool { return len(rg.relay.Live()) == 0 })
	if got := rg.grants.counted("s1"); got[0] != int64(len(payload)) || got[1] != 32 {
		t.Fatalf("counted %v, want [%d 32]", got, len(payload))
	}
}

// TestCutTunnelResetsThePC: an app that vanishes without ending its
// stream (a crash, a cut network) must not look like a clean end to the
// office PC.
func TestCutTunnelResetsThePC(t *testing.T) {
	rg := newRig(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pcErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			pcErr <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		pcErr <- err
	}()
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: ln.Addr().String()}
	conn, err := rg.client(t, "yamada").DialTunnel(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	// The app's process dies: the kernel closes its socket (a FIN, no
	// close_notify).
	tcpUnder(t, conn).Close()
	select {
	case err := <-pcErr:
		if err == nil || !strings.Contains(err.Error(), "reset") {
			t.Fatalf("the office PC saw %v, want a reset", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the office PC was never told")
	}
	waitFor(t, "close event", func() bool {
		ev, ok := rg.events.find("relay.tunnel_closed", "s1")
		return ok && strings.Contains(ev.Fields["error"], "cut")
	})
}

// TestTunnelBehindATLSProxy: a broker run with -insecure-http behind a
// TLS-terminating proxy has no TLS session to bind tunnels to. They run
// unbound only when IT allows it; otherwise they are refused.
func TestTunnelBehindATLSProxy(t *testing.T) {
	for _, unbound := range []bool{true, false} {
		t.Run(fmt.Sprintf("unbound=%v", unbound), func(t *testing.T) { testBehindProxy(t, unbound) })
	}
}

func testBehindProxy(t *testing.T, unbound bool) {
	rg := newRigServer(t, httptest.NewServer, unbound)
	pc := newOffice(t, "pc")
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: pc.addr()}
	// The proxy: TLS in front, the broker's plain HTTP behind.
	proxyCert := httptest.NewTLSServer(http.NotFoundHandler()) // borrow its certificate
	proxyCert.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: proxyCert.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b, err := net.Dial("tcp", strings.TrimPrefix(rg.srv.URL, "http://"))
				if err != nil {
					c.Close()
					return
				}
				_ = tunnel.Splice(c, b, nil, nil)
			}()
		}
	}()
	c, err := api.NewClient("https://"+ln.Addr().String(), api.ClientOptions{Pins: []string{api.KeyPin(proxyCert.Certificate())}})
	if err != nil {
		t.Fatal(err)
	}
	rg.sign(c, "yamada")
	conn, err := c.DialTunnel(context.Background(), "s1")
	if !unbound {
		if e := api.AsError(err); e == nil || e.Code != api.CodeTunnelBinding {
			t.Fatalf("unbound tunnel not allowed, yet: %v", err)
		}
		if ev, ok := rg.events.find("relay.refused", "s1"); !ok || ev.Fields["reason"] != string(api.CodeTunnelBinding) {
			t.Fatalf("refusal not audited: %+v", ev)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := readLine(t, conn); got != "pc:pc" {
		t.Fatalf("greeting %q", got)
	}
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, conn); got != "ping" {
		t.Fatalf("echo %q", got)
	}
}

func TestForwardCarriesEachConnection(t *testing.T) {
	rg := newRig(t)
	pc := newOffice(t, "pc")
	rg.grants.slots["s1"] = fakeSlot{user: "yamada", state: api.SlotGranted, target: pc.addr()}
	c := rg.client(t, "yamada")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stats := make(chan tunnel.Stats, 4)
	done := make(chan error, 1)
	go func() {
		f := &tunnel.Forwarder{Dial: func(ctx context.Context) (net.Conn, error) { return c.DialTunnel(ctx, "s1") },
			Done: func(s tunnel.Stats) { stats <- s }}
		done <- f.Serve(ctx, ln)
	}()
	for i := range 2 {
		local, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, local); got != "pc:pc" {
			t.Fatalf("conn %d reached %q", i, got)
		}
		local.Close()
		st := <-stats
		if st.Down != int64(len("pc:pc\n")) {
			t.Fatalf("conn %d stats %+v", i, st)
		}
	}
	// A connection still open when the forwarder stops is closed too.
	local, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	readLine(t, local)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(local); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
		t.Fatal("listener still accepting after the forwarder stopped")
	}
	if pc.count() != 3 {
		t.Fatalf("office PC saw %d connections, want 3", pc.count())
	}
}

// TestUnboundTunnelsAuditedAtStart: IT's choice to run tunnels without
// channel binding (behind a TLS-terminating proxy) is in the audit log
// from the moment the broker runs, not only when a tunnel opens.
func TestUnboundTunnelsAuditedAtStart(t *testing.T) {
	for _, unbound := range []bool{false, true} {
		ev := &events{}
		r := New(Config{Audit: ev, Unbound: unbound})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.Run(ctx, time.Hour)
		if _, ok := ev.find("relay.unbound_allowed", ""); ok != unbound {
			t.Fatalf("unbound=%v: audited=%v", unbound, ok)
		}
	}
}
