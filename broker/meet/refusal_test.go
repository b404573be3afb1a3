package meet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/meet"
)

// sock is a raw signalling socket, as a test drives it.
type sock struct {
	t    testing.TB
	conn *websocket.Conn
}

func signalURL(base, room, tok string) string {
	u := strings.Replace(base, "https://", "wss://", 1) + "/v1/meet/rooms/" + room + "/signal"
	if tok != "" {
		u += "?join=" + tok
	}
	return u
}

// dial opens a signalling socket; on refusal it returns the HTTP status
// and the error code the broker answered with.
func dial(t *testing.T, b *brokertest.Broker, room, tok string) (*sock, int, api.Code) {
	t.Helper()
	return dialURL(t, signalURL(b.URL, room, tok), b.Client(t).HTTPClient())
}

// dialURL opens a signalling socket at url with the HTTP client (its TLS
// holds the broker's pin).
func dialURL(t testing.TB, url string, hc *http.Client) (*sock, int, api.Code) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return nil, resp.StatusCode, e.Code
	}
	conn.SetReadLimit(1 << 20)
	s := &sock{t: t, conn: conn}
	t.Cleanup(func() { conn.CloseNow() })
	return s, http.StatusSwitchingProtocols, ""
}

func (s *sock) send(raw string) {
	s.t.Helper()
	if err := s.conn.Write(context.Background(), websocket.MessageText, []byte(raw)); err != nil {
		s.t.Fatalf("send: %v", err)
	}
}

// await reads until a message of the given type arrives.
func (s *sock) await(typ string) api.MeetSignal {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m api.MeetSignal
		if err := json.Unmarshal(b, &m); err != nil {
			s.t.Fatalf("broker sent %q: %v", b, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func join(t *testing.T, s *brokertest.Session, room string) *api.MeetJoin {
	t.Helper()
	j, err := s.JoinRoom(context.Background(), room)
	if err != nil {
		t.Fatalf("join %s: %v", room, err)
	}
	return j
}

// TestMeetJoinRefusals: the signalling socket opens only with an unspent
// join token for that room, within its time.
func TestMeetJoinRefusals(t *testing.T) {
	b := brokertest.Start(t)
	host := b.Signin(t, "meet-host")
	ctx := context.Background()
	a, err := host.CreateRoom(ctx, api.CreateRoomRequest{Title: "定例会議"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := host.CreateRoom(ctx, api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.URL, "/meet/"+a.Room.ID+"#join="+a.Token) {
		t.Errorf("join URL %q: want the page with the token in the fragment", a.URL)
	}

	forOther := join(t, host, other.Room.ID)
	expired := join(t, host, a.Room.ID)
	notSocket := join(t, host, a.Room.ID)

	// A plain GET is refused before the token is spent.
	req, _ := http.NewRequest("GET", strings.Replace(signalURL(b.URL, a.Room.ID, notSocket.Token), "wss://", "https://", 1), nil)
	resp, err := b.Client(t).HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET: status %d, want 400", resp.StatusCode)
	}
	if _, st, _ := dial(t, b, a.Room.ID, notSocket.Token); st != http.StatusSwitchingProtocols {
		t.Errorf("the token of a refused plain GET: status %d, want it still good", st)
	}

	// The host's own token works once.
	if _, st, code := dial(t, b, a.Room.ID, a.Token); st != http.StatusSwitchingProtocols {
		t.Fatalf("first use: %d %s", st, code)
	}

	b.Clock.Advance(meet.JoinTTL + time.Second)
	cases := []struct {
		name, room, token string
		status            int
		code              api.Code
	}{
		{"no token", a.Room.ID, "", http.StatusUnauthorized, api.CodeMeetJoinRefused},
		{"made-up token", a.Room.ID, "zmj_nothing", http.StatusUnauthorized, api.CodeMeetJoinRefused},
		{"expired token", a.Room.ID, expired.Token, http.StatusUnauthorized, api.CodeMeetJoinRefused},
		{"token for another room", a.Room.ID, forOther.Token, http.StatusUnauthorized, api.CodeMeetJoinRefused},
		// Tried on the wrong room, it is spent for the right one too.
		{"token tried on another room, then its own", other.Room.ID, forOther.Token, http.StatusUnauthorized, api.CodeMeetJoinRefused},
		{"reused token", a.Room.ID, a.Token, http.StatusUnauthorized, api.CodeMeetJoinRefused},
		{"access token as join token", a.Room.ID, host.Token(), http.StatusUnauthorized, api.CodeMeetJoinRefused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, st, code := dial(t, b, c.room, c.token)
			if st != c.status || code != c.code {
				t.Errorf("status %d %q, want %d %q", st, code, c.status, c.code)
			}
		})
	}

	if _, err := host.JoinRoom(ctx, "no-such-room"); api.AsError(err) == nil || api.AsError(err).Code != api.CodeMeetRoomNotFound {
		t.Errorf("join an unknown room: %v, want %s", err, api.CodeMeetRoomNotFound)
	}
}

// TestMeetMalformedSignals: each bad message gets an error on its own
// socket; the socket and the room go on.
func TestMeetMalformedSignals(t *testing.T) {
	b := brokertest.Start(t)
	host := b.Signin(t, "meet-bad-host")
	guest := b.Signin(t, "meet-bad-guest")
	r, err := host.CreateRoom(context.Background(), api.CreateRoomRequest{Title: "bad input"})
	if err != nil {
		t.Fatal(err)
	}
	a, st, code := dial(t, b, r.Room.ID, r.Token)
	if a == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	a.await("welcome")
	for _, raw := range []string{
		`not json`,
		`{"type":"bogus"}`,
		`{"type":"answer"}`,
		`{"type":"answer","sdp":"v=0 garbage"}`,
		`{"type":"candidate"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 999.1.1.1 1 typ host"}}`,
		`{"type":"media"}`,
		`{"type":"offer","sdp":"v=0"}`,
		`{"type":"media","audio":true,"surprise":1}`,
		`[1,2,3]`,
	} {
		a.send(raw)
		m := a.await("error")
		if m.Error == nil || m.Error.Code != api.CodeMeetBadMessage {
			t.Errorf("%s: got %+v, want %s", raw, m.Error, api.CodeMeetBadMessage)
		}
	}
	// The room is undisturbed: someone else joins, sees the first, and
	// the first hears of them.
	g, st, code := dial(t, b, r.Room.ID, join(t, guest, r.Room.ID).Token)
	if g == nil {
		t.Fatalf("second participant: %d %s", st, code)
	}
	w := g.await("welcome")
	if len(w.Participants) != 1 || w.Participants[0].UserID != "meet-bad-host" {
		t.Errorf("welcome lists %+v, want the first participant", w.Participants)
	}
	if m := a.await("joined"); m.Participant == nil || m.Participant.UserID != "meet-bad-guest" {
		t.Errorf("joined: %+v", m.Participant)
	}
	a.send(`{"type":"media","video":false}`)
	if m := g.await("media"); m.Participant == nil || m.Participant.Video {
		t.Errorf("media: %+v, want video off", m.Participant)
	}
	a.send(`{"type":"leave"}`)
	if m := g.await("left"); m.Participant == nil || m.Participant.UserID != "meet-bad-host" {
		t.Errorf("left: %+v", m.Participant)
	}
}

// TestMeetRoomFull: the participant after meet.Capacity is told the room
// is full, and the room goes on.
func TestMeetRoomFull(t *testing.T) {
	b := brokertest.Start(t)
	host := b.Signin(t, "full-host")
	r, err := host.CreateRoom(context.Background(), api.CreateRoomRequest{Title: "満員"})
	if err != nil {
		t.Fatal(err)
	}
	tok := r.Token
	var first *sock
	for i := 0; i < meet.Capacity; i++ {
		s, st, code := dial(t, b, r.Room.ID, tok)
		if s == nil {
			t.Fatalf("participant %d: %d %s", i+1, st, code)
		}
		s.await("welcome")
		if first == nil {
			first = s
		}
		tok = join(t, host, r.Room.ID).Token
	}
	over, st, code := dial(t, b, r.Room.ID, tok)
	if over == nil {
		t.Fatalf("participant %d: %d %s, want the socket with an error", meet.Capacity+1, st, code)
	}
	if m := over.await("error"); m.Error == nil || m.Error.Code != api.CodeMeetRoomFull {
		t.Errorf("participant %d: %+v, want %s", meet.Capacity+1, m.Error, api.CodeMeetRoomFull)
	}
	first.send(`{"type":"media","audio":false}`)
	if info, err := host.JoinRoom(context.Background(), r.Room.ID); err != nil || info.Room.Participants != meet.Capacity {
		t.Errorf("room after the refusal: %+v, %v", info, err)
	}
}
