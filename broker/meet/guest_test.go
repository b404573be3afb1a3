package meet_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

func lobbyURL(base, room, tok string) string {
	return strings.Replace(signalURL(base, room, tok), "/signal", "/lobby", 1)
}

func dialLobby(t *testing.T, b *brokertest.Broker, room, tok string) (*sock, int, api.Code) {
	t.Helper()
	return dialURL(t, lobbyURL(b.URL, room, tok), b.Client(t).HTTPClient())
}

// guestLink makes a guest link and returns it with the link secret.
func guestLink(t *testing.T, s *brokertest.Session, room, name string, minutes int) (*api.GuestLink, string) {
	t.Helper()
	l, err := s.CreateGuestLink(context.Background(), room, api.CreateGuestLinkRequest{Name: name, ValidMinutes: minutes})
	if err != nil {
		t.Fatalf("guest link: %v", err)
	}
	_, secret, ok := strings.Cut(l.URL, "#guest=")
	if !ok || !strings.Contains(l.URL, "/meet/"+room+"#guest=") {
		t.Fatalf("guest link URL %q: want the page with the link in the fragment", l.URL)
	}
	return l, secret
}

func code(err error) api.Code {
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// TestMeetGuestLobby: an outside party with a guest link waits in the
// lobby, can neither signal nor subscribe there, and comes in when the
// host admits them, marked a guest; the host may also decline. Refused:
// a guest link from anyone but the host or IT, after it expired, for
// another room; a lobby token on the signalling socket; a spent token;
// a lobby token of the host's used by anyone twice. Malformed lobby
// messages are answered and change nothing. It is all in the operation log.
func TestMeetGuestLobby(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	hostS := b.Signin(t, "g-host")
	staff := b.Signin(t, "g-staff")
	anon := b.Client(t)
	r, err := hostS.CreateRoom(ctx, api.CreateRoomRequest{Title: "取引先との打合せ"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := hostS.CreateRoom(ctx, api.CreateRoomRequest{Title: "別の会議"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Room.ID
	if r.LobbyToken == "" || !strings.Contains(r.URL, "&lobby="+r.LobbyToken) {
		t.Fatalf("the host's join %q has no lobby token", r.URL)
	}
	if j := join(t, staff, id); j.LobbyToken != "" {
		t.Error("a participant who is not the host got a lobby token")
	}

	// Only the host or IT makes guest links; a name is required.
	if _, err := staff.CreateGuestLink(ctx, id, api.CreateGuestLinkRequest{Name: "誰か"}); code(err) != api.CodeMeetNotHost {
		t.Errorf("a guest link from a participant: %v, want %s", err, api.CodeMeetNotHost)
	}
	if _, err := hostS.CreateGuestLink(ctx, id, api.CreateGuestLinkRequest{Name: " "}); code(err) != api.CodeValidation {
		t.Errorf("a guest link without a name: %v", err)
	}
	if _, err := hostS.CreateGuestLink(ctx, id, api.CreateGuestLinkRequest{Name: "x", ValidMinutes: api.MaxGuestLinkMinutes + 1}); code(err) != api.CodeValidation {
		t.Errorf("a guest link for too long: %v", err)
	}
	link, secret := guestLink(t, hostS, id, "株式会社サンプル 田中様", 30)
	_, short := guestLink(t, hostS, id, "短い 招待", 1)
	if link.Name != "株式会社サンプル 田中様" || !link.ExpiresAt.After(b.Now().Add(29*time.Minute)) {
		t.Errorf("guest link %+v", link)
	}

	// Refused knocks.
	if _, err := anon.Knock(ctx, other.Room.ID, secret); code(err) != api.CodeMeetGuestLinkRefused {
		t.Errorf("a guest link knocking on another room: %v", err)
	}
	if _, err := anon.Knock(ctx, id, "zmg_made-up"); code(err) != api.CodeMeetGuestLinkRefused {
		t.Errorf("a made-up guest link: %v", err)
	}
	if _, err := anon.Knock(ctx, id, r.Token); code(err) != api.CodeMeetGuestLinkRefused {
		t.Errorf("a join token as guest link: %v", err)
	}

	// The host's lobby socket.
	door, st, c := dialLobby(t, b, id, r.LobbyToken)
	if door == nil {
		t.Fatalf("host's lobby: %d %s", st, c)
	}
	if m := door.await(api.LobbyList); len(m.Participants) != 0 {
		t.Fatalf("lobby at first: %+v", m.Participants)
	}
	if _, st, c := dialLobby(t, b, id, r.LobbyToken); st != http.StatusUnauthorized || c != api.CodeMeetJoinRefused {
		t.Errorf("the host's lobby token reused: %d %s", st, c)
	}
	hostSock, st, c := dial(t, b, id, r.Token)
	if hostSock == nil {
		t.Fatalf("host: %d %s", st, c)
	}
	hostSock.await("welcome")

	// A guest knocks and waits.
	k, err := anon.Knock(ctx, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != link.Name || k.Room.Title != "取引先との打合せ" {
		t.Errorf("knock: %+v", k)
	}
	// Not admitted: the lobby token opens no signalling socket (and is
	// spent by trying, as join tokens are).
	spent, err := anon.Knock(ctx, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, c := dial(t, b, id, spent.Token); st != http.StatusUnauthorized || c != api.CodeMeetJoinRefused {
		t.Errorf("a waiting guest's lobby token on the signalling socket: %d %s", st, c)
	}
	if _, st, _ := dialLobby(t, b, id, spent.Token); st != http.StatusUnauthorized {
		t.Errorf("a lobby token spent on the signalling socket, then on the lobby: %d", st)
	}
	// A join token opens no lobby.
	if _, st, c := dialLobby(t, b, id, join(t, staff, id).Token); st != http.StatusUnauthorized || c != api.CodeMeetJoinRefused {
		t.Errorf("a join token on the lobby socket: %d %s", st, c)
	}

	guest, st, c := dialLobby(t, b, id, k.Token)
	if guest == nil {
		t.Fatalf("guest's lobby: %d %s", st, c)
	}
	w := guest.await(api.LobbyWaiting)
	if w.Participant == nil || !w.Participant.Guest || w.Participant.Name != link.Name || w.Room == nil || w.Room.Title != "取引先との打合せ" {
		t.Fatalf("waiting: %+v", w)
	}
	l := door.await(api.LobbyList)
	if len(l.Participants) != 1 || l.Participants[0].Name != link.Name || !l.Participants[0].Guest {
		t.Fatalf("the host's lobby: %+v", l.Participants)
	}
	waitID := l.Participants[0].ID

	// Waiting, the guest may not signal or subscribe, nor act as host.
	for _, raw := range []string{
		`{"type":"answer","sdp":"v=0"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`,
		`{"type":"chat","text":"入れてください"}`,
		`{"type":"admit","target":"` + waitID + `"}`,
		`{"type":"host","action":"end"}`,
	} {
		guest.send(raw)
		if e := guest.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetNotAdmitted {
			t.Errorf("a waiting guest's %s: %+v, want %s", raw, e.Error, api.CodeMeetNotAdmitted)
		}
	}
	// Malformed lobby messages: answered, nothing changes.
	for _, raw := range []string{`not json`, `{"type":"admit","target":"nobody"}`, `{"type":"answer"}`, `{"type":"admit","surprise":1}`} {
		door.send(raw)
		if e := door.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetBadMessage {
			t.Errorf("host's %s: %+v", raw, e.Error)
		}
	}
	guest.send(`[1,2]`)
	if e := guest.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetBadMessage {
		t.Errorf("guest's garbage: %+v", e.Error)
	}

	// Admitted: the guest joins as a guest.
	door.send(`{"type":"admit","target":"` + waitID + `"}`)
	adm := guest.await(api.LobbyAdmitted)
	if !strings.HasPrefix(adm.Token, "zmj_") {
		t.Fatalf("admitted: %+v", adm)
	}
	guest.awaitClosed()
	if m := door.await(api.LobbyList); len(m.Participants) != 0 {
		t.Errorf("lobby after admission: %+v", m.Participants)
	}
	gs, st, c := dial(t, b, id, adm.Token)
	if gs == nil {
		t.Fatalf("admitted guest: %d %s", st, c)
	}
	gw := gs.await("welcome")
	if !gw.Participant.Guest || gw.Participant.Host || gw.Participant.Name != link.Name {
		t.Errorf("the guest's welcome: %+v", gw.Participant)
	}
	if m := hostSock.await("joined"); m.Participant == nil || !m.Participant.Guest {
		t.Errorf("the host hears of %+v, want a guest", m.Participant)
	}
	if _, st, c := dial(t, b, id, adm.Token); st != http.StatusUnauthorized || c != api.CodeMeetJoinRefused {
		t.Errorf("the admitted guest's join token reused: %d %s", st, c)
	}
	// In the room the guest is no host.
	gs.send(`{"type":"host","action":"lock"}`)
	if e := gs.await("error"); e.Error == nil || e.Error.Code != api.CodeMeetNotHost {
		t.Errorf("a guest's host action: %+v", e.Error)
	}

	// Declined: a second knock with the same link.
	k2, err := anon.Knock(ctx, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	g2, _, _ := dialLobby(t, b, id, k2.Token)
	g2.await(api.LobbyWaiting)
	l = door.await(api.LobbyList)
	door.send(`{"type":"decline","target":"` + l.Participants[0].ID + `"}`)
	if m := g2.await(api.LobbyDeclined); m.Error == nil || m.Error.Code != api.CodeMeetDeclined {
		t.Errorf("declined: %+v", m)
	}

	// A guest link after expiry.
	b.Clock.Advance(2 * time.Minute)
	if _, err := anon.Knock(ctx, id, short); code(err) != api.CodeMeetGuestLinkRefused {
		t.Errorf("a guest link after expiry: %v", err)
	}

	// The operation log marks the guest.
	for _, typ := range []string{"meet.guest_link_created", "meet.guest_waiting", "meet.guest_admitted", "meet.guest_declined"} {
		page, err := b.Services.Oplog.Search(ctx, oplog.Query{Type: typ, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 || !strings.HasPrefix(page.Events[0].Fields["guest"], api.GuestUserPrefix) || page.Events[0].Fields["name"] == "" {
			t.Errorf("%s in the operation log: %+v", typ, page.Events)
		}
	}
	page, err := b.Services.Oplog.Search(ctx, oplog.Query{Type: "meet.joined", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var guestJoined bool
	for _, e := range page.Events {
		guestJoined = guestJoined || strings.HasPrefix(e.UserID, api.GuestUserPrefix)
	}
	if !guestJoined {
		t.Errorf("no guest's meet.joined in the operation log: %+v", page.Events)
	}
}

// TestMeetGuestKnocksAreRateLimited: knocking is public, so a source that
// guesses at guest links is slowed down with 429 and Retry-After.
func TestMeetGuestKnocksAreRateLimited(t *testing.T) {
	b := brokertest.Start(t)
	hostS := b.Signin(t, "rl-host")
	r, err := hostS.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	anon := b.Client(t)
	var last error
	for i := 0; i < 25; i++ {
		if _, last = anon.Knock(context.Background(), r.Room.ID, "zmg_guess"); code(last) == api.CodeRateLimited {
			break
		}
	}
	if e := api.AsError(last); e == nil || e.Code != api.CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("25 guesses from one address: %v, want %s with Retry-After", last, api.CodeRateLimited)
	}
}
