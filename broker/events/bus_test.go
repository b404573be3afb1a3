package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
	"github.com/zaitaku/zaitaku/broker/store/postgres"
	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// broker is one broker's hub on the shared database, with an HTTP server
// for its event sockets (?user=...&after=...).
type broker struct {
	st  *postgres.Store
	hub *events.Hub
	url string
}

func startBroker(t testing.TB, url string) *broker {
	t.Helper()
	st, err := postgres.Open(context.Background(), url, nil, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := serveHub(t, st.Events(), st.Bus())
	t.Cleanup(func() { st.Close() })
	b.st = st
	return b
}

// serveHub starts a hub on the store (with the bus, if not nil) and an
// HTTP server for its sockets.
func serveHub(t testing.TB, es events.Store, bus events.Bus) *broker {
	t.Helper()
	h, err := events.New(context.Background(), es, nil, nil, events.WithBus(bus))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		_ = h.Serve(r.Context(), conn, events.Client{UserID: r.URL.Query().Get("user"), DeviceID: r.URL.Query().Get("device")}, after)
	}))
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &broker{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

type socket struct {
	conn *websocket.Conn
}

// dial opens a socket and reads its hello.
func (b *broker) dial(t testing.TB, user, device string, after int64) *socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, fmt.Sprintf("%s/?user=%s&device=%s&after=%d", b.url, user, device, after), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	s := &socket{conn}
	if ev, err := s.next(ctx); err != nil || ev.Type != api.EventHello {
		t.Fatalf("first frame %+v %v, want hello", ev, err)
	}
	return s
}

func (s *socket) next(ctx context.Context) (api.Event, error) {
	var ev api.Event
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		return ev, err
	}
	return ev, json.Unmarshal(b, &ev)
}

// waitFor polls cond until it holds or the test's minute is up (presence
// travels asynchronously; no time is asserted).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestE2EHubsAcrossBrokers: two hubs on one real PostgreSQL, joined by
// the LISTEN/NOTIFY bus. Stored events published to one user on both at
// once reach a socket on one of them exactly once and in order; a frame
// longer than NOTIFY takes arrives through bus_payloads; a user with a
// socket on one broker is online on the other; an ordered stream's
// frames are passed on in sequence (repeats dropped, gaps filled); a
// revoked sign-in closes its socket on the other broker; and when the
// listener's connection is cut, the sockets are cut too and resume from
// the store with nothing lost.
func TestE2EHubsAcrossBrokers(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := startBroker(t, url), startBroker(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("stored events from both brokers, exactly once in order", func(t *testing.T) {
		s := b.dial(t, "yamada", "d1", 0)
		defer s.conn.CloseNow()
		const each = 300
		var wg sync.WaitGroup
		for _, x := range []*broker{a, b} {
			wg.Go(func() {
				for i := range each {
					x.hub.Publish("yamada", "test", map[string]int{"i": i})
				}
			})
		}
		wg.Wait()
		for want := int64(1); want <= 2*each; want++ {
			ev, err := s.next(ctx)
			if err != nil {
				t.Fatalf("after %d: %v", want-1, err)
			}
			if ev.Seq != want {
				t.Fatalf("event %d: got seq %d (%s)", want, ev.Seq, ev.Type)
			}
		}
		if a.hub.LastSeq("yamada") != 2*each || b.hub.LastSeq("yamada") != 2*each {
			waitFor(t, "both hubs count 600", func() bool {
				return a.hub.LastSeq("yamada") == 2*each && b.hub.LastSeq("yamada") == 2*each
			})
		}
	})

	t.Run("a frame over NOTIFY's 8000 bytes goes through the table", func(t *testing.T) {
		s := b.dial(t, "sato", "d2", 0)
		defer s.conn.CloseNow()
		long := strings.Repeat("在宅勤務", 3000) // 36,000 bytes
		a.hub.PushLive([]string{"sato"}, "test.long", map[string]string{"text": long})
		ev, err := s.next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(ev.Data, &got); err != nil || ev.Type != "test.long" || got["text"] != long {
			t.Fatalf("got %s of %d bytes: %v", ev.Type, len(ev.Data), err)
		}
		var rows int
		if err := a.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM bus_payloads`).Scan(&rows); err != nil || rows == 0 {
			t.Fatalf("bus_payloads rows %d, %v", rows, err)
		}
	})

	t.Run("presence is merged", func(t *testing.T) {
		if a.hub.Online("tanaka") {
			t.Fatal("tanaka online before any socket")
		}
		s := b.dial(t, "tanaka", "d3", 0)
		waitFor(t, "tanaka online on A", func() bool { return a.hub.Online("tanaka") })
		s.conn.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "tanaka offline on A", func() bool { return !a.hub.Online("tanaka") })
	})

	t.Run("an ordered stream drops repeats and fills gaps", func(t *testing.T) {
		b.hub.SetFiller(func(_ context.Context, stream string, after, before int64) ([]any, error) {
			var out []any
			for q := after + 1; q < before; q++ {
				out = append(out, map[string]any{"s": stream, "q": q, "filled": true})
			}
			return out, nil
		})
		s := b.dial(t, "suzuki", "d4", 0)
		defer s.conn.CloseNow()
		push := func(x *broker, q int64) {
			x.hub.PushSeq([]string{"suzuki"}, "test.seq", "chat/c1", q, map[string]any{"s": "chat/c1", "q": q})
		}
		// The first frame a hub sees of a stream starts it there (the app
		// pages in anything before it that it lacks).
		push(a, 1)
		first, err := s.next(ctx)
		if err != nil || !strings.Contains(string(first.Data), `"q":1`) {
			t.Fatalf("first frame %s %v", first.Data, err)
		}
		expect := func(from, to int64, filled ...int64) {
			t.Helper()
			for want := from; want <= to; want++ {
				ev, err := s.next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var m struct {
					Q      int64 `json:"q"`
					Filled bool  `json:"filled"`
				}
				if err := json.Unmarshal(ev.Data, &m); err != nil || m.Q != want || m.Filled != slices.Contains(filled, want) {
					t.Fatalf("frame %d: %s (%v)", want, ev.Data, err)
				}
			}
		}
		push(a, 2)
		push(b, 2) // a repeat, from the other broker
		expect(2, 2)
		push(a, 5) // past a gap: 3 and 4 are read from the store first
		expect(3, 5, 3, 4)
		push(b, 4) // a repeat
		push(b, 6)
		expect(6, 6)
	})

	t.Run("a sign-in ended on one broker closes its socket on the other", func(t *testing.T) {
		s := b.dial(t, "ito", "d5", 0)
		a.hub.CloseSignIns("ito", "d5", "", "")
		_, err := s.next(ctx)
		if websocket.CloseStatus(err) != events.StatusSignedOut {
			t.Fatalf("socket on B: %v, want close %d", err, events.StatusSignedOut)
		}
	})

	t.Run("the listener's connection cut: sockets resume from the store", func(t *testing.T) {
		s := b.dial(t, "kato", "d6", 0)
		a.hub.Publish("kato", "test", nil)
		if ev, err := s.next(ctx); err != nil || ev.Seq != 1 {
			t.Fatalf("first event: %+v %v", ev, err)
		}
		var n int
		if err := a.st.DB().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'zaitaku-broker events'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("terminated %d listeners, %v", n, err)
		}
		// Published while the listeners reconnect: some may be lost to
		// the bus, none to the socket.
		for range 50 {
			a.hub.Publish("kato", "test", nil)
		}
		last, cut := int64(1), false
		for last < 52 {
			ev, err := s.next(ctx)
			if err != nil {
				if cut || websocket.CloseStatus(err) != events.StatusFellBehind {
					t.Fatalf("socket ended with %v, want one close %d (fell behind) after the cut", err, events.StatusFellBehind)
				}
				cut = true
				s = b.dial(t, "kato", "d6", last)
				a.hub.Publish("kato", "test", nil) // one more once B listens again
				continue
			}
			if ev.Seq != last+1 {
				t.Fatalf("after %d: seq %d", last, ev.Seq)
			}
			last = ev.Seq
		}
		s.conn.CloseNow()
	})
}

// TestMarksAcrossHubs: held marks and flags read the same on every hub of
// a database. A flag set on one hub reads on it as soon as Flag returns
// and on the others once heard; a hub that starts later learns the flags
// and held marks set before it from the others' snapshots; a flag
// cleared on another hub than the one that set it clears everywhere; a
// held mark ends with its hub, a flag does not.
func TestMarksAcrossHubs(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := startBroker(t, url), startBroker(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := func(hs ...*broker) func(user, mark string, want bool) func() bool {
		return func(user, mark string, want bool) func() bool {
			return func() bool {
				for _, h := range hs {
					if h.hub.Marked(user, mark) != want {
						return false
					}
				}
				return true
			}
		}
	}
	a.hub.Hold("yamada", "meeting", true)
	if !a.hub.Marked("yamada", "meeting") {
		t.Fatal("a held mark does not read on its own hub")
	}
	waitFor(t, "the held mark on B", all(b)("yamada", "meeting", true))
	b.hub.Flag(ctx, "sato", "away", true)
	if !b.hub.Marked("sato", "away") {
		t.Fatal("a flag does not read on its hub once Flag returned")
	}
	waitFor(t, "the flag on A", all(a)("sato", "away", true))

	c := startBroker(t, url)
	waitFor(t, "a later hub learns the flag and the held mark", func() bool {
		return c.hub.Marked("sato", "away") && c.hub.Marked("yamada", "meeting")
	})
	a.hub.Flag(ctx, "sato", "away", false)
	waitFor(t, "the flag cleared through another hub, everywhere", all(a, b, c)("sato", "away", false))
	c.hub.Flag(ctx, "suzuki", "away", true)
	waitFor(t, "a flag set on the later hub, everywhere", all(a, b, c)("suzuki", "away", true))

	a.hub.Close() // says goodbye
	waitFor(t, "the held mark ends with its hub", all(b, c)("yamada", "meeting", false))
	if !b.hub.Marked("suzuki", "away") || !c.hub.Marked("suzuki", "away") {
		t.Error("a flag ended with a hub that stopped")
	}
	if b.hub.Marked("sato", "away") || b.hub.Marked("tanaka", "away") || b.hub.Marked("suzuki", "meeting") {
		t.Error("a mark nobody set reads as set")
	}
}

// TestSignalsAcrossHubs: a signal runs the handlers of its hub before
// Signal returns, and once; the other hubs' when the bus brings it; and
// when a listener's connection is cut (signals may have been missed
// meanwhile) its handlers run with key "", as told to drop everything.
func TestSignalsAcrossHubs(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := startBroker(t, url), startBroker(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type heard struct {
		mu    sync.Mutex
		keys  []string
		other int // signals of another topic
	}
	listen := func(x *broker) *heard {
		h := &heard{}
		x.hub.OnSignal("chat.members", func(key string) {
			h.mu.Lock()
			h.keys = append(h.keys, key)
			h.mu.Unlock()
		})
		x.hub.OnSignal("other", func(string) {
			h.mu.Lock()
			h.other++
			h.mu.Unlock()
		})
		return h
	}
	keys := func(h *heard) []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Clone(h.keys)
	}
	ha, hb := listen(a), listen(b)
	a.hub.Signal("chat.members", "d/総務課")
	if got := keys(ha); !slices.Equal(got, []string{"d/総務課"}) {
		t.Fatalf("A heard %q once Signal returned, want its own signal", got)
	}
	waitFor(t, "B hears A's signal", func() bool { return slices.Equal(keys(hb), []string{"d/総務課"}) })
	b.hub.Signal("chat.members", "c/c1")
	waitFor(t, "A hears B's signal", func() bool { return slices.Equal(keys(ha), []string{"d/総務課", "c/c1"}) })
	// A's own signal, back from the bus, is not run again.
	a.hub.Signal("chat.members", "c/c2")
	waitFor(t, "B hears the second", func() bool { return len(keys(hb)) == 3 })
	if got := keys(ha); !slices.Equal(got, []string{"d/総務課", "c/c1", "c/c2"}) {
		t.Fatalf("A heard %q", got)
	}
	for _, h := range []*heard{ha, hb} {
		h.mu.Lock()
		if h.other != 0 {
			t.Errorf("a handler of another topic ran %d times", h.other)
		}
		h.mu.Unlock()
	}

	var n int
	if err := a.st.DB().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'zaitaku-broker events'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("terminated %d listeners, %v", n, err)
	}
	for _, h := range []*heard{ha, hb} {
		waitFor(t, "a reconnected listener drops everything, of every topic", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return slices.Contains(h.keys, "") && h.other == 1
		})
	}
}
