package postgres_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/meet"
)

// TestE2EMeetingStaysOnItsBroker: two brokers on one PostgreSQL. A room
// opened on A is recorded with A's own address; a join asked of B
// answers with A's address and a token good there (signed with the
// shared secret key), which opens A's signalling socket once and only
// there; a room whose broker stopped is not found.
func TestE2EMeetingStaysOnItsBroker(t *testing.T) {
	bs := sharedDB(t, 2)
	a, b := bs[0], bs[1]
	ctx := context.Background()
	host := a.Login(t, a.CreateUser(t, "meet-host"))
	guest := b.Login(t, a.CreateUser(t, "meet-guest"))
	room, err := host.CreateRoom(ctx, api.CreateRoomRequest{Title: "二拠点の定例"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := guest.JoinRoom(ctx, room.Room.ID)
	if err != nil {
		t.Fatalf("join asked of B: %v", err)
	}
	if j.Broker != a.URL || !strings.HasPrefix(j.URL, a.URL+"/meet/"+room.Room.ID+"#join=") || j.Room.Title != "二拠点の定例" {
		t.Fatalf("B's answer: broker %q url %q room %+v; want A (%s)", j.Broker, j.URL, j.Room, a.URL)
	}
	dial := func(base string, hc *http.Client, tok string) (int, string) {
		t.Helper()
		u := strings.Replace(base, "https://", "wss://", 1) + "/v1/meet/rooms/" + room.Room.ID + "/signal?join=" + tok
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, resp, err := websocket.Dial(cctx, u, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			var e api.Error
			_ = json.NewDecoder(resp.Body).Decode(&e)
			return resp.StatusCode, string(e.Code)
		}
		defer conn.CloseNow()
		_, msg, err := conn.Read(cctx)
		if err != nil {
			t.Fatal(err)
		}
		var w api.MeetSignal
		_ = json.Unmarshal(msg, &w)
		return http.StatusSwitchingProtocols, w.Type
	}
	if st, code := dial(b.URL, b.Client(t).HTTPClient(), j.Token); st == http.StatusSwitchingProtocols {
		t.Fatalf("A's room opened on B: %d %s", st, code)
	}
	// Refused on B before the token was checked there: it is still good on A.
	j2, err := guest.JoinRoom(ctx, room.Room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st, typ := dial(a.URL, a.Client(t).HTTPClient(), j2.Token); st != http.StatusSwitchingProtocols || typ != "welcome" {
		t.Fatalf("B's token on A: %d %s, want a welcome", st, typ)
	}
	if st, code := dial(a.URL, a.Client(t).HTTPClient(), j2.Token); st != http.StatusUnauthorized || code != string(api.CodeMeetJoinRefused) {
		t.Fatalf("the token again: %d %s, want 401 %s", st, code, api.CodeMeetJoinRefused)
	}
	forged := j2.Token[:len(j2.Token)-2] + "AA"
	if st, code := dial(a.URL, a.Client(t).HTTPClient(), forged); st != http.StatusUnauthorized {
		t.Fatalf("a forged token: %d %s, want 401", st, code)
	}
	a.Stop()
	if _, err := guest.JoinRoom(ctx, room.Room.ID); api.AsError(err) == nil || api.AsError(err).Code != api.CodeMeetRoomNotFound {
		t.Fatalf("join after A stopped: %v, want %s", err, meet.ErrNotFound)
	}
}
