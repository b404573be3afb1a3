package core

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// fakePC stands in for the office PC's RDP port: it sends a "screen" and
// reads what the client types.
func fakePC(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return servePC(t, ln)
}

func servePC(t *testing.T, ln net.Listener) int {
	return brokertest.ServeOfficePC(t, ln, brokertest.SendScreen("SCREEN-FRAME"))
}

// fakeLauncher plays the RDP client: it connects to the tunnel, reads the
// screen, types, and runs until told to exit or its context ends.
type fakeLauncher struct {
	silent  bool // does not type (an idle user)
	mu      sync.Mutex
	targets []LaunchTarget
	exit    chan int // the user closes the client with this exit code
	killed  chan struct{}
}

func newFakeLauncher() *fakeLauncher {
	return &fakeLauncher{exit: make(chan int, 1), killed: make(chan struct{}, 1)}
}

func (l *fakeLauncher) Launch(ctx context.Context, t LaunchTarget) (int, error) {
	l.mu.Lock()
	l.targets = append(l.targets, t)
	l.mu.Unlock()
	conn, err := net.Dial("tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return 1, err
	}
	defer conn.Close()
	buf := make([]byte, 12)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return 2, nil // the client shows its own error and exits non-zero
	}
	if !l.silent {
		_, _ = conn.Write([]byte("keystrokes"))
	}
	select {
	case code := <-l.exit:
		return code, nil
	case <-ctx.Done():
		l.killed <- struct{}{}
		return 0, nil
	}
}

// flowRecorder keeps the operation log events (safe for the flow's goroutines).
type flowRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *flowRecorder) Record(ev string, f map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev == "wake.stage" {
		ev += ":" + f["stage"]
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *flowRecorder) has(evs ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for _, e := range r.events {
		if i < len(evs) && e == evs[i] {
			i++
		}
	}
	return i == len(evs)
}

func (r *flowRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.events)
}

// flowEnv is a broker with office PCs for yamada and sato, and IT.
type flowEnv struct {
	b   *brokertest.Broker
	it  *brokertest.Session
	pcs map[string]brokertest.User
	// keyrings are the users' laptops: a user's next app (after a crash)
	// runs on the same laptop, with its device key.
	keyrings map[string]Secrets
}

func newFlowEnv(t *testing.T, capN int) *flowEnv {
	t.Helper()
	b := brokertest.Start(t)
	e := &flowEnv{b: b, it: b.Signin(t, "it-admin", api.RoleAdmin), pcs: map[string]brokertest.User{}, keyrings: map[string]Secrets{}}
	ctx := context.Background()
	port := fakePC(t)
	for _, id := range []string{"yamada", "sato"} {
		e.pcs[id] = b.CreateUser(t, id)
		if _, err := e.it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + id, Name: id + "のPC", Address: "127.0.0.1",
			RDPPort: port, WakeAddr: "127.0.0.1", MAC: "02:00:00:00:00:09", UserID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.it.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &capN}); err != nil {
		t.Fatal(err)
	}
	return e
}

// app signs a core client in as the user.
func (e *flowEnv) app(t *testing.T, id string, l Launcher, rec Recorder) *Client {
	t.Helper()
	if e.keyrings[id] == nil {
		e.keyrings[id] = NewMemorySecrets()
	}
	c, err := New(Config{BrokerURL: e.b.URL, Fingerprint: e.b.Fingerprint, DeviceName: "laptop-" + id},
		Deps{Launcher: l, Recorder: rec, Now: e.b.Now, Secrets: e.keyrings[id]})
	if err != nil {
		t.Fatal(err)
	}
	fastTiming(c)
	t.Cleanup(c.Close)
	u := e.pcs[id]
	for try := 0; ; try++ {
		_, err := c.Login(context.Background(), u.ID, u.Password, e.b.Code(t, u), false)
		if ae := api.AsError(err); ae != nil && ae.Code == api.CodeOTPReplayed && try < 3 {
			e.b.Clock.Advance(30 * time.Second) // codes are single-use
			continue
		}
		if err != nil {
			t.Fatalf("login %s: %v", id, err)
		}
		break
	}
	waitFor(t, c, "online with the PC known", func(s State) bool { return s.Online && s.Terminal != nil && s.SlotsCap > 0 })
	return c
}

// fastTiming shortens the client's heartbeat and reconnect backoff, so
// that a test moving the broker's clock or cutting the line does not wait
// for production intervals. Call it before signing in.
func fastTiming(c *Client) {
	c.heartbeatEvery = 50 * time.Millisecond
	c.eventsBackoff = [2]time.Duration{10 * time.Millisecond, 50 * time.Millisecond}
}

// waitFor polls the state until ok (the flow runs in its own goroutines).
func waitFor(t *testing.T, c *Client, what string, ok func(State) bool) State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st := c.State(); ok(st) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: not reached; state %+v", what, c.State())
	return State{}
}

func phaseIs(p Phase) func(State) bool { return func(s State) bool { return s.Phase == p } }

func TestConnectFlowGrantedToEnd(t *testing.T) {
	e := newFlowEnv(t, 5)
	l, rec := newFakeLauncher(), &flowRecorder{}
	c := e.app(t, "yamada", l, rec)
	if st := c.State(); st.Terminal.ID != "pc-yamada" || st.SlotsFree != 5 {
		t.Errorf("home screen: %+v %+v", st, st.Terminal)
	}
	c.Connect()
	st := waitFor(t, c, "connected", phaseIs(Connected))
	if st.Terminal == nil || st.Terminal.State != TerminalInUse || st.Since.IsZero() {
		t.Errorf("connected state: %+v", st)
	}
	// The home screen's free count follows the grant (4 of 5 free).
	waitFor(t, c, "free count after the grant", func(s State) bool { return s.SlotsFree == 4 && s.SlotsCap == 5 })
	if len(l.targets) != 1 || l.targets[0].Host != "127.0.0.1" || l.targets[0].User != "yamada" || l.targets[0].Policy != (RDPPolicy{}) {
		t.Errorf("launch target: %+v", l.targets)
	}
	list, err := e.it.Sessions(context.Background())
	if err != nil || len(list.Sessions) != 1 || list.Sessions[0].UserID != "yamada" {
		t.Fatalf("IT's list: %+v %v", list, err)
	}
	c.Connect() // pressing again while connected does nothing
	// The user closes the RDP client: the slot goes back.
	l.exit <- 0
	st = waitFor(t, c, "back to ready", phaseIs(Ready))
	if st.EndReason != EndClosed || st.Err != nil {
		t.Errorf("after the client closed: %+v", st)
	}
	waitFor(t, c, "free count after the release", func(s State) bool { return s.SlotsFree == 5 })
	if list, _ := e.it.Sessions(context.Background()); len(list.Sessions) != 0 {
		t.Errorf("slot not released: %+v", list.Sessions)
	}
	want := []string{"slot.requested", "slot.granted", "wake.stage:checking", "wake.stage:ready", "tunnel.open", "rdp.start", "rdp.exit", "tunnel.close", "slot.released"}
	if !rec.has(want...) {
		t.Errorf("operation log %s, want in order %v", rec, want)
	}
}

func TestConnectFlowQueuedThenGranted(t *testing.T) {
	e := newFlowEnv(t, 1)
	ly, ls := newFakeLauncher(), newFakeLauncher()
	yamada := e.app(t, "yamada", ly, &flowRecorder{})
	rec := &flowRecorder{}
	sato := e.app(t, "sato", ls, rec)
	yamada.Connect()
	waitFor(t, yamada, "yamada connected", phaseIs(Connected))
	sato.Connect()
	st := waitFor(t, sato, "sato queued", phaseIs(Queued))
	if st.Queue != 1 || st.QueueETA <= 0 {
		t.Errorf("queued state: position %d, eta %s", st.Queue, st.QueueETA)
	}
	// IT allows sound and printers meanwhile: sato's grant, which comes
	// over the event socket, carries the new policy to the RDP client.
	allow := api.RDPPolicy{Audio: true, Printers: true}
	if _, err := e.it.SetSlotConfig(context.Background(), api.SlotConfigUpdate{RDP: &allow}); err != nil {
		t.Fatal(err)
	}
	// yamada disconnects: sato is next.
	yamada.Disconnect()
	waitFor(t, yamada, "yamada ready", phaseIs(Ready))
	<-ly.killed
	waitFor(t, sato, "sato connected", phaseIs(Connected))
	if !rec.has("slot.requested", "slot.queued", "slot.granted", "tunnel.open", "rdp.start") {
		t.Errorf("sato's log: %s", rec)
	}
	if len(ls.targets) != 1 || ls.targets[0].Policy != allow {
		t.Errorf("sato's RDP client got %+v, want the policy IT set", ls.targets)
	}
	// Leaving the queue: yamada asks again and gives up while queued.
	yamada.Connect()
	waitFor(t, yamada, "yamada queued", phaseIs(Queued))
	yamada.Disconnect()
	st = waitFor(t, yamada, "yamada left the queue", phaseIs(Ready))
	if st.EndReason != api.EndUser {
		t.Errorf("end reason %q", st.EndReason)
	}
	if list, _ := e.it.Sessions(context.Background()); len(list.Queue) != 0 {
		t.Errorf("queue after leaving: %+v", list.Queue)
	}
}

func TestConnectFlowEndedByBroker(t *testing.T) {
	e := newFlowEnv(t, 5)
	ctx := context.Background()
	t.Run("IT ends the session", func(t *testing.T) {
		l := newFakeLauncher()
		c := e.app(t, "yamada", l, &flowRecorder{})
		c.Connect()
		waitFor(t, c, "connected", phaseIs(Connected))
		list, _ := e.it.Sessions(ctx)
		if err := e.it.EndSession(ctx, list.Sessions[0].ID, "点検のため"); err != nil {
			t.Fatal(err)
		}
		st := waitFor(t, c, "ended", phaseIs(Ready))
		<-l.killed // the RDP client was closed
		if st.EndReason != api.EndAdmin || st.EndMessage != "点検のため" || st.Warning.Active() {
			t.Errorf("ended state: %+v", st)
		}
	})
	t.Run("idle warning then idle end", func(t *testing.T) {
		idle, warn := 30, 5
		if _, err := e.it.SetSlotConfig(ctx, api.SlotConfigUpdate{IdleMinutes: &idle, WarnMinutes: &warn}); err != nil {
			t.Fatal(err)
		}
		l := newFakeLauncher()
		l.silent = true
		c := e.app(t, "sato", l, &flowRecorder{})
		c.Connect()
		waitFor(t, c, "connected", phaseIs(Connected))
		m := e.b.Services.Slots
		slot, err := m.Mine("sato")
		if err != nil {
			t.Fatal(err)
		}
		app, _ := m.HolderOf(slot.ID) // heartbeats as the app's sign-in
		// Move the broker's clock in lease-sized steps; the app's
		// heartbeats keep the lease but report no typing.
		for range 26 {
			e.b.Clock.Advance(time.Minute)
			if _, err := m.Heartbeat(ctx, app, slot.ID, api.HeartbeatRequest{}); err != nil {
				t.Fatal(err)
			}
			if err := m.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		st := waitFor(t, c, "warned", func(s State) bool { return s.Warning.Active() })
		if st.Phase != Connected {
			t.Errorf("warned but not connected: %+v", st)
		}
		// Core keeps the reason and the time; the faces word it.
		if st.Warning.Reason != api.EndIdle || !st.Warning.EndsAt.After(e.b.Now()) {
			t.Errorf("warning %+v at %s, want idle with an end ahead", st.Warning, e.b.Now())
		}
		for range 5 {
			e.b.Clock.Advance(time.Minute)
			_, _ = m.Heartbeat(ctx, app, slot.ID, api.HeartbeatRequest{})
			if err := m.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		st = waitFor(t, c, "ended for idleness", phaseIs(Ready))
		if st.EndReason != api.EndIdle || st.Warning.Active() {
			t.Errorf("end reason %q, warning %+v (want idle, and the warning gone)", st.EndReason, st.Warning)
		}
	})
}

func TestConnectFlowFailures(t *testing.T) {
	e := newFlowEnv(t, 5)
	ctx := context.Background()
	t.Run("office PC does not wake", func(t *testing.T) {
		// A PC nobody listens for, without a MAC address: cannot be woken.
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := dead.Addr().(*net.TCPAddr).Port
		dead.Close()
		empty := ""
		if _, err := e.it.UpdateTerminal(ctx, "pc-yamada", api.UpdateTerminalRequest{RDPPort: &port, MAC: &empty}); err != nil {
			t.Fatal(err)
		}
		c := e.app(t, "yamada", newFakeLauncher(), &flowRecorder{})
		c.Connect()
		st := waitFor(t, c, "failed", phaseIs(Failed))
		if st.Err == nil || st.Err.Code != api.CodeSlotWakeFailed || st.Err.MessageJA == "" || st.Wake != WakeFailed {
			t.Errorf("failed state: %+v", st)
		}
		if list, _ := e.it.Sessions(ctx); len(list.Sessions) != 0 {
			t.Errorf("slot kept after the failure: %+v", list.Sessions)
		}
	})
	t.Run("RDP client fails", func(t *testing.T) {
		rec := &flowRecorder{}
		c := e.app(t, "sato", failingLauncher{}, rec)
		c.Connect()
		st := waitFor(t, c, "failed", phaseIs(Failed))
		if st.Err == nil || st.Err.Code != api.CodeSlotClientFailed {
			t.Errorf("failed state: %+v", st)
		}
		// From Failed, the user can try again.
		c.Connect()
		waitFor(t, c, "tried again", func(State) bool { return rec.has("slot.requested", "error", "slot.requested", "error") })
		waitFor(t, c, "failed again", phaseIs(Failed))
	})
}

type failingLauncher struct{}

func (failingLauncher) Launch(context.Context, LaunchTarget) (int, error) { return 127, nil }

func TestQuitOrSignOutReleasesTheSlot(t *testing.T) {
	e := newFlowEnv(t, 5)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		stop func(c *Client)
	}{
		{"sign-out", func(c *Client) {
			c.StopConnection(ctx)
			if err := c.Logout(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"quit", func(c *Client) { c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.app(t, "yamada", newFakeLauncher(), &flowRecorder{})
			c.Connect()
			waitFor(t, c, "connected", phaseIs(Connected))
			tc.stop(c)
			if list, err := e.it.Sessions(ctx); err != nil || len(list.Sessions) != 0 {
				t.Errorf("slot after %s: %+v %v", tc.name, list.Sessions, err)
			}
		})
	}
}

// TestConnectFlowWakesSleepingPC: the office PC is asleep (its RDP port
// does not answer); the broker sends the magic packet, the PC "wakes" when
// it gets it, and the app follows every stage to a connected session.
func TestConnectFlowWakesSleepingPC(t *testing.T) {
	e := newFlowEnv(t, 5)
	ctx := context.Background()
	asleep, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rdpPort := asleep.Addr().(*net.TCPAddr).Port
	asleep.Close()
	nic, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nic.Close() })
	mac := net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	woke := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 200)
		n, _, err := nic.ReadFrom(buf)
		if err != nil {
			return
		}
		woke <- append([]byte(nil), buf[:n]...)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(rdpPort)))
		if err != nil {
			t.Errorf("waking PC: %v", err)
			return
		}
		servePC(t, ln)
	}()
	wakePort := nic.LocalAddr().(*net.UDPAddr).Port
	macs := mac.String()
	if _, err := e.it.UpdateTerminal(ctx, "pc-yamada", api.UpdateTerminalRequest{RDPPort: &rdpPort, MAC: &macs, WakePort: &wakePort}); err != nil {
		t.Fatal(err)
	}
	rec := &flowRecorder{}
	c := e.app(t, "yamada", newFakeLauncher(), rec)
	c.Connect()
	waitFor(t, c, "waking", func(s State) bool { return s.Phase == Waking && (s.Wake == WakeSending || s.Wake == WakeWaiting) })
	st := waitFor(t, c, "connected", phaseIs(Connected))
	if st.Terminal == nil || st.Terminal.State != TerminalInUse {
		t.Errorf("PC: %+v", st.Terminal)
	}
	pkt := <-woke
	if len(pkt) != 102 || string(pkt[6:12]) != string(mac) {
		t.Errorf("magic packet: %d bytes % x", len(pkt), pkt[:min(len(pkt), 12)])
	}
	if want := []string{"wake.stage:checking", "wake.stage:waking", "wake.stage:waiting", "wake.stage:ready", "tunnel.open"}; !rec.has(want...) {
		t.Errorf("operation log %s, want %v in order", rec, want)
	}
	// The broker remembers the PC is awake.
	ts, err := e.it.Terminals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range ts {
		if pc.ID == "pc-yamada" && pc.State != api.TerminalInUse {
			t.Errorf("PC state while connected: %s", pc.State)
		}
	}
}

// TestConnectAfterCrashResumesTheSlot: the app died while connected; the
// restarted app (signed in again) presses Connect within the lease and
// gets the same slot back, through wake and tunnel to a running client.
func TestConnectAfterCrashResumesTheSlot(t *testing.T) {
	e := newFlowEnv(t, 5)
	first := e.app(t, "yamada", newFakeLauncher(), &flowRecorder{})
	first.Connect()
	waitFor(t, first, "connected", phaseIs(Connected))
	slot, err := e.b.Services.Slots.Mine("yamada")
	if err != nil {
		t.Fatal(err)
	}
	// A crash: nothing is released (the process is just gone); the
	// next run signs in from the same laptop.
	rec := &flowRecorder{}
	second := e.app(t, "yamada", newFakeLauncher(), rec)
	second.Connect()
	waitFor(t, second, "connected again", phaseIs(Connected))
	again, err := e.b.Services.Slots.Mine("yamada")
	if err != nil || again.ID != slot.ID {
		t.Errorf("slot after the restart: %+v %v, want %s", again, err, slot.ID)
	}
	if !rec.has("slot.requested", "slot.granted", "wake.stage:ready", "tunnel.open") {
		t.Errorf("log: %s", rec)
	}
}

// exitReadingLauncher is a fakeLauncher that knows its client's exit
// codes, as app/launcher does through platform/rdp.
type exitReadingLauncher struct {
	*fakeLauncher
	ends map[int]ClientEnd
}

func (l exitReadingLauncher) ReadExit(code int) ClientEnd {
	if e, ok := l.ends[code]; ok {
		return e
	}
	return ClientFailed
}

// TestConnectFlowNormalEnds: each way a session ends that is not a
// failure comes back to Ready with its own reason and no error, and the
// slot is given back; a client that fails is Failed with its code.
func TestConnectFlowNormalEnds(t *testing.T) {
	e := newFlowEnv(t, 5)
	ends := map[int]ClientEnd{0: ClientClosed, 11: ClientDisconnected, 12: ClientSignedOut, 5: ClientEndedByTerminal, 131: ClientNetwork}
	for _, tc := range []struct {
		name string
		code int
		want EndReason
	}{
		{"window closed", 0, EndClosed},
		{"disconnect on the office PC", 11, EndDisconnected},
		{"signed out of the office PC", 12, EndSignedOut},
		{"office PC ended it", 5, EndByTerminal},
		{"network", 131, EndNetwork},
		{"client failed", 255, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := exitReadingLauncher{newFakeLauncher(), ends}
			c := e.app(t, "yamada", l, &flowRecorder{})
			c.Connect()
			waitFor(t, c, "connected", phaseIs(Connected))
			l.exit <- tc.code
			st := waitFor(t, c, "ended", func(s State) bool { return s.Phase == Ready || s.Phase == Failed })
			if tc.want == "" {
				if st.Phase != Failed || st.Err == nil || st.Err.Code != api.CodeSlotClientFailed || st.Err.Detail != "exit code 255" {
					t.Fatalf("a failing client: %+v, want Failed with slot_client_failed and its exit code", st)
				}
			} else if st.Phase != Ready || st.EndReason != tc.want || st.Err != nil {
				t.Fatalf("after exit %d: phase %s reason %q err %v, want Ready, %q, no error", tc.code, st.Phase, st.EndReason, st.Err, tc.want)
			}
			waitFor(t, c, "the slot given back", func(s State) bool { return s.SlotsFree == 5 })
			if list, _ := e.it.Sessions(context.Background()); len(list.Sessions) != 0 {
				t.Errorf("slot kept: %+v", list.Sessions)
			}
		})
	}
	t.Run("broker ended it, the client saw the cut first", func(t *testing.T) {
		// The client exits as the tunnel goes (here: at once, with the
		// code for "disconnected by the server"); the broker's notice that
		// IT ended the session arrives a moment later and is the reason.
		l := exitReadingLauncher{newFakeLauncher(), ends}
		c := e.app(t, "sato", l, &flowRecorder{})
		c.Connect()
		waitFor(t, c, "connected", phaseIs(Connected))
		list, _ := e.it.Sessions(context.Background())
		l.exit <- 5
		if err := e.it.EndSession(context.Background(), list.Sessions[0].ID, "点検"); err != nil {
			t.Fatal(err)
		}
		st := waitFor(t, c, "ended", phaseIs(Ready))
		if st.EndReason != EndAdmin || st.EndMessage != "点検" {
			t.Fatalf("reason %q message %q, want IT's end", st.EndReason, st.EndMessage)
		}
	})
}
