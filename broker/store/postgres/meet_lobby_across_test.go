package postgres_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// meetSock is a meeting socket (signalling or lobby) in these tests.
type meetSock struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialMeet opens a socket of a room at the broker at base: "signal" or
// "lobby". A refusal answers its status and code.
func dialMeet(t *testing.T, hc *http.Client, base, room, kind, tok string) (*meetSock, int, api.Code) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := strings.Replace(base, "https://", "wss://", 1) + "/v1/meet/rooms/" + room + "/" + kind + "?join=" + tok
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", kind, err)
		}
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return nil, resp.StatusCode, e.Code
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &meetSock{t: t, conn: conn}, http.StatusSwitchingProtocols, ""
}

func (s *meetSock) send(raw string) {
	s.t.Helper()
	if err := s.conn.Write(context.Background(), websocket.MessageText, []byte(raw)); err != nil {
		s.t.Fatalf("send: %v", err)
	}
}

// await reads messages until one of type typ.
func (s *meetSock) await(typ string) api.MeetSignal {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m api.MeetSignal
		if err := json.Unmarshal(b, &m); err != nil {
			s.t.Fatal(err)
		}
		if m.Type == typ {
			return m
		}
	}
}

// TestE2EMeetingLobbyAcrossBrokers: two brokers on one PostgreSQL, a room
// on A. Its host, whose requests reach B, makes a guest link there: the
// link points at A, where the guest knocks and waits; the host's join
// through B carries a lobby token good at A, where the host admits the
// guest, who then joins. B's signed link and door token open nothing but
// what they are for: the door is the host's only, and neither a forged
// link nor a link on the wrong socket gets in.
func TestE2EMeetingLobbyAcrossBrokers(t *testing.T) {
	bs := sharedDB(t, 2)
	a, b := bs[0], bs[1]
	ctx := context.Background()
	hostU, staffU := a.CreateUser(t, "lobby-host"), a.CreateUser(t, "lobby-staff")
	hostA, hostB, staffB := a.Login(t, hostU), b.Login(t, hostU), b.Login(t, staffU)
	room, err := hostA.CreateRoom(ctx, api.CreateRoomRequest{Title: "取引先との打合せ"})
	if err != nil {
		t.Fatal(err)
	}
	id := room.Room.ID
	if !strings.HasPrefix(room.URL, a.URL+"/meet/"+id+"#join=") {
		t.Errorf("the host's link %q: want A's own address (%s)", room.URL, a.URL)
	}

	// A colleague of the department whose requests reach B sees A's
	// "meet now" room in the list, as one on A does.
	for _, who := range []*brokertest.Session{staffB, a.Login(t, staffU)} {
		l, err := who.Meetings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Rooms) != 1 || l.Rooms[0].ID != id || l.Rooms[0].Title != "取引先との打合せ" {
			t.Errorf("the rooms listed to a colleague: %+v; want A's room %s once", l.Rooms, id)
		}
	}

	// Only the host or IT, on B as on A.
	if _, err := staffB.CreateGuestLink(ctx, id, api.CreateGuestLinkRequest{Name: "誰か"}); code(err) != api.CodeMeetNotHost {
		t.Fatalf("a guest link from a participant through B: %v, want %s", err, api.CodeMeetNotHost)
	}
	link, err := hostB.CreateGuestLink(ctx, id, api.CreateGuestLinkRequest{Name: "株式会社サンプル 田中様", ValidMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	secret, ok := strings.CutPrefix(link.URL, a.URL+"/meet/"+id+"#guest=")
	if !ok || link.Room.Title != "取引先との打合せ" {
		t.Fatalf("the guest link made through B: %q %+v; want A's page (%s)", link.URL, link.Room, a.URL)
	}

	// The guest's page is A's: the knock and the lobby are there.
	anonA, anonB := a.Client(t), b.Client(t)
	// A knock at B (an old link to the shared address) is sent on to A,
	// with no way in from B itself.
	if k, err := anonB.Knock(ctx, id, secret); err != nil || k.Token != "" || k.Broker != a.URL || k.Room.ID != id {
		t.Errorf("a knock at B, which does not host the room: %+v %v; want sent on to %s without a token", k, err, a.URL)
	}
	if k, err := anonB.Knock(ctx, "no-such-room", secret); code(err) != api.CodeMeetGuestLinkRefused && code(err) != api.CodeMeetRoomNotFound {
		t.Errorf("a knock at B for a room no broker hosts: %+v %v", k, err)
	}
	forged := secret[:len(secret)-2] + "AA"
	if _, err := anonA.Knock(ctx, id, forged); code(err) != api.CodeMeetGuestLinkRefused {
		t.Errorf("a forged link: %v, want %s", err, api.CodeMeetGuestLinkRefused)
	}
	k, err := anonA.Knock(ctx, id, secret)
	if err != nil {
		t.Fatalf("the guest knocks at A with B's link: %v", err)
	}
	if k.Name != "株式会社サンプル 田中様" {
		t.Errorf("knock: %+v", k)
	}
	if _, st, _ := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "signal", secret); st != http.StatusUnauthorized {
		t.Errorf("the guest link on the signalling socket: %d", st)
	}

	// The host's join through B: A's address and a door token for A.
	j, err := hostB.JoinRoom(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Broker != a.URL || j.LobbyToken == "" || !strings.Contains(j.URL, "&lobby="+j.LobbyToken) {
		t.Fatalf("the host's join through B: broker %q, url %q; want A with a lobby token", j.Broker, j.URL)
	}
	if sj, err := staffB.JoinRoom(ctx, id); err != nil || sj.LobbyToken != "" {
		t.Errorf("a participant's join through B: %+v %v; want no lobby token", sj, err)
	}
	if _, st, _ := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "signal", j.LobbyToken); st != http.StatusUnauthorized {
		t.Errorf("the host's door token on the signalling socket: %d", st)
	}
	// Spent by that try, as tokens are: a new one.
	if j, err = hostB.JoinRoom(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "lobby", j.Token); st != http.StatusUnauthorized {
		t.Errorf("the host's join token on the lobby socket: %d", st)
	}
	door, st, c := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "lobby", j.LobbyToken)
	if door == nil {
		t.Fatalf("the host's lobby at A with B's door token: %d %s", st, c)
	}
	door.await(api.LobbyList)
	if _, st, _ := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "lobby", j.LobbyToken); st != http.StatusUnauthorized {
		t.Errorf("the door token again: %d", st)
	}
	guest, st, c := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "lobby", k.Token)
	if guest == nil {
		t.Fatalf("the guest's lobby: %d %s", st, c)
	}
	guest.await(api.LobbyWaiting)
	l := door.await(api.LobbyList)
	if len(l.Participants) != 1 || !l.Participants[0].Guest || l.Participants[0].Name != "株式会社サンプル 田中様" {
		t.Fatalf("the host's lobby: %+v", l.Participants)
	}
	door.send(`{"type":"admit","target":"` + l.Participants[0].ID + `"}`)
	adm := guest.await(api.LobbyAdmitted)
	gs, st, c := dialMeet(t, a.Client(t).HTTPClient(), a.URL, id, "signal", adm.Token)
	if gs == nil {
		t.Fatalf("the admitted guest: %d %s", st, c)
	}
	if w := gs.await("welcome"); w.Participant == nil || !w.Participant.Guest {
		t.Errorf("the guest's welcome: %+v", w.Participant)
	}
}

// TestE2EScheduledMeetingAcrossBrokers: a meeting scheduled on A, opened
// first through B, runs on B; its organizer, coming through A, is sent
// to B as its host (with B's lobby token), and everyone else too. Ten
// people opening another meeting at once through both brokers all land
// on one broker's one room.
func TestE2EScheduledMeetingAcrossBrokers(t *testing.T) {
	bs := sharedDB(t, 2)
	a, b := bs[0], bs[1]
	ctx := context.Background()
	orgU := a.CreateUser(t, "sched-org")
	orgA := a.Login(t, orgU)
	m, err := orgA.CreateMeeting(ctx, api.CreateMeetingRequest{Title: "課内定例", StartsAt: a.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	first := b.Login(t, a.CreateUser(t, "sched-first"))
	j, err := first.JoinMeeting(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Broker != "" || !strings.HasPrefix(j.URL, b.URL+"/meet/") || j.LobbyToken != "" {
		t.Fatalf("the first to come, through B: broker %q url %q lobby %q; want B's own room", j.Broker, j.URL, j.LobbyToken)
	}
	roomID := j.Room.ID
	oj, err := orgA.JoinMeeting(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if oj.Broker != b.URL || oj.Room.ID != roomID || oj.LobbyToken == "" || oj.Room.CreatedBy != "sched-org" {
		t.Fatalf("the organizer through A: %+v; want B's room %s with a lobby token", oj, roomID)
	}
	// The meetings list shows it running whichever broker is asked.
	for _, who := range []*brokertest.Session{orgA, first} {
		l, err := who.Meetings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var running *api.Room
		for _, x := range l.Meetings {
			if x.ID == m.ID {
				running = x.Room
			}
		}
		if running == nil || running.ID != roomID {
			t.Errorf("the meetings list through %s: room %+v; want the running room %s", who.User.ID, running, roomID)
		}
	}
	s, st, c := dialMeet(t, b.Client(t).HTTPClient(), b.URL, roomID, "signal", oj.Token)
	if s == nil {
		t.Fatalf("the organizer at B: %d %s", st, c)
	}
	if w := s.await("welcome"); w.Participant == nil || !w.Participant.Host {
		t.Errorf("the organizer's welcome at B: %+v, want the host", w.Participant)
	}
	if door, st, c := dialMeet(t, b.Client(t).HTTPClient(), b.URL, roomID, "lobby", oj.LobbyToken); door == nil {
		t.Errorf("the organizer's lobby at B: %d %s", st, c)
	}

	// Opened at once through both brokers: one room.
	m2, err := orgA.CreateMeeting(ctx, api.CreateMeetingRequest{Title: "全体朝会", StartsAt: a.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []*brokertest.Session
	for i := range 10 {
		u := a.CreateUser(t, "sched-"+string(rune('a'+i)))
		if i%2 == 0 {
			sessions = append(sessions, a.Login(t, u))
		} else {
			sessions = append(sessions, b.Login(t, u))
		}
	}
	var mu sync.Mutex
	rooms, hosts := map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := s.JoinMeeting(ctx, m2.ID)
			if err != nil {
				t.Errorf("join %d: %v", i, err)
				return
			}
			host := j.Broker
			if host == "" {
				host = strings.SplitN(j.URL, "/meet/", 2)[0]
			}
			mu.Lock()
			rooms[j.Room.ID], hosts[host] = true, true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(rooms) != 1 || len(hosts) != 1 {
		t.Fatalf("ten joins at once: rooms %v on brokers %v; want one", rooms, hosts)
	}
}

func code(err error) api.Code {
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	return ""
}
