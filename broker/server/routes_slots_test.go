package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// officePC listens like an awake office PC's RDP port, until the test ends.
func officePC(t testing.TB) int {
	t.Helper()
	return brokertest.OfficePC(t, func(net.Conn) {}) // answers, then hangs up
}

// eventReader reads a user's event socket.
type eventReader struct {
	t    *testing.T
	s    *api.EventStream
	last int64
}

func openEvents(t *testing.T, c *api.Client, after int64) *eventReader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.DialEvents(ctx, after)
	if err != nil {
		t.Fatalf("dial events: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// The hello comes once the broker subscribed the socket: from then on
	// latest-value events reach it too.
	if ev, err := s.Next(ctx); err != nil || ev.Type != api.EventHello {
		t.Fatalf("first message: %+v %v", ev, err)
	}
	return &eventReader{t: t, s: s, last: after}
}

// next returns the next event (hello and resync are skipped), checking
// that numbered events come without gaps or repeats; it fails the test if
// none comes within 20 s.
func (r *eventReader) next() api.Event {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		ev, err := r.s.Next(ctx)
		if err != nil {
			r.t.Fatalf("event socket: %v", err)
		}
		if ev.Type == api.EventHello || ev.Type == api.EventResync {
			continue
		}
		if ev.Seq == 0 {
			return ev // a latest-value event
		}
		if ev.Seq != r.last+1 {
			r.t.Fatalf("event seq %d after %d: lost or repeated", ev.Seq, r.last)
		}
		r.last = ev.Seq
		return ev
	}
}

// until reads events until one of type typ whose data satisfies ok.
func (r *eventReader) until(typ string, v any, ok func() bool) {
	r.t.Helper()
	for range 100 {
		ev := r.next()
		if ev.Type != typ {
			continue
		}
		if err := json.Unmarshal(ev.Data, v); err != nil {
			r.t.Fatal(err)
		}
		if ok() {
			return
		}
	}
	r.t.Fatalf("no %s event", typ)
}

func errCode(err error) api.Code {
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

func TestSlotsOverHTTP(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	port := officePC(t)
	for _, u := range []string{"yamada", "sato"} {
		b.CreateUser(t, u)
		if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-" + u, Name: u + "のPC", Address: "127.0.0.1",
			RDPPort: port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	one := 1
	if _, err := it.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &one}); err != nil {
		t.Fatal(err)
	}
	yamada := b.Login(t, brokertest.User{ID: "yamada", Password: brokertest.Password, TOTPSecret: "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"})
	sato := b.Login(t, brokertest.User{ID: "sato", Password: brokertest.Password, TOTPSecret: "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"})
	yev, sev := openEvents(t, yamada.Client, 0), openEvents(t, sato.Client, 0)

	ys, err := yamada.RequestSlot(ctx, api.SlotRequest{Device: "laptop-1"})
	if err != nil || ys.State != api.SlotGranted || ys.Terminal == nil || ys.Terminal.ID != "pc-yamada" {
		t.Fatalf("yamada: %+v %v", ys, err)
	}
	var wp api.WakeProgress
	yev.until(api.EventWake, &wp, func() bool { return wp.Stage == api.WakeReady || wp.Stage == api.WakeFailed })
	if wp.Stage != api.WakeReady || wp.SlotID != ys.ID {
		t.Errorf("wake: %+v", wp)
	}
	ss, err := sato.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || ss.State != api.SlotQueued || ss.Position != 1 {
		t.Fatalf("sato: %+v %v", ss, err)
	}
	var qu api.QueueUpdate
	sev.until(api.EventQueue, &qu, func() bool { return true })
	if qu.Position != 1 || qu.SlotID != ss.ID {
		t.Errorf("queue event: %+v", qu)
	}

	st, err := sato.Status(ctx)
	if err != nil || st.SlotsCap != 1 || st.SlotsFree != 0 || st.Queued != 1 || st.Slot == nil || st.Terminal == nil || st.Terminal.ID != "pc-sato" {
		t.Errorf("status: %+v %v", st, err)
	}
	if hb, err := yamada.Heartbeat(ctx, ys.ID, api.HeartbeatRequest{Active: true, BytesUp: 10, BytesDown: 20}); err != nil || hb.State != api.SlotGranted {
		t.Errorf("heartbeat: %+v %v", hb, err)
	}
	// Ownership: nobody touches another's slot.
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"heartbeat on another's slot", func() error { _, err := sato.Heartbeat(ctx, ys.ID, api.HeartbeatRequest{}); return err }()},
		{"release another's slot", sato.ReleaseSlot(ctx, ys.ID)},
		{"unknown slot", yamada.ReleaseSlot(ctx, "s_nope")},
	} {
		if errCode(tc.err) != api.CodeSlotNotFound {
			t.Errorf("%s: %v, want slot_not_found", tc.name, tc.err)
		}
	}

	list, err := it.Sessions(ctx)
	if err != nil || len(list.Sessions) != 1 || len(list.Queue) != 1 || list.Sessions[0].UserID != "yamada" ||
		list.Sessions[0].UserName == "" || list.Queue[0].UserID != "sato" {
		t.Fatalf("sessions: %+v %v", list, err)
	}
	// IT ends yamada's session: yamada is told why, sato gets the slot.
	if err := it.EndSession(ctx, ys.ID, "メンテナンス"); err != nil {
		t.Fatal(err)
	}
	var en api.EndedNotice
	yev.until(api.EventEnded, &en, func() bool { return true })
	if en.Reason != api.EndAdmin || en.Message != "メンテナンス" {
		t.Errorf("ended: %+v", en)
	}
	var gr api.Slot
	sev.until(api.EventGranted, &gr, func() bool { return true })
	if gr.ID != ss.ID || gr.State != api.SlotGranted {
		t.Errorf("granted: %+v", gr)
	}
	if _, err := yamada.Heartbeat(ctx, ys.ID, api.HeartbeatRequest{}); errCode(err) != api.CodeSlotEnded {
		t.Errorf("heartbeat after the end: %v", err)
	}

	// The cap changes live: yamada asks again and is granted at once.
	two := 2
	cfg, err := it.SetSlotConfig(ctx, api.SlotConfigUpdate{Cap: &two})
	if err != nil || cfg.Cap != 2 || cfg.LeaseSeconds != 90 {
		t.Fatalf("cap: %+v %v", cfg, err)
	}
	if again, err := yamada.RequestSlot(ctx, api.SlotRequest{}); err != nil || again.State != api.SlotGranted {
		t.Errorf("yamada again: %+v %v", again, err)
	}
	if err := sato.ReleaseSlot(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sato.MySlot(ctx); errCode(err) != api.CodeSlotNotFound {
		t.Errorf("sato after release: %v", err)
	}

	// IT's monitoring sees the figures.
	var metrics bytes.Buffer
	if err := it.Do(ctx, "GET", "/metrics", nil, &metrics); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"zaitaku_slots_cap 2", "zaitaku_slots_used 1", "zaitaku_slots_queued 0"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A user with no PC and no pool is told to ask IT.
	nopc := b.Signin(t, "nopc")
	if _, err := nopc.RequestSlot(ctx, api.SlotRequest{}); errCode(err) != api.CodeSlotNoTerminal {
		t.Errorf("no PC: %v", err)
	}
}

func TestSlotConfigBadInput(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	neg, huge := -1, 1_000_000
	for _, tc := range []struct {
		name string
		up   api.SlotConfigUpdate
	}{
		{"negative cap", api.SlotConfigUpdate{Cap: &neg}},
		{"huge cap", api.SlotConfigUpdate{Cap: &huge}},
		{"negative idle", api.SlotConfigUpdate{IdleMinutes: &neg}},
		{"max over a day", api.SlotConfigUpdate{MaxMinutes: &huge}},
		{"warn over an hour", api.SlotConfigUpdate{WarnMinutes: &huge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := it.SetSlotConfig(ctx, tc.up); errCode(err) != api.CodeValidation {
				t.Errorf("%v, want validation", err)
			}
		})
	}
	// Nothing changed.
	cfg, err := it.SlotConfig(ctx)
	if err != nil || cfg.Cap != 140 {
		t.Errorf("config after refusals: %+v %v", cfg, err)
	}
	var raw map[string]any
	if err := it.Do(ctx, "PATCH", "/admin/v1/slots/config", map[string]any{"cap": 5, "bogus": 1}, &raw); errCode(err) != api.CodeUnknownField {
		t.Errorf("unknown field: %v", err)
	}
}

func TestEventSocketResumeAfterCut(t *testing.T) {
	b := brokertest.Start(t)
	s := b.Signin(t, "kato")
	hub := b.Services.Events
	publish := func(n int) {
		for i := range n {
			hub.Publish("kato", "test.note", map[string]int{"n": i})
		}
	}
	r := openEvents(t, s.Client, 0)
	publish(3)
	for range 3 {
		r.next()
	}
	// The connection is cut; events published meanwhile are kept.
	r.s.Close()
	publish(2)
	hub.Publish("someone-else", "test.note", nil)
	for _, tc := range []struct {
		name  string
		after int64
		want  []int64
	}{
		{"resume after 3", 3, []int64{4, 5}},
		{"from the start", 0, []int64{1, 2, 3, 4, 5}},
		{"up to date", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openEvents(t, s.Client, tc.after)
			for _, w := range tc.want {
				if ev := r.next(); ev.Seq != w {
					t.Fatalf("seq %d, want %d", ev.Seq, w)
				}
			}
			// Nothing more: the next event is a new one.
			hub.Publish("kato", "test.marker", nil)
			if ev := r.next(); ev.Type != "test.marker" {
				t.Errorf("after the backlog: %s #%d, want the marker", ev.Type, ev.Seq)
			}
		})
	}
	// An app that saw numbers the broker never stored is told to resync.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.DialEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var types []string
	for len(types) < 2 {
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
	}
	if types[0] != api.EventHello || types[1] != api.EventResync {
		t.Errorf("after=1000: %v, want hello then resync", types)
	}
	// Anonymous and bad cursors are refused before the upgrade.
	anon := b.Client(t)
	if _, err := anon.DialEvents(ctx, 0); errCode(err) != api.CodeUnauthenticated {
		t.Errorf("anonymous socket: %v", err)
	}
	var e *api.Error
	if err := s.Do(ctx, "GET", "/v1/events?after=-4", nil, nil); !errors.As(err, &e) || e.Code != api.CodeValidation {
		t.Errorf("after=-4: %v", err)
	}
}
