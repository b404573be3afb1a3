package core

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// cutProxy forwards TCP to the broker and can cut the line: while down it
// drops every connection, as a laptop losing its network would.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex // guards conns, down
	conns map[net.Conn]struct{}
	down  bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes every connection; down keeps refusing until cut(false).
func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
	}
}

// TestEventSocketReconnectsAndResumes: the laptop's line drops while it
// waits in the queue; the slot is granted during the outage; when the line
// is back the app resumes the event stream, sees the grant, and connects.
func TestEventSocketReconnectsAndResumes(t *testing.T) {
	e := newFlowEnv(t, 1)
	ctx := context.Background()
	u, err := url.Parse(e.b.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)

	// yamada holds the only slot, connecting directly.
	yamada := e.app(t, "yamada", newFakeLauncher(), &flowRecorder{})
	yamada.Connect()
	waitFor(t, yamada, "yamada connected", phaseIs(Connected))

	// sato's laptop reaches the broker through the proxy.
	rec := &flowRecorder{}
	sato, err := New(Config{BrokerURL: "https://" + proxy.ln.Addr().String(), Fingerprint: e.b.Fingerprint, DeviceName: "laptop-sato"},
		Deps{Launcher: newFakeLauncher(), Recorder: rec, Now: e.b.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sato.Close)
	fastTiming(sato)
	su := e.pcs["sato"]
	if _, err := sato.Login(ctx, su.ID, su.Password, e.b.Code(t, su), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sato, "sato online", func(s State) bool { return s.Online && s.Terminal != nil })
	sato.Connect()
	waitFor(t, sato, "sato queued", func(s State) bool { return s.Phase == Queued && s.Queue == 1 })

	proxy.cut(true)
	waitFor(t, sato, "sato offline", func(s State) bool { return !s.Online })
	// Meanwhile yamada leaves: the grant is published while sato is away.
	yamada.Disconnect()
	waitFor(t, yamada, "yamada ready", phaseIs(Ready))
	list, err := e.it.Sessions(ctx)
	if err != nil || len(list.Sessions) != 1 || list.Sessions[0].UserID != "sato" {
		t.Fatalf("broker's view during the outage: %+v %v", list, err)
	}
	if st := sato.State(); st.Phase != Queued {
		t.Fatalf("sato moved on while offline: %s", st.Phase)
	}

	proxy.cut(false)
	st := waitFor(t, sato, "sato connected after the line came back", phaseIs(Connected))
	if !st.Online {
		t.Errorf("connected but not online: %+v", st)
	}
	if !rec.has("slot.requested", "slot.queued", "slot.granted", "tunnel.open", "rdp.start") {
		t.Errorf("sato's log: %s", rec)
	}
	// Each event was handled once: the grant was recorded once.
	rec.mu.Lock()
	grants := 0
	for _, ev := range rec.events {
		if ev == "slot.granted" {
			grants++
		}
	}
	rec.mu.Unlock()
	if grants != 1 {
		t.Errorf("slot.granted recorded %d times", grants)
	}
}

// TestConnectFlowNetworkDropIsAnEnd: the laptop's line drops during a
// session; the RDP client gives up (exit 0, as mstsc does after its own
// dialog). The tunnel broke under it, the broker says nothing (it cannot
// be reached): a normal end for a broken line, not a failure.
func TestConnectFlowNetworkDropIsAnEnd(t *testing.T) {
	e := newFlowEnv(t, 5)
	u, err := url.Parse(e.b.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	l := newFakeLauncher()
	c, err := New(Config{BrokerURL: "https://" + proxy.ln.Addr().String(), Fingerprint: e.b.Fingerprint, DeviceName: "laptop-sato"},
		Deps{Launcher: l, Recorder: &flowRecorder{}, Now: e.b.Now, Secrets: e.keyrings["sato"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	fastTiming(c)
	su := e.pcs["sato"]
	if _, err := c.Login(context.Background(), su.ID, su.Password, e.b.Code(t, su), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "online", func(s State) bool { return s.Online && s.Terminal != nil })
	c.Connect()
	waitFor(t, c, "connected", phaseIs(Connected))
	proxy.cut(true)
	waitFor(t, c, "offline", func(s State) bool { return !s.Online })
	l.exit <- 0
	st := waitFor(t, c, "ended", func(s State) bool { return s.Phase == Ready || s.Phase == Failed })
	if st.Phase != Ready || st.EndReason != EndNetwork || st.Err != nil {
		t.Fatalf("after the line dropped: phase %s reason %q err %v, want Ready, %q", st.Phase, st.EndReason, st.Err, EndNetwork)
	}
}
